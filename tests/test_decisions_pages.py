"""The decisions pages without a browser: the register's filters, the form's refusals at the
field with what was typed, status and Änderungsvorschlag forms, roles, tenants, the measure
page's actor sentence. The Chromium walk is tests/test_decisions_browser.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from api.app import create_app
from tests.dashboard_seed import csrf_headers, login
from tests.decision_support import EARLIER, World, add_meeting, build
from workflow.accounts import Role
from workflow.bodies.models import BodyKind
from workflow.bodies.service import create_body
from workflow.catalogue.models import Department, Measure
from workflow.catalogue.service import ensure_organisation
from workflow.cycles.models import MeasureCycle
from workflow.db import unit_of_work
from workflow.decisions import service
from workflow.decisions.errors import FIELD_OF
from workflow.decisions.models import (
    Addressee,
    Decision,
    DecisionKind,
    DecisionStatus,
    ResolutionAction,
)
from workflow.runtime import Runtime


def _client(role: Role = Role.COORDINATOR) -> TestClient:
    client = TestClient(create_app())
    login(client, role)
    return client


def _post(client: TestClient, url: str, data: dict[str, str]) -> Response:
    return client.post(url, data=data, headers=csrf_headers(client), follow_redirects=False)


def _record(rt: Runtime, world: World, **kw: object) -> int:
    with unit_of_work(rt.sessions) as s:
        return service.record_decision(
            session=s,
            clock=rt.clock,
            meeting_id=world.meeting_id,
            actor="user:1",
            **{"kind": "resolution", "text": "Beschlossen.", **kw},  # type: ignore[arg-type]
        ).id


def test_the_measure_page_names_the_meeting_that_dropped_it(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite)
    item = world.seed.item_ids[0]
    _record(rt_sqlite, world, action="drop_measure", measure_cycle_id=item, text="Kein Träger.")
    client = _client(Role.STEERING)
    page = client.get(f"/massnahmen/{item}").text
    assert "(Steuerungsgruppe Integration, Sitzung am 26.02.2026)" in page
    assert "meeting:" not in page
    english = client.get(f"/massnahmen/{item}?lang=en").text
    assert "(Steuerungsgruppe Integration, meeting on 26/02/2026)" in english


def test_the_register_filters_and_offers_the_selection_as_export(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite)
    _record(rt_sqlite, world, kind="recommendation", addressee="council", text="An den Rat.")
    _record(rt_sqlite, world, text="Ein Beschluss ohne Wirkung.")
    client = _client(Role.STEERING)
    every = client.get("/beschluesse")
    assert every.status_code == 200
    assert "2 Einträge" in every.text and "An den Rat." in every.text
    assert ">Rat</td>" in every.text  # the organisation's council (workflow/terms.py)
    # Empty filter values mean all, as a browser sends them for "alle".
    blank = client.get("/beschluesse?body_id=&kind=&status=&year=")
    assert blank.status_code == 200 and "2 Einträge" in blank.text
    only = client.get("/beschluesse?kind=recommendation&status=open&year=2026")
    assert "1 Eintrag" in only.text and "Ein Beschluss ohne Wirkung." not in only.text
    assert (
        'href="/api/v1/decisions?kind=recommendation&amp;status=open&amp;year=2026&amp;format=csv"'
        in only.text
    )
    assert "0 Einträge" in client.get("/beschluesse?year=2025").text
    assert client.get("/beschluesse?kind=decree").status_code == 422
    # Steering members read, but are offered no form.
    assert "/beschluesse/neu" not in every.text
    assert client.get(f"/sitzungen/{world.meeting_id}/beschluesse/neu").status_code == 403


def test_a_refused_entry_comes_back_with_what_was_typed_and_the_reason_at_the_field(
    rt_sqlite: Runtime,
) -> None:
    world = build(rt_sqlite)
    client = _client()
    url = f"/sitzungen/{world.meeting_id}/beschluesse/neu"
    form = client.get(url)
    assert form.status_code == 200 and "Steuerungsgruppe Integration, Sitzung am 26.02.2026" in (
        form.text
    )
    typed = {
        "kind": "assignment",
        "text": "Bitte den Stand der Sprachkurse <b>berichten</b>.",
        "contact_id": "",
        "due_on": "2026-04-30",
        "agenda_item_id": str(world.agenda_item_id),
    }
    refused = _post(client, url, typed)
    assert refused.status_code == 422
    text = refused.text
    assert (
        '<span class="error" id="err-contact_id">'
        "Bitte wählen Sie die Ansprechperson, die den Auftrag erhält.</span>" in text
    )
    assert 'name="contact_id" aria-invalid="true" aria-describedby="err-contact_id"' in text
    assert "Bitte den Stand der Sprachkurse &lt;b&gt;berichten&lt;/b&gt;." in text
    assert 'value="2026-04-30"' in text
    assert f'<option value="{world.agenda_item_id}" selected>' in text
    assert '<option value="assignment" selected>' in text
    bad_date = _post(client, url, typed | {"due_on": "31.02.2026", "contact_id": "1"})
    assert 'id="err-due_on"' in bad_date.text
    with rt_sqlite.sessions() as s:
        assert s.scalars(select(Decision)).all() == []


def test_a_coordinator_records_a_resolution_that_drops_a_measure(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite)
    item = world.seed.item_ids[0]
    client = _client()
    url = f"/sitzungen/{world.meeting_id}/beschluesse/neu"
    done = _post(
        client,
        url,
        {
            "kind": "resolution",
            "text": "Die Maßnahme entfällt.",
            "action": "drop_measure",
            "measure_cycle_id": str(item),
            # Inputs of other kinds are ignored, as a form sends them all.
            "addressee": "",
            "contact_id": "",
            "due_on": "",
            "department_id": "",
            "action_value": "",
            "agenda_item_id": "",
        },
    )
    assert done.status_code == 303, done.text
    location = done.headers["location"]
    assert re.fullmatch(r"/beschluesse/\d+", location)
    detail = client.get(location).text
    assert "Die Entscheidung ist erfasst." in detail and "erledigt" in detail
    assert f'href="/massnahmen/{item}"' in detail
    with rt_sqlite.sessions() as s:
        assert s.get(MeasureCycle, item).state == "dropped"  # type: ignore[union-attr]
    # Again on the dropped measure: refused, with the allowed moves named at the measure.
    again = _post(
        client,
        url,
        {"kind": "resolution", "text": "Noch einmal.", "action": "drop_measure",
         "measure_cycle_id": str(item)},
    )  # fmt: skip
    assert again.status_code == 409
    assert 'id="err-measure_cycle_id"' in again.text
    assert "Phase „Gestrichen“" in again.text


def test_status_and_applying_a_change_proposal_on_the_detail_page(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite)
    item = world.seed.item_ids[3]
    with rt_sqlite.sessions() as s:
        measure_id = s.get(MeasureCycle, item).measure_id  # type: ignore[union-attr]
    decision_id = _record(
        rt_sqlite, world, kind="change_proposal", measure_id=measure_id, text="Neuer Titel."
    )
    client = _client()
    page = client.get(f"/beschluesse/{decision_id}").text
    assert 'data-testid="apply-form"' in page
    changed = _post(client, f"/beschluesse/{decision_id}/stand", {"status": "in_progress"})
    assert changed.status_code == 303
    assert "in Bearbeitung" in client.get(f"/beschluesse/{decision_id}").text
    wrong = _post(client, f"/beschluesse/{decision_id}/stand", {"status": "vertagt"})
    assert wrong.status_code == 422 and 'id="err-status"' in wrong.text

    with rt_sqlite.sessions() as s:
        measure = s.get(Measure, measure_id)
        assert measure is not None
        current = {
            "title": measure.title,
            "description": measure.description,
            "department_id": str(measure.department_id),
            "goal_id": str(measure.goal_id),
            "contact_id": str(measure.contact_id or ""),
        }
    unchanged = _post(client, f"/beschluesse/{decision_id}/uebernehmen", current)
    assert unchanged.status_code == 422
    assert "Es ist nichts geändert" in unchanged.text
    applied = _post(
        client, f"/beschluesse/{decision_id}/uebernehmen", current | {"title": "Neuer Titel"}
    )
    assert applied.status_code == 303
    after = client.get(f"/beschluesse/{decision_id}").text
    assert "Die Änderungen sind in den Maßnahmenkatalog übernommen." in after
    assert 'data-testid="apply-form"' not in after and "erledigt" in after
    timeline = client.get(f"/massnahmen/{item}").text
    assert "Änderungsvorschlag übernommen" in timeline and "Grund: Neuer Titel." in timeline
    with rt_sqlite.sessions() as s:
        assert s.get(Measure, measure_id).title == "Neuer Titel"  # type: ignore[union-attr]


def test_another_organisations_meeting_and_decision_answer_404(rt_sqlite: Runtime) -> None:
    build(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as s:
        other = ensure_organisation(s, slug="nachbarstadt", name="Nachbarstadt")
        body = create_body(
            session=s,
            organisation_id=other.id,
            name="Fremde Gruppe",
            kind=BodyKind.STEERING_GROUP.value,
        )
        meeting = add_meeting(s, body.id, EARLIER)
        s.add(Department(organisation_id=other.id, name="Fremdes Amt"))
        foreign = service.record_decision(
            session=s,
            clock=rt_sqlite.clock,
            meeting_id=meeting.id,
            kind="recommendation",
            addressee="council",
            text="Geheime Empfehlung der Nachbarstadt",
            actor="user:0",
        )
        foreign_id, meeting_id = foreign.id, meeting.id
    client = _client()
    assert client.get(f"/beschluesse/{foreign_id}").status_code == 404
    assert client.get(f"/sitzungen/{meeting_id}/beschluesse/neu").status_code == 404
    posted = _post(
        client,
        f"/sitzungen/{meeting_id}/beschluesse/neu",
        {"kind": "resolution", "text": "Eingeschleust"},
    )
    assert posted.status_code == 404
    assert _post(client, f"/beschluesse/{foreign_id}/stand", {"status": "done"}).status_code == 404
    assert "Geheime Empfehlung" not in client.get("/beschluesse").text
    with rt_sqlite.sessions() as s:
        assert [d.text for d in s.scalars(select(Decision))] == [
            "Geheime Empfehlung der Nachbarstadt"
        ]
        assert s.get(Decision, foreign_id).status == "open"  # type: ignore[union-attr]


def test_every_text_of_the_decisions_pages_exists_in_german_and_english() -> None:
    root = Path(__file__).resolve().parents[1] / "api"
    de = json.loads((root / "locales" / "decisions.de.json").read_text(encoding="utf-8"))
    en = json.loads((root / "locales" / "decisions.en.json").read_text(encoding="utf-8"))
    assert set(de) == set(en)
    used: set[str] = set()
    for name in ("decisions.html", "decision.html", "decision_new.html"):
        text = (root / "pages" / "dashboard" / name).read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.0-9]+)["']""", text))
        used |= {
            f"{k}_{n}"
            for k in re.findall(r"""plural\(\s*["']([a-z_.]+)["']""", text)
            for n in ("one", "other")
        }
    codes = {
        "decisions.kind": DecisionKind,
        "decisions.status": DecisionStatus,
        "decisions.addressee": Addressee,
    }
    used |= {f"{prefix}.{c.value}" for prefix, kind in codes.items() for c in kind}
    used |= {f"decisions.action.{a.value or 'none'}" for a in ResolutionAction}
    used |= {f"decisions.error.{code}" for code in FIELD_OF}
    used |= {"decisions.recorded", "decisions.status_saved", "decisions.applied"}
    used = {k for k in used if not k.endswith(".")}  # prefixes completed at run time
    assert len(used) > 80 and not used - set(de), sorted(used - set(de))
    # No English left in the German texts users read, and no bracket plurals.
    for word in ("Digest", "Dashboard", "Pipeline", "Review", "(n)", "(e)", "(er)"):
        assert not [k for k, v in de.items() if word in v], word
