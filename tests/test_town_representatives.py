"""Town representatives in a district's body (issue 15, item 3): who may be named, and what
such a member receives besides the district's items: the town's escalations in the digest
(under the town's name, once as new, then as still open or resolved) and a section for the
town in the meeting pack. Both databases."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from api.body_text import error_text
from notifications.digest import build_digests
from notifications.models import OutboxMessage
from notifications.render import Renderer
from tests import factories
from tests.dashboard_seed import csrf_headers
from tests.test_sweep import _at, sweep
from workflow.accounts import Role, add_or_update_user
from workflow.bodies import members
from workflow.bodies.errors import BodyError
from workflow.bodies.models import Body, BodyMember, Meeting
from workflow.catalogue.models import Organisation
from workflow.clock import FrozenClock
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.cycles.service import open_cycle, record_interview
from workflow.db import unit_of_work
from workflow.meetings.pack import meeting_pack_html
from workflow.runtime import Runtime
from workflow.transitions import apply_event

PASSWORD = "ein langes Passwort 123"
REP = "vertretung@burscheid.example.org"
PLAIN = "mitglied@kreis.example.org"
SMALL = "kleine@kreis.example.org"


def _org(s: Any, slug: str, name: str, kind: str, parent: Organisation | None) -> Organisation:
    org = factories.organisation(s, slug)
    org.name, org.kind, org.parent_id = name, kind, parent.id if parent else None
    factories.measures(s, org, 2, prefix="A")
    s.flush()
    return org


@pytest.fixture
def world(rt: Runtime, clock: FrozenClock) -> dict[str, int]:
    """A district (two measures) with Burscheid and Leichlingen (two each) and another
    district's town; every measure interviewed on Mon 2 March 2026, so each agreement is due
    on 13 April and reaches the bodies on 4 May. Burscheid does not share with the district."""
    with unit_of_work(rt.sessions) as s:
        rbk = _org(s, "rbk", "Rheinisch-Bergischer Kreis", "district", None)
        burscheid = _org(s, "burscheid", "Stadt Burscheid", "town", rbk)
        burscheid.shares_with_district = False
        leichlingen = _org(s, "leichlingen", "Stadt Leichlingen", "town", rbk)
        oberberg = _org(s, "oberberg", "Oberbergischer Kreis", "district", None)
        _org(s, "gummersbach", "Stadt Gummersbach", "town", oberberg)
        for org in (rbk, burscheid, leichlingen):
            open_cycle(session=s, clock=clock, organisation_id=org.id, year=2026)
        for mc_id in s.scalars(select(MeasureCycle.id).order_by(MeasureCycle.id)):
            record_interview(
                session=s, clock=clock, measure_cycle_id=mc_id, expected_version=None,
                actor="user:1", decision="keep",
            )  # fmt: skip
        add_or_update_user(
            session=s, organisation_id=rbk.id, email="koordination@rbk.example.org",
            role=Role.COORDINATOR, password=PASSWORD, now=clock.now(),
        )  # fmt: skip
        body = Body(organisation_id=rbk.id, name="Steuerungsgruppe Integration")
        s.add(body)
        s.flush()
        today = clock.now().date()
        for email, town in ((REP, "burscheid"), (PLAIN, None)):
            members.add_member(
                session=s, body=body, name=email.split("@")[0], email=email, today=today,
                represents_town=town,
            )  # fmt: skip
        return {"body": body.id, "rbk": rbk.id, "burscheid": burscheid.id}


def _client() -> TestClient:
    client = TestClient(create_app())
    response = client.post(
        "/login",
        data={"email": "koordination@rbk.example.org", "password": PASSWORD},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def test_only_a_town_of_the_bodys_district_may_be_named(rt: Runtime, world: dict[str, int]) -> None:
    client = _client()
    url = f"/api/v1/bodies/{world['body']}/members"
    headers = csrf_headers(client)
    [rep] = [m for m in client.get(url).json() if m["email"] == REP]
    assert (rep["represents"], rep["represents_name"], rep["represents_town"]) == (
        "town", "Stadt Burscheid", "burscheid",
    )  # fmt: skip

    def add(email: str, **extra: object) -> Any:
        return client.post(url, json={"name": "N", "email": email, **extra}, headers=headers)

    for town, code in (("gummersbach", "town_not_in_district"), ("rbk", "town_not_in_district")):
        refused = add("x@kreis.example.org", represents_town=town)
        assert (refused.status_code, refused.json()["error"]["code"]) == (422, code), refused.text
    mixed = add("y@kreis.example.org", represents="civil_society", represents_town="leichlingen")
    assert mixed.json()["error"]["code"] == "town_needs_represents_town"
    # "The smaller municipalities": a town's voice without one particular town.
    small = add(SMALL, represents="town", represents_name="Kleinere Gemeinden")
    assert small.status_code == 201 and small.json()["represents_town"] is None
    kept = add(
        "z@kreis.example.org", represents_name="Stadtverwaltung", represents_town="leichlingen"
    )
    assert (kept.json()["represents"], kept.json()["represents_name"]) == (
        "town",
        "Stadtverwaltung",
    )

    moved = client.patch(
        f"{url}/{rep['id']}", json={"represents_town": "leichlingen"}, headers=headers
    )
    assert (moved.json()["represents_town"], moved.json()["represents_name"]) == (
        "leichlingen", "Stadt Leichlingen",
    )  # fmt: skip
    cleared = client.patch(f"{url}/{rep['id']}", json={"represents_town": None}, headers=headers)
    assert cleared.json()["represents_town"] is None and cleared.json()["represents"] == "town"

    with unit_of_work(rt.sessions) as s:  # a town's own body cannot name a town
        town_body = Body(organisation_id=world["burscheid"], name="Lenkungsgruppe")
        s.add(town_body)
        s.flush()
        with pytest.raises(BodyError) as refused_here:
            members.add_member(
                session=s, body=town_body, name="N", email="n@burscheid.example.org",
                today=date(2026, 3, 2), represents_town="leichlingen",
            )  # fmt: skip
    assert refused_here.value.code == "town_needs_district_body"
    german, english = (error_text(refused_here.value, lang) for lang in ("de", "en"))
    assert "Lenkungsgruppe" in german and "Lenkungsgruppe" in english and german != english


def test_the_member_form_offers_only_the_districts_towns(
    rt: Runtime, world: dict[str, int]
) -> None:
    client = _client()
    page = client.get(f"/gremien/{world['body']}").text
    assert 'value="burscheid"' in page and 'value="leichlingen"' in page
    assert 'value="gummersbach"' not in page
    form = {"name": "Frau Weber", "email": "weber@kreis.example.org", "language": "de",
            "represents": "", "represents_town": "leichlingen", "role": "member"}  # fmt: skip
    added = client.post(
        f"/gremien/{world['body']}/mitglieder",
        data={**form, "csrf_token": csrf_headers(client)["X-CSRF-Token"]},
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    with rt.sessions() as s:
        weber = s.scalars(select(BodyMember).where(BodyMember.email == form["email"])).one()
        town = s.get(Organisation, weber.represents_organisation_id)
        assert town is not None and town.slug == "leichlingen" and weber.represents == "town"
    edit = f"/gremien/{world['body']}/mitglieder/{weber.id}/bearbeiten"
    assert '<option value="leichlingen" selected>' in client.get(edit).text
    refused = client.post(
        edit,
        data={**form, "represents_town": "gummersbach", "csrf_token": added_token(client)},
    )
    assert refused.status_code == 422 and "Gummersbach" not in refused.text
    assert "ist keine Kommune des Kreises" in refused.text


def added_token(client: TestClient) -> str:
    return csrf_headers(client)["X-CSRF-Token"]


def _digests(rt: Runtime, email: str) -> list[dict[str, Any]]:
    with rt.sessions() as s:
        rows = s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "digest", OutboxMessage.recipient_email == email)
            .order_by(OutboxMessage.id)
        ).all()
        return [dict(r.context) for r in rows]


def _submit(rt: Runtime, clock: FrozenClock, org_id: int, code: str) -> None:
    with unit_of_work(rt.sessions) as s:
        mc_id = s.scalars(
            select(MeasureCycle.id)
            .join(Cycle, Cycle.id == MeasureCycle.cycle_id)
            .where(Cycle.organisation_id == org_id, MeasureCycle.measure.has(code=code))
        ).one()
        apply_event(
            session=s, clock=clock, measure_cycle_id=mc_id, event="submit_agreement",
            expected_version=None, actor="contact:1",
        )  # fmt: skip


def test_a_representative_is_told_the_towns_items_once_as_new(
    rt: Runtime, clock: FrozenClock, world: dict[str, int]
) -> None:
    town = world["burscheid"]
    sweep(rt, clock, _at(2026, 5, 4))
    build_digests(sessions=rt.sessions, clock=clock)
    [rep], [plain] = _digests(rt, REP), _digests(rt, PLAIN)
    town_new = sorted(k for k in rep["new"] if k.startswith(f"town:{town}:mc:"))
    assert len(town_new) == 2  # Burscheid's two escalated agreements, and no Leichlingen's
    assert sorted(set(rep["new"]) - set(town_new)) == sorted(plain["new"])
    assert not any(k.startswith("town:") for k in plain["new"])
    [section] = rep["digest"]["towns"]
    assert section["name"] == "Stadt Burscheid" and section["path"] == "/kreis/burscheid"
    assert [m["is_new"] for m in section["measures"]] == [True, True]
    assert plain["digest"]["towns"] == []
    assert rep["digest"]["totals"]["new"] == len(rep["new"])
    with rt.sessions() as s:
        row = s.scalars(
            select(OutboxMessage).where(
                OutboxMessage.recipient_email == REP, OutboxMessage.kind == "digest"
            )
        ).one()
        text = Renderer(s, rt.settings, clock.now()).render([row]).text
    assert "Stadt Burscheid\n===============\n" in text
    assert "Sie vertreten Stadt Burscheid in diesem Gremium." in text

    # A week later one district measure and one of Burscheid's are answered: both count as
    # resolved for the representative, the town's other item is still open, not new again.
    _submit(rt, clock, world["rbk"], "A0001")
    _submit(rt, clock, town, "A0001")
    sweep(rt, clock, _at(2026, 5, 11))
    build_digests(sessions=rt.sessions, clock=clock)
    second = _digests(rt, REP)[1]
    assert not set(second["new"]) & set(town_new)
    assert len([k for k in second["resolved"] if k.startswith(f"town:{town}:")]) == 1
    [section] = second["digest"]["towns"]
    assert [(m["is_new"], m["resolution"] is not None) for m in section["measures"]] == [
        (False, False), (False, True),
    ]  # fmt: skip
    assert not any(k.startswith("town:") for k in _digests(rt, PLAIN)[1]["resolved"])


def test_the_pack_has_a_section_per_represented_town(
    rt: Runtime, clock: FrozenClock, world: dict[str, int]
) -> None:
    with unit_of_work(rt.sessions) as s:
        meeting = Meeting(body_id=world["body"], held_on=date(2026, 5, 20), title="2. Sitzung")
        s.add(meeting)
        s.add(BodyMember(body_id=world["body"], name="Kleine", email=SMALL, represents="town",
                         represents_name="Kleinere Gemeinden"))  # fmt: skip
        s.flush()
        meeting_id = meeting.id
    with rt.sessions() as s:
        html = meeting_pack_html(s, meeting_id, "de")
        english = meeting_pack_html(s, meeting_id, "en")
    section = html.split('<section id="kommunen">')[1].split("</section>")[0]
    assert 'data-town="Stadt Burscheid"' in section and "Leichlingen" not in section
    assert section.count("<tr data-measure=") == 2  # both agreements overdue on 20 May
    assert "2 Maßnahmen im Zyklus 2026, davon 2 überfällig." in section
    assert "Vertreten durch vertretung" in section
    assert "Kleinere Gemeinden" in html and "Kleinere Gemeinden" not in section
    assert "2 measures in the 2026 cycle, 2 of them overdue." in english

    with unit_of_work(rt.sessions) as s:  # once the member has left, the section goes too
        s.execute(
            update(BodyMember).where(BodyMember.email == REP).values(left_on=date(2026, 5, 1))
        )
        html = meeting_pack_html(s, meeting_id, "de")
    assert 'id="kommunen"' not in html
