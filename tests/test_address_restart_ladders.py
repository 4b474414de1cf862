"""A corrected address restarts every ladder of the contact, not only its measures' (SQLite and
PostgreSQL): its data request, status check part, Auftrag and milestone question each get one
new link at the new address, their reminders start again from the first one two working days
later, escalations already sent are not sent again, and nothing more goes to the old address.
A second correction does it all again.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests.conftest import BERLIN
from tests.delegation_support import links, mail_rt
from tests.form_support import Browser, World, build_world
from workflow.bodies.models import Body, Meeting
from workflow.catalogue.contact_edit import update_contact
from workflow.catalogue.models import Contact
from workflow.clock import FrozenClock
from workflow.cycles.models import TargetAgreement
from workflow.db import unit_of_work
from workflow.decisions.assignments import open_assignment
from workflow.decisions.models import Decision
from workflow.indicators import requests as data_requests
from workflow.indicators.service import save_indicator
from workflow.milestones.sync import sync_from_agreement
from workflow.runtime import Runtime
from workflow.status_checks.selection import Selection
from workflow.status_checks.service import open_status_check
from workflow.sweep import run_sweep
from workflow.transitions import apply_event

__all__ = ["mail_rt"]  # the fixture, imported for pytest

OLD = "mkontakt0@stadt.example.org"
NEW = "kontakt.null@stadt.example.org"
NEWER = "k.null@stadt.example.org"
DUE = date(2026, 4, 15)  # reminders 1, 12 and 15 April; escalations 22 April and 6 May
# Each kind's fresh link and its reminders (the measures' own are tested elsewhere).
FRESH = ("data_request", "status_check_request", "assignment_request", "milestone_due")
REMINDERS = (
    "data_reminder",
    "data_final_reminder",
    "status_check_reminder",
    "status_check_final_reminder",
    "assignment_reminder",
    "assignment_final_reminder",
)
ESCALATIONS = ("data_escalation_head", "status_check_escalation_head", "assignment_escalation_head")


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)


def open_everything(rt: Runtime, world: World) -> None:
    """For the contact: a data request, a status check part and an Auftrag due on DUE, and a
    milestone of 1 April of a measure in Umsetzung."""
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:
        save_indicator(
            s,
            organisation_id=world.org_id,
            code="B-K1",
            values={
                "statement": "Anteil der Kinder mit Sprachförderung steigt",
                "unit": "percent",
                "direction": "up",
                "due_months": [4],
                "due_day": 15,
                "lead_days": 60,
                "source_label": "Schulverwaltung",
                "source_contact_id": world.contact_id,
            },
            goal_ids=[],
            measure_ids=[],
            now=now - timedelta(days=400),
        )
        assert len(data_requests.open_due_requests(s, now=now).ids) == 1
        open_status_check(
            s, clock=rt.clock, organisation_id=world.org_id, selection=Selection(),
            due_on=DUE, actor="user:1",
        )  # fmt: skip
        body = Body(organisation_id=world.org_id, name="Steuerungsgruppe Integration")
        s.add(body)
        s.flush()
        meeting = Meeting(body_id=body.id, held_on=date(2026, 2, 26))
        s.add(meeting)
        s.flush()
        decision = Decision(
            organisation_id=world.org_id, meeting_id=meeting.id, kind="assignment",
            status="open", text="Bitte legen Sie einen Zeitplan vor.",
            contact_id=world.contact_id, due_on=DUE, created_at=now, created_by="user:1",
        )  # fmt: skip
        s.add(decision)
        s.flush()
        open_assignment(session=s, decision=decision, now=now)
        answer = TargetAgreement(
            measure_cycle_id=world.mine[-1], decision="implement", targets="20 Lesepaten",
            responsible="Frau A", milestones=[{"text": "Konzept fertig", "date": "2026-04-01"}],
            submitted_at=now, submitted_by="contact:1",
        )  # fmt: skip
        s.add(answer)
        mc = apply_event(
            session=s, clock=rt.clock, measure_cycle_id=world.mine[-1],
            event="submit_agreement", expected_version=None, actor="test",
        )  # fmt: skip
        sync_from_agreement(s, measure_cycle=mc, agreement=answer, now=now)


def sweep_and_send(rt: Runtime, moment: datetime) -> None:
    clock = rt.clock
    assert isinstance(clock, FrozenClock)
    clock.set(moment)
    run_sweep(sessions=rt.sessions, clock=clock)
    run_sweep(sessions=rt.sessions, clock=clock)
    send_pending(rt)


def correct(rt: Runtime, world: World, email: str, moment: datetime) -> None:
    clock = rt.clock
    assert isinstance(clock, FrozenClock)
    clock.set(moment)
    with unit_of_work(rt.sessions) as s:
        contact = s.get(Contact, world.contact_id)
        assert contact is not None
        assert update_contact(s, contact, {"email": email}, now=moment, actor="user:1")
    send_pending(rt)


def kinds_to(sink: CapturingHandler, address: str, since: int = 0) -> Counter[str]:
    """The kinds of this test's emails to ``address`` among the sink's messages from ``since``."""
    watched = (*FRESH, *REMINDERS)
    return Counter(
        str(m["X-Zielflow-Kind"])
        for m in sink.messages[since:]
        if m["To"].addresses[0].addr_spec == address and m["X-Zielflow-Kind"] in watched
    )


def fresh_links_work(sink: CapturingHandler, address: str, since: int) -> bool:
    """Every link of the new emails to ``address`` opens its form (one token per kind)."""
    fresh = [
        m
        for m in sink.messages[since:]
        if m["To"].addresses[0].addr_spec == address and m["X-Zielflow-Kind"] in FRESH
    ]
    raws = set(links(fresh))
    with TestClient(create_app()) as client:
        browser = Browser(client)
        return len(raws) == len(FRESH) and all(browser.open(r).status_code == 200 for r in raws)


def escalations(rt: Runtime) -> Counter[str]:
    with rt.sessions() as s:
        return Counter(
            s.scalars(select(OutboxMessage.kind).where(OutboxMessage.kind.in_(ESCALATIONS)))
        )


def test_a_corrected_address_restarts_every_ladder_and_a_second_correction_again(
    mail_rt: Runtime, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    world = build_world(mail_rt, measures=4)
    open_everything(mail_rt, world)
    send_pending(mail_rt)
    sweep_and_send(mail_rt, at(date(2026, 4, 1)))  # the first reminders and the question
    assert kinds_to(sink, OLD) == Counter(
        {**dict.fromkeys(FRESH, 1), "data_reminder": 1, "status_check_reminder": 1,
         "assignment_reminder": 1}
    )  # fmt: skip

    mark = len(sink.messages)
    correct(mail_rt, world, NEW, at(date(2026, 4, 2), 10))  # a Thursday before Easter
    assert kinds_to(sink, NEW, mark) == Counter(dict.fromkeys(FRESH, 1))
    assert fresh_links_work(sink, NEW, mark)
    # Not before the new link had two working days (Good Friday and Easter Monday are not).
    sweep_and_send(mail_rt, at(date(2026, 4, 7)))
    assert kinds_to(sink, NEW, mark) == Counter(dict.fromkeys(FRESH, 1))
    sweep_and_send(mail_rt, at(date(2026, 4, 10)))
    sweep_and_send(mail_rt, at(date(2026, 4, 10), 15))
    restarted = {"data_reminder": 1, "status_check_reminder": 1, "assignment_reminder": 1}
    assert kinds_to(sink, NEW, mark) == Counter({**dict.fromkeys(FRESH, 1), **restarted})
    for day in (12, 15, 22):
        sweep_and_send(mail_rt, at(date(2026, 4, day)))
    sent_escalations = escalations(mail_rt)
    assert set(sent_escalations) == set(ESCALATIONS)
    assert kinds_to(sink, OLD, mark) == Counter()

    mark = len(sink.messages)
    correct(mail_rt, world, NEWER, at(date(2026, 4, 23), 10))
    assert kinds_to(sink, NEWER, mark) == Counter(dict.fromkeys(FRESH, 1))
    assert fresh_links_work(sink, NEWER, mark)
    for day in (29, 30):  # after the two working days, before the escalation of 6 May
        sweep_and_send(mail_rt, at(date(2026, 4, day)))
    # The ladder starts again; a sweep finding several reminders due sends only the latest.
    finals = {"data_final_reminder": 1, "status_check_final_reminder": 1}
    assert kinds_to(sink, NEWER, mark) == Counter(
        {**dict.fromkeys(FRESH, 1), **finals, "assignment_final_reminder": 1}
    )
    assert escalations(mail_rt) == sent_escalations
    assert kinds_to(sink, NEW, mark) == Counter()
    assert kinds_to(sink, OLD, mark) == Counter()
