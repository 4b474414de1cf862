"""Status requests (issue 11, item 5; seed 000: members ask the responsible people for the status)
on SQLite and PostgreSQL: who may ask (the body's scope, coordinators), the email with the
measure's current answers and its Reply-To, delivered to a real SMTP sink, the event on the
measure's timeline, and at most one request per measure, asker and day."""

from __future__ import annotations

import json
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests.dashboard_seed import EMAILS, bearer, csrf_headers, login
from tests.delegation_support import body, mail_rt
from tests.member_world import BODY, MEMBER, OBSTACLES, OFFICE_EMAIL, TARGETS, MemberWorld, build
from workflow.accounts import Role, TokenScope, User, create_api_token
from workflow.bodies.models import BodyMember, BodyScope
from workflow.bodies.service import update_body
from workflow.bodies.status_request import StatusRequestRefused, request_status
from workflow.catalogue.models import Organisation
from workflow.clock import FrozenClock
from workflow.cycles.models import AuditEvent
from workflow.db import unit_of_work
from workflow.runtime import Runtime

__all__ = ["mail_rt"]  # the fixture, imported for pytest


def ask(
    rt: Runtime, world: MemberWorld, item: int, role: Role = Role.STEERING, note: str = ""
) -> None:
    with unit_of_work(rt.sessions) as session:
        user = session.get(User, world.seed.user_ids[role])
        assert user is not None
        request_status(session=session, clock=rt.clock, measure_cycle_id=item, user=user, note=note)


def refused(
    rt: Runtime, world: MemberWorld, item: int, role: Role = Role.STEERING, note: str = ""
) -> StatusRequestRefused:
    with pytest.raises(StatusRequestRefused) as caught:
        ask(rt, world, item, role, note)
    return caught.value


def requests(rt: Runtime) -> list[OutboxMessage]:
    with rt.sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "status_request")
                .order_by(OutboxMessage.id)
            )
        )


def events(rt: Runtime) -> list[AuditEvent]:
    with rt.sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.event == "status_requested")
                .order_by(AuditEvent.id)
            )
        )


def test_a_member_asks_about_a_measure_of_the_bodys_scope(rt: Runtime) -> None:
    world = build(rt)
    ask(rt, world, world.item_b, note="Wie steht es um die Kurse im Frühjahr?")
    (row,) = requests(rt)
    assert row.recipient_email == world.contact_b and row.measure_cycle_id == world.item_b
    assert row.context["reply_to"] == OFFICE_EMAIL  # the office collects the answers
    assert row.context["asked_by"] == MEMBER and row.context["body_name"] == BODY
    (event,) = events(rt)
    assert event.measure_cycle_id == world.item_b
    assert event.actor == f"user:{world.steering_id}"
    assert event.from_state is None and event.to_state is None
    assert event.payload["body"] == BODY
    assert event.payload["note"] == "Wie steht es um die Kurse im Frühjahr?"


def test_outside_the_scope_a_member_is_refused_and_nothing_is_recorded(rt: Runtime) -> None:
    world = build(rt)  # the body watches field B only
    assert refused(rt, world, world.item_a).code == "not_allowed"
    assert requests(rt) == [] and events(rt) == []
    # The coordination office may ask about anything, and gets the reply itself.
    ask(rt, world, world.item_a, Role.COORDINATOR)
    (row,) = requests(rt)
    assert row.context["reply_to"] == EMAILS[Role.COORDINATOR]
    assert row.context["body_name"] == ""
    ask(rt, world, world.item_a, Role.ADMIN)
    assert len(requests(rt)) == 2


@pytest.mark.parametrize(
    ("scope", "allowed"),
    [(BodyScope.ALL_FIELDS.value, True), (BodyScope.INDICATORS.value, False)],
)
def test_the_scope_all_fields_covers_every_measure_and_indicators_only_none(
    rt_sqlite: Runtime, scope: str, allowed: bool
) -> None:
    world = build(rt_sqlite, scope=scope)
    for item in (world.item_a, world.item_b):
        if allowed:
            ask(rt_sqlite, world, item)
        else:
            assert refused(rt_sqlite, world, item).code == "not_allowed"
    assert len(requests(rt_sqlite)) == (2 if allowed else 0)


def test_a_former_member_and_an_unlinked_account_are_refused(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite)
    today = rt_sqlite.clock.now().date()
    with unit_of_work(rt_sqlite.sessions) as session:
        session.execute(update(BodyMember).values(left_on=today))  # ended today: gone today
    assert refused(rt_sqlite, world, world.item_b).code == "not_allowed"
    with unit_of_work(rt_sqlite.sessions) as session:
        session.execute(update(BodyMember).values(left_on=None, user_id=None))
    assert refused(rt_sqlite, world, world.item_b).code == "not_allowed"
    # A body that changes its scope to field A changes what its members may ask about.
    with unit_of_work(rt_sqlite.sessions) as session:
        session.execute(update(BodyMember).values(user_id=world.steering_id))
        from workflow.bodies.models import Body

        body_row = session.get(Body, world.body_id)
        assert body_row is not None
        update_body(session=session, body=body_row, field_ids=[world.field_a])
    ask(rt_sqlite, world, world.item_a)
    assert refused(rt_sqlite, world, world.item_b).code == "not_allowed"


def test_once_per_measure_asker_and_day(rt: Runtime, clock: FrozenClock) -> None:
    world = build(rt)
    ask(rt, world, world.item_b)
    clock.advance(timedelta(hours=3))
    again = refused(rt, world, world.item_b)
    assert again.code == "already_requested"
    assert again.params["at"].startswith("2026-03-02T09:00")  # 10:00 in Berlin, as UTC
    # Another measure, another asker: each their own request.
    ask(rt, world, world.item_b2)
    ask(rt, world, world.item_b, Role.COORDINATOR)
    assert len(requests(rt)) == 3 and len(events(rt)) == 3
    # The next day (in the organisation's time zone) the member may ask again.
    clock.advance(timedelta(hours=12))  # 01:00 on 3 March in Berlin
    ask(rt, world, world.item_b)
    assert len(requests(rt)) == 4


def test_the_second_request_of_the_day_is_refused_in_german_naming_the_first(
    rt: Runtime, clock: FrozenClock
) -> None:
    world = build(rt)
    client = TestClient(create_app())
    headers = bearer(world.seed, Role.STEERING)
    url = f"/api/v1/measure-cycles/{world.item_b}/status-request"
    first = client.post(url, json={"note": "Bitte bis zur Sitzung."}, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["body_name"] == BODY and first.json()["note"] == "Bitte bis zur Sitzung."
    clock.advance(timedelta(minutes=30))
    second = client.post(url, json={}, headers=headers)
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["code"] == "already_requested"
    assert error["message"] == (
        "Sie haben den Sachstand der Maßnahme B1.1 bereits am 02.03.2026 um 10:00 Uhr erfragt. "
        "Eine weitere Anfrage ist ab morgen möglich."
    )
    assert len(requests(rt)) == 1


def test_the_api_refuses_in_the_one_error_shape(rt: Runtime) -> None:
    world = build(rt)
    client = TestClient(create_app())
    headers = bearer(world.seed, Role.STEERING)
    outside = client.post(
        f"/api/v1/measure-cycles/{world.item_a}/status-request", json={}, headers=headers
    )
    assert outside.status_code == 403
    assert outside.json()["error"]["code"] == "not_allowed"
    assert "A1.1" in outside.json()["error"]["message"]
    missing = client.post("/api/v1/measure-cycles/999999/status-request", json={}, headers=headers)
    assert missing.status_code == 404
    url = f"/api/v1/measure-cycles/{world.item_b}/status-request"
    for note, code in (
        ("x" * 1001, "note_too_long"),
        ("Bitte\x07", "note_control_character"),
        ("Bit\u2028te", "note_control_character"),
        ("Bit\ud800te", "note_control_character"),  # a lone surrogate no column can store
    ):
        # As JSON escapes (the client would refuse to encode a lone surrogate itself).
        raw_json = json.dumps({"note": note})
        json_headers = headers | {"Content-Type": "application/json"}
        response = client.post(url, content=raw_json, headers=json_headers)
        assert response.status_code == 422 and response.json()["error"]["code"] == code
    assert requests(rt) == [] and events(rt) == []
    # A read-only token may not ask.
    with unit_of_work(rt.sessions) as session:
        member = session.get(User, world.steering_id)
        assert member is not None
        _, raw = create_api_token(session, member, "lesen", rt.clock.now(), scope=TokenScope.READ)
    read_only = client.post(url, json={}, headers={"Authorization": f"Bearer {raw}"})
    assert read_only.status_code == 403
    assert read_only.json()["error"]["code"] == "token_read_only"
    # Line breaks belong in a note and count as one character; 1000 characters are fine.
    note = "Erste Zeile\r\nzweite Zeile" + "." * (1000 - 24)
    assert len(note) == 1001 and len(note.replace("\r\n", "\n")) == 1000
    assert client.post(url, json={"note": note}, headers=headers).status_code == 201
    (event,) = events(rt)
    assert event.payload["note"].startswith("Erste Zeile\nzweite Zeile")


def test_a_measure_of_another_organisation_is_not_found(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as session:
        other = Organisation(slug="nachbarstadt", name="Nachbarstadt")
        session.add(other)
        session.flush()
        coordinator = session.get(User, world.seed.user_ids[Role.COORDINATOR])
        assert coordinator is not None
        stranger = User(
            organisation_id=other.id,
            email="koordination@nachbarstadt.example.org",
            role="coordinator",
            password_hash=coordinator.password_hash,
            created_at=rt_sqlite.clock.now(),
        )
        session.add(stranger)
        session.flush()
        with pytest.raises(StatusRequestRefused) as caught:
            request_status(
                session=session,
                clock=rt_sqlite.clock,
                measure_cycle_id=world.item_b,
                user=stranger,
            )
    assert caught.value.code == "measure_not_found"
    assert requests(rt_sqlite) == [] and events(rt_sqlite) == []


def _only_mail(sink: CapturingHandler) -> EmailMessage:
    (message,) = [m for m in sink.messages if m["X-Zielflow-Kind"] == "status_request"]
    return message


def test_the_contact_gets_the_current_answers_with_reply_to_the_office(
    mail_rt: Runtime, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    world = build(mail_rt)
    ask(mail_rt, world, world.item_b, note="Bitte auch zu den Räumen <Kita Nord> & Süd.")
    report = send_pending(mail_rt)
    assert report.by_kind.get("status_request") == 1
    message = _only_mail(smtp_sink[1])
    assert message["To"].addresses[0].addr_spec == world.contact_b
    assert message["Reply-To"].addresses[0].addr_spec == OFFICE_EMAIL
    assert "Sachstand" in message["Subject"] and "B1.1" in message["Subject"]
    text = body(message)
    for expected in (
        f"{MEMBER} ({BODY}) bittet Sie um den aktuellen Sachstand",
        "Bitte auch zu den Räumen <Kita Nord> & Süd.",
        "Stand: Erstgespräch",
        "Zielvereinbarung 2026:",
        "Zwei Sprachkurse je Halbjahr",
        "mindestens 30 Teilnehmende & <Warteliste>",
        "2026-06-01 Kursstart",
        "Letzte Rückmeldung zur Zielerreichung 2025:",
        OBSTACLES,
        f"Ihre Antwort geht an {OFFICE_EMAIL}.",
    ):
        assert expected in text, expected
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    html = str(html_part.get_content())
    assert "&lt;Kita Nord&gt; &amp; Süd." in html and "<Kita Nord>" not in html
    assert TARGETS.split("\n")[0] in html
    # The contact has no account: no link into the dashboard.
    assert mail_rt.settings.base_url not in text and mail_rt.settings.base_url not in html


def test_a_member_without_an_office_address_gets_replies_to_a_coordinator(
    mail_rt: Runtime, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    world = build(mail_rt)
    with unit_of_work(mail_rt.sessions) as session:
        org = session.get(Organisation, world.org_id)
        assert org is not None
        org.contact_email = ""
    ask(mail_rt, world, world.item_b)
    send_pending(mail_rt)
    message = _only_mail(smtp_sink[1])
    assert message["Reply-To"].addresses[0].addr_spec == EMAILS[Role.COORDINATOR]
    assert f"Ihre Antwort geht an {EMAILS[Role.COORDINATOR]}." in body(message)


def test_an_english_speaking_contact_gets_it_in_english(
    mail_rt: Runtime, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    world = build(mail_rt)
    with unit_of_work(mail_rt.sessions) as session:
        from workflow.catalogue.models import Contact

        contact = session.scalars(select(Contact).where(Contact.email == world.contact_b)).one()
        contact.language = "en"
    ask(mail_rt, world, world.item_b)
    send_pending(mail_rt)
    text = body(_only_mail(smtp_sink[1]))
    assert f"{MEMBER} ({BODY}) asks you for the current status" in text
    assert "Target agreement 2026:" in text and "Latest review of achievement 2025:" in text


def _page(client: TestClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return str(response.text)


def test_the_measure_page_offers_the_button_and_shows_the_request_on_the_timeline(
    rt: Runtime,
) -> None:
    world = build(rt)
    member = TestClient(create_app())
    login(member, Role.STEERING)
    assert "Sachstand erfragen" not in _page(member, f"/massnahmen/{world.item_a}")
    page = _page(member, f"/massnahmen/{world.item_b}")
    assert f'action="/massnahmen/{world.item_b}/sachstand"' in page
    sent = member.post(
        f"/massnahmen/{world.item_b}/sachstand",
        data={"note": "Bitte kurz vor der Sitzung.", "back": "massnahme"},
        headers=csrf_headers(member),
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"] == f"/massnahmen/{world.item_b}"
    page = _page(member, f"/massnahmen/{world.item_b}")
    assert "Die Bitte um den aktuellen Sachstand ist verschickt." in page
    sentence = f"{MEMBER} ({BODY}) hat Katharina Schäfer um den aktuellen Sachstand gebeten."
    assert sentence in page and "Bitte kurz vor der Sitzung." in page
    assert "Zuletzt von Ihnen erfragt am 02.03.2026, 10:00 Uhr." in page
    again = member.post(
        f"/massnahmen/{world.item_b}/sachstand",
        data={"note": "", "back": "massnahme"},
        headers=csrf_headers(member),
    )
    assert again.status_code == 409
    assert "bereits am 02.03.2026 um 10:00 Uhr erfragt" in again.text
    # Outside the scope the form is not offered, and a forged post is refused.
    forged = member.post(
        f"/massnahmen/{world.item_a}/sachstand", data={}, headers=csrf_headers(member)
    )
    assert forged.status_code == 403 and "A1.1" in forged.text
    # The coordination office sees the same sentence on its page, in English too.
    office = TestClient(create_app())
    login(office, Role.COORDINATOR)
    assert sentence in _page(office, f"/massnahmen/{world.item_b}")
    english = _page(office, f"/massnahmen/{world.item_b}?lang=en")
    assert f"{MEMBER} ({BODY}) asked Katharina Schäfer for the current status." in english
    assert len(requests(rt)) == 1


def test_a_post_without_the_csrf_token_is_refused(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite)
    member = TestClient(create_app())
    login(member, Role.STEERING)
    response: Any = member.post(
        f"/massnahmen/{world.item_b}/sachstand",
        data={"note": ""},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert requests(rt_sqlite) == []
