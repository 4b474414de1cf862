"""/mein-gremium, a body member's own view (issue 11, item 5), over HTTP on real databases: what
each role sees, the body's scope, one organisation's bodies only, and the empty states.
Meetings, agenda items and decisions are inserted as rows (tests/member_world.py)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from html import unescape
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from tests.dashboard_seed import login
from tests.member_world import BODY, MEMBER, MemberWorld, build, decide, escalate, plan_meeting
from workflow.accounts import Role
from workflow.bodies.members import add_member, end_membership
from workflow.bodies.models import Body, BodyMember, BodyScope
from workflow.bodies.service import create_body
from workflow.catalogue.models import Organisation
from workflow.db import unit_of_work
from workflow.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]


def client_for(role: Role) -> TestClient:
    client = TestClient(create_app())
    login(client, role)
    return client


def text_of(client: TestClient, url: str = "/mein-gremium") -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text
    # Whitespace and tags as a reader sees them: one line of words.
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def section(client: TestClient, testid: str, url: str = "/mein-gremium") -> str:
    html = client.get(url).text
    # The element's own closing tag: none of these sections nests its own kind.
    found = re.search(rf'<(\w+)[^>]*data-testid="{testid}"[^>]*>(.*?)</\1>', html, re.S)
    assert found is not None, testid
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(2))).split())


def test_a_member_sees_the_next_meeting_its_agenda_and_pack(rt: Runtime) -> None:
    world = build(rt)
    today = rt.clock.now().date()
    plan_meeting(rt, world.body_id, today - timedelta(days=20), agenda=("Vergangen",))
    meeting = plan_meeting(
        rt,
        world.body_id,
        date(2026, 3, 18),
        agenda=("Bericht aus dem Handlungsfeld B", "Offene Aufträge", "Verschiedenes"),
    )
    plan_meeting(rt, world.body_id, date(2026, 6, 17), agenda=("Später",))
    member = client_for(Role.STEERING)
    page = text_of(member)
    assert "Mein Gremium" in page and BODY in page
    assert "Begleitgremium" in page and "Ausgewählte Handlungsfelder: B Bildung und Sprache" in page
    assert "Ihre Rolle Mitglied" in page
    shown = section(member, f"meeting-{world.body_id}")
    assert "18.03.2026, 16:00 Uhr, Rathaus, Sitzungssaal 2" in shown
    assert shown.index("Bericht aus dem Handlungsfeld B") < shown.index("Offene Aufträge")
    assert shown.index("Offene Aufträge") < shown.index("Verschiedenes")
    assert "Vergangen" not in page and "Später" not in page
    assert f'href="/sitzungen/{meeting}/unterlage"' in member.get("/mein-gremium").text
    # The nav leads steering accounts here; the coordinators' nav stays as it was.
    assert 'href="/mein-gremium" aria-current="page"' in member.get("/mein-gremium").text
    assert 'href="/mein-gremium"' not in client_for(Role.COORDINATOR).get("/pipeline").text


def test_a_meeting_without_time_place_or_agenda_says_so(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite)
    member = client_for(Role.STEERING)
    assert "Es ist noch keine Sitzung geplant." in section(member, f"meeting-{world.body_id}")
    plan_meeting(rt_sqlite, world.body_id, date(2026, 3, 2), starts_at=None, place="")
    shown = section(member, f"meeting-{world.body_id}")
    assert "02.03.2026" in shown and "Uhr" not in shown  # today still counts as next
    assert "Die Tagesordnung ist noch nicht aufgestellt." in shown


def test_the_open_decisions_of_the_bodys_meetings(rt: Runtime) -> None:
    world = build(rt)
    past = plan_meeting(rt, world.body_id, date(2026, 2, 4))
    decide(rt, world.org_id, past, "Schulverwaltung berichtet zu B2.2", due_on=date(2026, 4, 30))
    decide(rt, world.org_id, past, "Empfehlung an den Rat", kind="recommendation",
           status="in_progress")  # fmt: skip
    decide(rt, world.org_id, past, "Längst erledigt", kind="resolution", status="done")
    with unit_of_work(rt.sessions) as session:
        other = create_body(
            session=session, organisation_id=world.org_id, name="Lenkungsgruppe", kind="other"
        )
        other_id = other.id
    elsewhere = plan_meeting(rt, other_id, date(2026, 2, 5))
    decide(rt, world.org_id, elsewhere, "Auftrag einer anderen Gruppe")
    shown = section(client_for(Role.STEERING), f"decisions-{world.body_id}")
    assert "04.02.2026 Auftrag Schulverwaltung berichtet zu B2.2 offen 30.04.2026" in shown
    assert "Empfehlung Empfehlung an den Rat in Bearbeitung" in shown
    assert "Längst erledigt" not in shown and "anderen Gruppe" not in shown


def test_no_open_decisions_and_no_escalations_are_said_plainly(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite)
    member = client_for(Role.STEERING)
    assert "Es gibt keine offenen Beschlüsse" in section(member, f"decisions-{world.body_id}")
    assert "Derzeit ist keine Maßnahme an das Gremium eskaliert." in section(
        member, f"escalated-{world.body_id}"
    )


def test_escalated_items_in_the_bodys_scope_from_every_cycle(rt: Runtime) -> None:
    world = build(rt)
    escalate(rt, world.item_b, level=2, days_overdue=30)  # reached the steering group
    escalate(rt, world.item_b2, level=1, days_overdue=10)  # only the department head so far
    escalate(rt, world.item_a, level=2)  # field A: not this body's
    escalate(rt, world.old_item_b, level=2, days_overdue=90)  # still open from 2025
    member = client_for(Role.STEERING)
    shown = section(member, f"escalated-{world.body_id}")
    assert "B1.1 Alltagsintegrierte Sprachförderung in Kitas (Zyklus 2025)" in shown
    assert "(Zyklus 2026)" in shown and "seit 30 Tagen überfällig" in shown
    assert shown.index("Zyklus 2025") < shown.index("Zyklus 2026")  # longest overdue first
    assert "B1.2" not in shown and "A1.1" not in shown
    assert "Kinder- und Jugendamt" in shown and "Katharina Schäfer" in shown
    html = member.get("/mein-gremium").text
    assert f'action="/massnahmen/{world.item_b}/sachstand"' in html
    assert f'action="/massnahmen/{world.old_item_b}/sachstand"' in html
    # Asking from this page comes back here, and the page says when the member asked.
    from tests.dashboard_seed import csrf_headers

    sent = member.post(
        f"/massnahmen/{world.item_b}/sachstand",
        data={"note": "Bitte bis Freitag.", "back": "mein-gremium"},
        headers=csrf_headers(member),
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/mein-gremium"
    page = text_of(member)
    assert "Die Bitte um den aktuellen Sachstand ist verschickt." in page
    assert "Zuletzt von Ihnen erfragt am 02.03.2026, 10:00 Uhr." in page
    again = member.post(
        f"/massnahmen/{world.item_b}/sachstand",
        data={"back": "mein-gremium"},
        headers=csrf_headers(member),
    )
    assert again.status_code == 409 and "Mein Gremium" in again.text
    assert "bereits am 02.03.2026 um 10:00 Uhr erfragt" in again.text


def test_scope_all_shows_every_field_and_indicators_only_none(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite, scope=BodyScope.ALL_FIELDS.value)
    escalate(rt_sqlite, world.item_a)
    escalate(rt_sqlite, world.item_b)
    member = client_for(Role.STEERING)
    shown = section(member, f"escalated-{world.body_id}")
    assert "A1.1" in shown and "B1.1" in shown
    with unit_of_work(rt_sqlite.sessions) as session:
        session.execute(
            update(Body).where(Body.id == world.body_id).values(scope=BodyScope.INDICATORS.value)
        )
    shown = section(member, f"escalated-{world.body_id}")
    assert "nur für Kennzahlen zuständig" in shown and "A1.1" not in shown


def test_a_steering_account_in_no_body_gets_a_plain_sentence(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite)
    escalate(rt_sqlite, world.item_b)
    with unit_of_work(rt_sqlite.sessions) as session:
        member = session.scalars(
            select(BodyMember).where(BodyMember.user_id == world.steering_id)
        ).one()
        end_membership(session=session, member=member, on=rt_sqlite.clock.now().date())
    response = client_for(Role.STEERING).get("/mein-gremium")
    assert response.status_code == 200
    assert "Ihr Konto ist derzeit keinem Gremium als Mitglied zugeordnet." in response.text
    assert BODY not in response.text and "B1.1" not in response.text
    english = client_for(Role.STEERING).get("/mein-gremium?lang=en").text
    assert "Your account is not linked to any body as a member at the moment." in english


def test_coordinators_and_admins_get_an_explanation_and_the_list_of_bodies(
    rt_sqlite: Runtime,
) -> None:
    world = build(rt_sqlite)
    escalate(rt_sqlite, world.item_b)
    for role in (Role.COORDINATOR, Role.ADMIN):
        client = client_for(role)
        page = text_of(client)
        assert "Für die Koordinierungsstelle" in page
        assert "Konto der Rolle Steuerungsgruppe" in page
        assert f"{BODY} (Begleitgremium)" in page
        assert f'href="/gremien/{world.body_id}"' in client.get("/mein-gremium").text
        assert "B1.1" not in page  # they sit in no body: no body's panel
        assert "keinem Gremium als Mitglied" not in page


def test_a_coordinator_in_no_organisation_with_bodies_sees_that_there_are_none(
    rt_sqlite: Runtime,
) -> None:
    from tests.dashboard_seed import seed

    seed(rt_sqlite)
    page = text_of(client_for(Role.ADMIN))
    assert "Es ist noch kein Gremium eingetragen." in page


def test_only_the_own_organisations_bodies_and_only_current_memberships(rt: Runtime) -> None:
    world = build(rt)
    with unit_of_work(rt.sessions) as session:
        other = Organisation(slug="nachbarkreis", name="Nachbarkreis")
        session.add(other)
        session.flush()
        foreign = create_body(
            session=session, organisation_id=other.id, name="Fremde Steuerungsgruppe", kind="other"
        )
        # A row that links the other organisation's body to this account, as no service would.
        session.add(
            BodyMember(
                body_id=foreign.id,
                name=MEMBER,
                email="petra.sommer@nachbarkreis.example.org",
                user_id=world.steering_id,
            )
        )
        own = create_body(
            session=session,
            organisation_id=world.org_id,
            name="Arbeitsgruppe Sprache",
            kind="other",
        )
        ended = add_member(
            session=session,
            body=own,
            name=MEMBER,
            email="p.sommer@musterstadt.example.org",
            user_id=world.steering_id,
            today=date(2025, 1, 1),
        )
        end_membership(session=session, member=ended, on=date(2026, 1, 31))
        foreign_id = foreign.id
    plan_meeting(rt, foreign_id, date(2026, 3, 20), agenda=("Geheime Tagesordnung",))
    page = text_of(client_for(Role.STEERING))
    assert BODY in page
    assert "Fremde Steuerungsgruppe" not in page and "Geheime Tagesordnung" not in page
    assert "Arbeitsgruppe Sprache" not in page
    coordinator = text_of(client_for(Role.COORDINATOR))
    assert "Arbeitsgruppe Sprache" in coordinator and "Fremde Steuerungsgruppe" not in coordinator


def test_two_bodies_each_get_their_own_panel(rt_sqlite: Runtime) -> None:
    world: MemberWorld = build(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as session:
        second = create_body(
            session=session,
            organisation_id=world.org_id,
            name="Steuerungsgruppe Integration",
            kind="steering_group",
        )
        add_member(
            session=session,
            body=second,
            name=MEMBER,
            email="petra.sommer@musterstadt.example.org",
            user_id=world.steering_id,
            role="chair",
            today=date(2026, 1, 1),
        )
        second_id = second.id
    escalate(rt_sqlite, world.item_b)
    member = client_for(Role.STEERING)
    html = member.get("/mein-gremium").text
    assert (
        f'data-testid="body-{world.body_id}"' in html and f'data-testid="body-{second_id}"' in html
    )
    assert "Vorsitz" in html
    # The same measure in both panels: two forms, ids apart.
    assert html.count(f'action="/massnahmen/{world.item_b}/sachstand"') == 2
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_every_text_of_the_page_exists_in_german_and_english() -> None:
    de = json.loads((ROOT / "api/locales/my_bodies.de.json").read_text(encoding="utf-8"))
    en = json.loads((ROOT / "api/locales/my_bodies.en.json").read_text(encoding="utf-8"))
    assert set(de) == set(en)
    used = set(
        re.findall(
            r"""\bt\(\s*["']([a-z_]+\.[a-z_.0-9]+)["']""",
            (ROOT / "api/pages/dashboard/my_bodies.html").read_text(encoding="utf-8"),
        )
    )
    used |= {f"my_bodies.decision_kind.{k}" for k in ("resolution", "recommendation",
             "assignment", "change_proposal")}  # fmt: skip
    used |= {f"my_bodies.decision_status.{s}" for s in ("open", "in_progress", "done")}
    used |= {"my_bodies.overdue_one", "my_bodies.overdue_other"}
    used |= {
        f"status_request.error.{code}"
        for code in (
            "measure_not_found",
            "not_allowed",
            "no_contact",
            "already_requested",
            "note_too_long",
            "note_control_character",
        )
    }
    assert len(used) > 30 and not used - set(de), sorted(used - set(de))
    for word in ("Digest", "Dashboard", "Pipeline", "Review", "(n)", "(er)"):
        assert not [k for k, v in de.items() if word in v], word
