"""The pages /gremien/{id}/sitzungen/neu and /sitzungen/{id}, and the meetings on /gremien/{id}:
plan, choose the agenda, invite, record; a refusal keeps what was typed; on both databases."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.conftest import BERLIN
from tests.dashboard_seed import EMAILS, PASSWORD, csrf_headers, login
from tests.meeting_world import World, build
from workflow.accounts import Role, add_or_update_user
from workflow.bodies.models import Meeting
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.meetings.models import AgendaItem, AgendaKind, MeetingAttendance, MeetingGuest
from workflow.runtime import Runtime

A, B = "AF Bildung und Sprache", "BF Bildung und Sprache"


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _client(rt: Runtime, role: Role = Role.COORDINATOR) -> tuple[TestClient, World]:
    world = build(rt)
    with unit_of_work(rt.sessions) as s:
        for r in (Role.COORDINATOR, Role.STEERING):
            add_or_update_user(
                session=s,
                organisation_id=world.organisation_id,
                email=EMAILS[r],
                role=r,
                password=PASSWORD,
                now=rt.clock.now(),
            )
    client = TestClient(create_app())
    login(client, role)
    return client, world


def _form(client: TestClient, **fields: str | list[str]) -> dict[str, str | list[str]]:
    return {"csrf_token": csrf_headers(client)["X-CSRF-Token"], **fields}


def _agenda(rt: Runtime, meeting_id: int) -> list[tuple[int, str, str]]:
    with rt.sessions() as s:
        rows = s.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting_id)
            .order_by(AgendaItem.position)
        )
        return [(i.position, i.kind, i.title) for i in rows]


def test_a_coordinator_plans_a_meeting_from_the_body_page(rt: Runtime) -> None:
    client, w = _client(rt)
    body_page = client.get(f"/gremien/{w.bodies['all']}")
    assert body_page.status_code == 200
    text = _text(body_page.text)
    assert "Sitzung planen" in text and "Geplante Sitzungen" in text
    assert "20.03.2026" in text and "15.01.2026" in text  # upcoming and past
    new = client.get(f"/gremien/{w.bodies['all']}/sitzungen/neu")
    assert new.status_code == 200 and 'name="held_on"' in new.text
    # A wrong date comes back with what was typed.
    refused = client.post(
        f"/gremien/{w.bodies['all']}/sitzungen",
        data=_form(client, held_on="31.02.2026", starts_at="17:00", place="Rathaus"),
    )
    assert refused.status_code == 422
    assert "„31.02.2026“ ist kein Datum" in _text(refused.text)
    assert 'value="31.02.2026"' in refused.text and 'value="Rathaus"' in refused.text
    taken = client.post(
        f"/gremien/{w.bodies['all']}/sitzungen", data=_form(client, held_on="2026-03-20")
    )
    assert taken.status_code == 409
    assert "hat am 20.03.2026 bereits eine Sitzung" in _text(taken.text)
    created = client.post(
        f"/gremien/{w.bodies['all']}/sitzungen",
        data=_form(client, held_on="2026-05-06", starts_at="17:00", place="Rathaus"),
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    page = client.get(created.headers["location"])
    text = _text(page.text)
    assert "Sitzung des Gremiums „Steuerungsgruppe“ am 06.05.2026" in text
    assert "Die Sitzung ist angelegt." in text
    assert "Die Tagesordnung ist noch nicht festgelegt." in text
    # The proposal, every row ticked for a fresh meeting, with its reason.
    assert page.text.count('name="chosen"') == 10 and page.text.count("checked") >= 10
    assert "Das Land übernimmt das Angebot." in text
    assert (
        "/sitzungen/" in page.text and "Beschluss erfassen" in text and "Sitzungsunterlage" in text
    )


def test_the_agenda_form_stores_the_ticked_rows_in_the_typed_order(rt: Runtime) -> None:
    client, w = _client(rt)
    meeting_id = w.meeting["all"]
    url = f"/sitzungen/{meeting_id}"
    field_a, field_b = f"field_report:{w.fields['A']}", f"field_report:{w.fields['B']}"
    saved = client.post(
        f"{url}/tagesordnung",
        data=_form(
            client,
            chosen=[field_a, field_b],
            **{f"order_{field_a}": "2", f"order_{field_b}": "1"},
            free=["Verschiedenes", "", ""],
        ),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert _agenda(rt, meeting_id) == [
        (1, "field_report", B),
        (2, "field_report", A),
        (3, "other", "Verschiedenes"),
    ]
    page = client.get(url)
    text = _text(page.text)
    assert "Die Tagesordnung ist gespeichert." in text
    # Stored rows are named by their id now; the rest of the proposal is offered unticked.
    with rt.sessions() as s:
        ids = [i.id for i in s.scalars(select(AgendaItem).order_by(AgendaItem.position))]
    assert all(f'value="item:{i}" checked' in page.text for i in ids)
    assert f'value="{field_a}"' not in page.text
    # Proposed guests: the heads of both fields.
    assert "Vorgeschlagene Gäste" in text
    assert "Amtsleitung (B Amt für Schule), berichtet zu BF Bildung und Sprache" in text
    assert "Amtsleitung (A Amt für Schule), berichtet zu AF Bildung und Sprache" in text
    invited = client.post(
        f"{url}/gaeste/vorschlaege",
        data=_form(client, invite=[str(c) for c in _head_ids(rt, w)][:1]),
        follow_redirects=False,
    )
    assert invited.status_code == 303
    with rt.sessions() as s:
        assert [g.email for g in s.scalars(select(MeetingGuest))] == [w.heads["B"]]
    # Untick field report B and re-order: B goes, the free item stays with its id.
    resaved = client.post(
        f"{url}/tagesordnung",
        data=_form(client, chosen=[f"item:{ids[2]}", f"item:{ids[1]}"]),
        follow_redirects=False,
    )
    assert resaved.status_code == 303
    assert _agenda(rt, meeting_id) == [(1, "other", "Verschiedenes"), (2, "field_report", A)]
    gone = client.post(f"{url}/tagesordnung", data=_form(client, chosen=["field_report:999999"]))
    assert gone.status_code == 422 and "nicht mehr vor" in _text(gone.text)


def _head_ids(rt: Runtime, w: World) -> list[int]:
    from workflow.catalogue.models import Contact

    with rt.sessions() as s:
        return [
            s.scalars(select(Contact.id).where(Contact.email == w.heads[f])).one()
            for f in ("B", "A")
        ]


def test_guests_attendance_and_minutes_on_the_meeting_page(rt: Runtime, clock: FrozenClock) -> None:
    client, w = _client(rt)
    url = f"/sitzungen/{w.meeting['all']}"
    client.post(f"{url}/tagesordnung", data=_form(client, free=["Bericht"]))
    refused = client.post(f"{url}/gaeste", data=_form(client, name="Gast", email="kein-at"))
    assert refused.status_code == 422
    assert "„kein-at“ ist keine gültige E-Mail-Adresse." in _text(refused.text)
    assert 'value="Gast"' in refused.text
    added = client.post(
        f"{url}/gaeste",
        data=_form(client, name="Frau Gast", email="gast@stadt.example.org", language="en"),
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = client.get(url)
    assert "Frau Gast" in page.text
    assert "ab dem Tag der Sitzung erfasst" in _text(page.text)
    assert 'data-testid="attendance"' not in page.text
    early = client.post(f"{url}/anwesenheit", data=_form(client))
    assert early.status_code == 422
    clock.set(datetime(2026, 3, 20, 19, 0, tzinfo=BERLIN))
    login(client, Role.COORDINATOR)  # 18 days later the session has ended
    with rt.sessions() as s:
        guest = s.scalars(select(MeetingGuest)).one()
        member_id = s.scalars(select(MeetingAttendance.member_id)).first()
        item = s.scalars(select(AgendaItem)).one()
        from workflow.bodies.models import BodyMember

        member = s.scalars(select(BodyMember).where(BodyMember.body_id == w.bodies["all"])).one()
    assert member_id is None
    recorded = client.post(
        f"{url}/anwesenheit",
        data=_form(
            client, member=[str(member.id)], present=[str(member.id)], guest=[str(guest.id)]
        ),
        follow_redirects=False,
    )
    assert recorded.status_code == 303, recorded.text
    assert recorded.headers["location"] == f"{url}#anwesenheit"
    minutes = client.post(
        f"{url}/niederschrift",
        data=_form(client, notes="Eröffnung", **{f"minutes_{item.id}": "Zur Kenntnis genommen."}),
        follow_redirects=False,
    )
    assert minutes.headers["location"] == f"{url}#niederschrift"
    with rt.sessions() as s:
        assert s.get(MeetingAttendance, (w.meeting["all"], member.id)).present is True  # type: ignore[union-attr]
        assert s.get(MeetingGuest, guest.id).present is False  # type: ignore[union-attr]
        assert s.get(AgendaItem, item.id).minutes == "Zur Kenntnis genommen."  # type: ignore[union-attr]
        assert s.get(Meeting, w.meeting["all"]).notes == "Eröffnung"  # type: ignore[union-attr]
    too_long = client.post(
        f"{url}/niederschrift", data=_form(client, **{f"minutes_{item.id}": "lang " * 4001})
    )
    assert too_long.status_code == 422 and "höchstens 20000 Zeichen" in _text(too_long.text)
    assert "lang lang lang" in too_long.text  # what was typed is not lost
    removed = client.post(
        f"{url}/gaeste/entfernen",
        data=_form(client, guest_id=str(guest.id)),
        follow_redirects=False,
    )
    assert removed.status_code == 303
    with rt.sessions() as s:
        assert s.scalars(select(MeetingGuest)).all() == []


def test_steering_members_read_the_meeting_and_change_nothing(rt: Runtime) -> None:
    client, w = _client(rt, Role.STEERING)
    page = client.get(f"/sitzungen/{w.meeting['all']}")
    assert page.status_code == 200
    assert 'name="chosen"' not in page.text and "Sie können die Angaben lesen" in page.text
    refused = client.post(
        f"/sitzungen/{w.meeting['all']}/tagesordnung", data=_form(client, free=["X"])
    )
    assert refused.status_code == 403
    assert client.get(f"/gremien/{w.bodies['all']}/sitzungen/neu").status_code == 403
    assert _agenda(rt, w.meeting["all"]) == []
    # Another organisation's meeting, or none: not found.
    assert client.get("/sitzungen/999999").status_code == 404


def test_every_text_of_the_meeting_pages_exists_in_german_and_english() -> None:
    root = Path(__file__).resolve().parents[1] / "api"
    de = json.loads((root / "locales" / "meetings.de.json").read_text(encoding="utf-8"))
    en = json.loads((root / "locales" / "meetings.en.json").read_text(encoding="utf-8"))
    assert set(de) == set(en)
    used: set[str] = set()
    for name in ("meeting.html", "meeting_new.html", "meetings_of_body.html"):
        text = (root / "pages" / "dashboard" / name).read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.0-9]+)["']""", text))
        used |= {
            f"{k}_{n}"
            for k in re.findall(r"""plural\(\s*["']([a-z_.]+)["']""", text)
            for n in ("one", "other")
        }
    used |= {f"meeting.kind.{k.value}" for k in AgendaKind}
    assert len(used) > 60 and not used - set(de), sorted(used - set(de))
    # No English left in the German texts users read.
    for word in ("Digest", "Dashboard", "Pipeline", "Review", "Agenda", "(n)", "(er)"):
        assert not [k for k, v in de.items() if word in v], word
