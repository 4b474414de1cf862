"""What a bouncing address changes (issue 17, item 4): no more reminders to it, the head's
escalation still goes, the coordinators see it on the pages and once a day by email, and a
corrected address restarts the reminders with a fresh link. Bounce state is made with
``state.record_report`` directly; the intake (DSN, IMAP) has its own tests."""

from __future__ import annotations

from datetime import datetime

import pytest
from markupsafe import escape
from sqlalchemy import select

from notifications.bounces import state
from notifications.bounces.models import AddressBounce
from notifications.models import OutboxMessage
from notifications.recipients import UNDELIVERABLE, resolve
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests import factories
from tests.conftest import BERLIN
from tests.dashboard_seed import csrf_headers
from tests.delegation_support import COORDINATOR, body, coordinator_client, links, mail_rt, to
from workflow.catalogue.models import Contact
from workflow.clock import FrozenClock
from workflow.cycles.models import AuditEvent, MeasureCycle
from workflow.cycles.service import open_cycle, record_interview
from workflow.db import unit_of_work
from workflow.runtime import Runtime
from workflow.sweep import run_sweep

__all__ = ["mail_rt"]  # the fixture, imported for pytest

CONTACT = "mkontakt0@stadt.example.org"
HEAD = "mleitung@stadt.example.org"
NEW = "kontakt.neu@stadt.example.org"
OTHER = "mkontakt1@stadt.example.org"
REASON = "5.1.1 <mkontakt0@stadt.example.org>: user unknown"


def _at(month: int, day: int, hour: int = 8, minute: int = 1) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def _seed(rt: Runtime, clock: FrozenClock, measures: int = 1) -> tuple[int, list[int]]:
    """Interviewed Mon 2 March 2026: reminders 30 March and 10 April, the head on 20 April."""
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        factories.measures(s, org, measures, contacts=2)
        open_cycle(session=s, clock=clock, organisation_id=org.id, year=2026)
        ids = list(s.scalars(select(MeasureCycle.id).order_by(MeasureCycle.id)))
        for mc_id in ids:
            record_interview(
                session=s, clock=clock, measure_cycle_id=mc_id, expected_version=None,
                actor="user:1", decision="keep",
            )  # fmt: skip
        return org.id, ids


def _bounce(rt: Runtime, org_id: int, email: str = CONTACT) -> None:
    with unit_of_work(rt.sessions) as s:
        state.record_report(
            s, organisation_id=org_id, email=email, permanent=True, reason=REASON,
            now=rt.clock.now(),
        )  # fmt: skip


def _sweep(rt: Runtime, clock: FrozenClock, moment: datetime) -> None:
    clock.set(moment)
    run_sweep(sessions=rt.sessions, clock=clock)


def _rows(rt: Runtime, kind: str) -> list[OutboxMessage]:
    with rt.sessions() as s:
        return list(
            s.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
            )
        )


def _kinds(sink: CapturingHandler, address: str) -> list[str]:
    return [str(m["X-Zielflow-Kind"]) for m in to(sink, address)]


def test_no_reminder_reaches_a_bouncing_address_but_the_head_is_told(
    mail_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    org_id, [mc_id] = _seed(mail_rt, clock)
    send_pending(mail_rt)
    assert _kinds(sink, CONTACT) == ["invitation_agreement"]
    _sweep(mail_rt, clock, _at(3, 30))  # the first reminder is queued, then the address bounces
    _bounce(mail_rt, org_id)
    with unit_of_work(mail_rt.sessions) as s:
        pending = list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder")))
        assert resolve(s, pending) == pending
        assert [r.last_error for r in pending] == [UNDELIVERABLE]
        s.rollback()
    send_pending(mail_rt)
    assert _kinds(sink, CONTACT) == ["invitation_agreement"]
    assert [r.status for r in _rows(mail_rt, "reminder")] == ["dead"]
    assert _rows(mail_rt, "dead_letter") == []  # the daily notice tells the coordinators
    _sweep(mail_rt, clock, _at(4, 10))  # the second reminder is not even queued
    assert len(_rows(mail_rt, "reminder")) == 1
    _sweep(mail_rt, clock, _at(4, 20))
    send_pending(mail_rt)
    assert _kinds(sink, HEAD) == ["escalation_head"]
    assert _kinds(sink, CONTACT) == ["invitation_agreement"]
    with mail_rt.sessions() as s:
        mc = s.get(MeasureCycle, mc_id)
        assert mc is not None and mc.escalation_level == 1


def test_the_measure_page_marks_the_address_and_a_false_alarm_can_be_cleared(
    mail_rt: Runtime, clock: FrozenClock
) -> None:
    org_id, [mc_id] = _seed(mail_rt, clock)
    clock.set(datetime(2027, 12, 31, 9, 0, tzinfo=BERLIN))
    client = coordinator_client(mail_rt, org_id)
    assert 'data-testid="bounce-mark"' not in client.get(f"/massnahmen/{mc_id}").text
    _bounce(mail_rt, org_id)
    _bounce(mail_rt, org_id, HEAD)
    german = client.get(f"/massnahmen/{mc_id}").text
    shown = f"E-Mail-Adresse nicht erreichbar seit 31.12.2027 ({escape(REASON)})"
    assert shown in german
    assert "Adresse ist wieder erreichbar" in german
    english = client.get(f"/massnahmen/{mc_id}?lang=en").text
    assert "Email address unreachable since" in english and "user unknown" in english
    departments = client.get("/fachbereiche").text
    assert departments.count('data-testid="bounce-mark"') == 1  # the head's
    cleared = client.post(
        f"/massnahmen/{mc_id}/erreichbar", headers=csrf_headers(client), follow_redirects=False
    )
    assert cleared.status_code == 303
    assert 'data-testid="bounce-mark"' not in client.get(f"/massnahmen/{mc_id}").text
    with mail_rt.sessions() as s:
        assert not state.is_bouncing(s, org_id, CONTACT)
        assert state.is_bouncing(s, org_id, HEAD)
        audit = s.scalars(select(AuditEvent).where(AuditEvent.event == "address_marked_reachable"))
        assert [e.payload["email"] for e in audit] == [CONTACT]


def test_the_head_page_marks_the_head_and_needs_the_csrf_token(
    mail_rt: Runtime, clock: FrozenClock
) -> None:
    org_id, _ = _seed(mail_rt, clock)
    _bounce(mail_rt, org_id, HEAD)
    client = coordinator_client(mail_rt, org_id)
    with mail_rt.sessions() as s:
        head = s.scalars(select(Contact).where(Contact.email == HEAD)).one()
        url = f"/fachbereiche/{head.department_id}/leitung"
    page = client.get(url).text
    assert 'data-testid="bounce-mark"' in page and "Leitung" in page
    refused = client.post(url + "/erreichbar", follow_redirects=False)
    assert refused.status_code == 403
    with mail_rt.sessions() as s:
        assert state.is_bouncing(s, org_id, HEAD)
    done = client.post(url + "/erreichbar", headers=csrf_headers(client), follow_redirects=False)
    assert done.status_code == 303
    assert 'data-testid="bounce-mark"' not in client.get(url).text


def test_one_notice_a_day_lists_the_new_addresses(
    mail_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    org_id, _ = _seed(mail_rt, clock, measures=2)
    coordinator_client(mail_rt, org_id)  # the coordinator's account
    _sweep(mail_rt, clock, _at(3, 3, 9))
    assert _rows(mail_rt, "bounce_notice") == []
    _bounce(mail_rt, org_id)
    _sweep(mail_rt, clock, _at(3, 3, 10))
    _sweep(mail_rt, clock, _at(3, 3, 11))  # the same day: nothing more
    [notice] = _rows(mail_rt, "bounce_notice")
    assert notice.recipient_email == COORDINATOR
    assert [a["email"] for a in notice.context["addresses"]] == [CONTACT]
    send_pending(mail_rt)
    [mail] = to(sink, COORDINATOR)
    text = body(mail)
    assert CONTACT in mail["Subject"] and REASON in text and "M0001" in text
    assert "nicht erreichbar seit 03.03.2026" in text
    assert "/massnahmen/" in text  # where to correct it
    _sweep(mail_rt, clock, _at(3, 4, 10))  # the next day, nothing new: no notice
    assert len(_rows(mail_rt, "bounce_notice")) == 1
    clock.set(_at(3, 4, 12))
    _bounce(mail_rt, org_id, OTHER)  # a new one later that day
    _sweep(mail_rt, clock, _at(3, 4, 13))
    notices = _rows(mail_rt, "bounce_notice")
    assert [[a["email"] for a in n.context["addresses"]] for n in notices] == [[CONTACT], [OTHER]]
    with mail_rt.sessions() as s:
        told = s.scalars(select(AddressBounce.notified_at)).all()
    assert len(told) == 2 and all(told)


def test_a_second_address_bouncing_the_same_day_waits_for_the_next_notice(
    mail_rt: Runtime, clock: FrozenClock
) -> None:
    org_id, _ = _seed(mail_rt, clock, measures=2)
    coordinator_client(mail_rt, org_id)
    _bounce(mail_rt, org_id)
    _sweep(mail_rt, clock, _at(3, 3, 10))
    _bounce(mail_rt, org_id, OTHER)
    _sweep(mail_rt, clock, _at(3, 3, 15))
    assert len(_rows(mail_rt, "bounce_notice")) == 1
    with mail_rt.sessions() as s:
        assert (
            s.scalars(select(AddressBounce.notified_at).where(AddressBounce.email == OTHER)).one()
            is None
        )
    _sweep(mail_rt, clock, _at(3, 4, 8))
    assert [a["email"] for a in _rows(mail_rt, "bounce_notice")[1].context["addresses"]] == [OTHER]


def test_a_corrected_address_gets_a_fresh_link_and_the_reminders_again(
    mail_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    org_id, [mc_id] = _seed(mail_rt, clock)
    send_pending(mail_rt)
    [first_link] = links(to(sink, CONTACT))
    _sweep(mail_rt, clock, _at(3, 30))
    _bounce(mail_rt, org_id)  # the first reminder was queued, then the address bounced
    send_pending(mail_rt)
    assert [r.status for r in _rows(mail_rt, "reminder")] == ["dead"]
    clock.set(_at(3, 31, 9))
    client = coordinator_client(mail_rt, org_id)
    with mail_rt.sessions() as s:
        contact_id = s.scalars(select(MeasureCycle)).one().measure.contact_id
    patched = client.patch(
        f"/api/v1/contacts/{contact_id}", json={"email": NEW}, headers=csrf_headers(client)
    )
    assert patched.status_code == 200, patched.text
    with mail_rt.sessions() as s:
        assert not state.is_bouncing(s, org_id, NEW)
        mc = s.get(MeasureCycle, mc_id)
        assert mc is not None and mc.action_step == 0
        [audit] = s.scalars(select(AuditEvent).where(AuditEvent.event == "contact_address_changed"))
        assert audit.payload["ladder_restarted_from_step"] == 1
    send_pending(mail_rt)
    assert _kinds(sink, NEW) == ["link_reissued"]
    _sweep(mail_rt, clock, _at(4, 1))  # not right behind the new link
    assert len(_rows(mail_rt, "reminder")) == 1
    _sweep(mail_rt, clock, _at(4, 2))
    send_pending(mail_rt)
    assert _kinds(sink, NEW) == ["link_reissued", "reminder"]
    reissued, reminder = to(sink, NEW)
    [fresh] = links([reminder])
    assert fresh not in (first_link, *links([reissued]))
    assert _kinds(sink, CONTACT) == ["invitation_agreement"]


@pytest.mark.parametrize("kind", ["password_reset", "dead_letter", "bounce_notice"])
def test_mail_about_the_failure_itself_is_not_held_back(
    mail_rt: Runtime, clock: FrozenClock, kind: str
) -> None:
    org_id, _ = _seed(mail_rt, clock)
    _bounce(mail_rt, org_id, COORDINATOR)
    with unit_of_work(mail_rt.sessions) as s:
        row = OutboxMessage(
            organisation_id=org_id, dedupe_key="x", kind=kind, recipient_email=COORDINATOR,
            context={}, status="sending", created_at=clock.now(), not_before=clock.now(),
        )  # fmt: skip
        s.add(row)
        s.flush()
        assert resolve(s, [row]) == []
        s.rollback()


def test_an_archived_organisation_is_told_of_bounces_when_it_returns(
    mail_rt: Runtime, clock: FrozenClock
) -> None:
    from tests.form_support import set_archived

    org_id, _ = _seed(mail_rt, clock, measures=1)
    coordinator_client(mail_rt, org_id)
    _bounce(mail_rt, org_id)
    set_archived(mail_rt, org_id, clock.now())
    _sweep(mail_rt, clock, _at(3, 3, 10))
    assert _rows(mail_rt, "bounce_notice") == []
    set_archived(mail_rt, org_id, None)
    _sweep(mail_rt, clock, _at(3, 4, 10))
    [notice] = _rows(mail_rt, "bounce_notice")
    assert [a["email"] for a in notice.context["addresses"]] == [CONTACT]
