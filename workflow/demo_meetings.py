"""The demo's meetings: a past meeting of the Steuerungsgruppe with its minutes and decisions,
and an upcoming one with its proposed agenda stored.

The past meeting is told on the days it happened (a clock set back): the Erstgespräch of one
measure, its department's proposal to drop it (through the form's service), the meeting with
attendance, minutes per item and four decisions (the Beschluss that drops the measure, an
Empfehlung to the council, an Auftrag answered through its form's service, one still open).
It is told once, for a Steuerungsgruppe without meetings; every later run only adds an
upcoming meeting when none is ahead. Never commits: ``demo.prepare`` owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.bodies.models import Body, BodyKind, Meeting
from workflow.catalogue.models import Contact, Measure, Organisation
from workflow.clock import FrozenClock
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.cycles.service import open_cycle, record_interview
from workflow.deadlines import BusinessCalendar
from workflow.decisions import assignment_answers
from workflow.decisions.models import Addressee, DecisionKind, DecisionStatus, ResolutionAction
from workflow.decisions.service import record_decision
from workflow.demo_data import STEERING_GROUP
from workflow.forms import scope as form_scope
from workflow.forms.submit import submit
from workflow.forms.tokens import FormToken, Phase, TokenState, issue_token, look_up
from workflow.machine import State
from workflow.meetings.agenda import AgendaEntry, AgendaLike, propose_agenda, set_agenda
from workflow.meetings.models import AgendaItem, AgendaKind
from workflow.meetings.queries import members_on_the_day, next_meeting
from workflow.meetings.record import set_attendance, set_minutes
from workflow.meetings.service import add_meeting

ACTOR = "demo"
STARTS_AT = "10:00"
PLACE = "Rathaus, Sitzungssaal 2"
REPORT = "Bericht der Koordinierungsstelle zum Stand der Erstgespräche"
UPCOMING_REPORT = "Bericht der Koordinierungsstelle"
OTHER = "Verschiedenes"
DROP_REASON = "Das Land finanziert das Angebot ab dem kommenden Jahr selbst."
MINUTES = {
    REPORT: (
        "Die Koordinierungsstelle berichtet über den Stand der Erstgespräche; ein Kurzbericht "
        "an den Rat wird vorbereitet."
    ),
    AgendaKind.DROP_PROPOSAL.value: (
        "Der Fachbereich schlägt vor, die Maßnahme zu streichen, weil das Land das Angebot "
        "künftig selbst finanziert. Die Steuerungsgruppe folgt dem Vorschlag."
    ),
    AgendaKind.INDICATOR_OFF_TRACK.value: "Die Entwicklung der Kennzahl wird erörtert.",
    AgendaKind.OTHER.value: "Keine weiteren Punkte.",
}
ASSIGNED = (
    # text, days from today to the due date, the contact's answer (None: still open)
    (
        "Bis zur nächsten Sitzung schriftlich über die Auslastung der Angebote berichten.",
        7,
        "Der Bericht liegt der Koordinierungsstelle vor; die Angebote sind gut ausgelastet.",
    ),
    ("Den Entwurf der Kennzahlen für das Integrationsmonitoring vorlegen.", 28, None),
)
# Days before today on which the past meeting's story happened.
OPENED, INTERVIEWED, PROPOSED, AGENDA_SET, MEETING, LINK_SENT, ANSWERED = 35, 28, 24, 21, 14, 10, 3
UPCOMING = 10  # days ahead: its invitations go out while the demo runs


@dataclass
class _Story:
    """A clock set back to the days the past meeting's story happened on."""

    org: Organisation
    cal: BusinessCalendar
    today: date
    clock: FrozenClock

    def at(self, days_before: int, hour: int = 9) -> FrozenClock:
        self.clock.set(self.cal.at_local(self.today - timedelta(days=days_before), hour))
        return self.clock


def steering_group(session: Session, organisation_id: int) -> Body | None:
    """The demo's Steuerungsgruppe, or the organisation's first one."""
    bodies = session.scalars(
        select(Body)
        .where(Body.organisation_id == organisation_id, Body.kind == BodyKind.STEERING_GROUP.value)
        .order_by(Body.id)
    ).all()
    return next((b for b in bodies if b.name == STEERING_GROUP), bodies[0] if bodies else None)


def ensure_meetings(*, session: Session, org: Organisation, now: datetime) -> None:
    """The past meeting's story, told once, and an upcoming meeting if none is ahead."""
    body = steering_group(session, org.id)
    if body is None:
        return
    cal = calendar_of(org)
    today = cal.local_date(now)
    if session.scalars(select(Meeting.id).where(Meeting.body_id == body.id)).first() is None:
        story = _Story(org, cal, today, FrozenClock(now))
        _past_meeting(session, story, body)
    if next_meeting(session, body_id=body.id, today=today) is None:
        held_on = _working_day(cal, today + timedelta(days=UPCOMING), 1)
        meeting = _meeting(session, body, held_on, now)
        _agenda(session, meeting, now, [UPCOMING_REPORT, OTHER])


def _working_day(cal: BusinessCalendar, day: date, step: int) -> date:
    while not cal.is_working_day(day):
        day += timedelta(days=step)
    return day


def _meeting(session: Session, body: Body, held_on: date, now: datetime) -> Meeting:
    return add_meeting(
        session=session,
        body_id=body.id,
        held_on=held_on,
        starts_at=STARTS_AT,
        place=PLACE,
        now=now,
    )


def _agenda(session: Session, meeting: Meeting, now: datetime, own: list[str]) -> list[AgendaItem]:
    """The proposal from the data, then the coordinator's own items."""
    entries: list[AgendaLike] = [
        *propose_agenda(session=session, meeting_id=meeting.id, now=now),
        *(AgendaEntry(title=title) for title in own),
    ]
    return set_agenda(session=session, meeting_id=meeting.id, items=entries, now=now)


def _past_meeting(session: Session, story: _Story, body: Body) -> None:
    org, today = story.org, story.today
    opened = story.at(OPENED)
    has_cycle = session.scalars(
        select(Cycle.id).where(Cycle.organisation_id == org.id, Cycle.year == today.year)
    ).first()
    if has_cycle is None:
        open_cycle(
            session=session, clock=opened, organisation_id=org.id, year=today.year, actor=ACTOR
        )
    held_on = _working_day(story.cal, today - timedelta(days=MEETING), -1)
    meeting = _meeting(session, body, held_on, opened.now())
    proposed = _drop_proposal(session, story)
    agenda = _agenda(session, meeting, story.at(AGENDA_SET).now(), [REPORT, OTHER])
    clock = story.at((today - held_on).days, 13)
    members = members_on_the_day(session, meeting)
    # The last member sent apologies: the minutes show one absence.
    attended = {m.id: m.id != members[-1].id for m in members}
    set_attendance(session=session, meeting=meeting, today=held_on, members=attended)
    minutes = {i.id: MINUTES.get(i.title) or MINUTES.get(i.kind, "") for i in agenda}
    set_minutes(
        session=session,
        meeting=meeting,
        today=held_on,
        items={item_id: text for item_id, text in minutes.items() if text},
        notes=f"Beginn {STARTS_AT} Uhr, Ende 11:45 Uhr.",
    )
    report = next(i for i in agenda if i.title == REPORT)
    drop_item = next((i for i in agenda if proposed and i.measure_cycle_id == proposed), None)
    if drop_item is not None:
        record_decision(
            session=session,
            clock=clock,
            meeting_id=meeting.id,
            kind=DecisionKind.RESOLUTION.value,
            text="Die Maßnahme wird gestrichen, wie vom Fachbereich vorgeschlagen.",
            agenda_item_id=drop_item.id,
            measure_cycle_id=proposed,
            action=ResolutionAction.DROP_MEASURE.value,
            actor=ACTOR,
        )
    record_decision(
        session=session,
        clock=clock,
        meeting_id=meeting.id,
        kind=DecisionKind.RECOMMENDATION.value,
        text="Der Rat möge den Kurzbericht zum Stand der Erstgespräche zur Kenntnis nehmen.",
        agenda_item_id=report.id,
        addressee=Addressee.COUNCIL.value,
        actor=ACTOR,
    )
    _assignments(session, story, meeting, report, excluded=proposed)


def _drop_proposal(session: Session, story: _Story) -> int | None:
    """One measure's Erstgespräch, then its department proposes, in its form, to drop it."""
    mc = session.scalars(
        select(MeasureCycle)
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .join(Cycle, Cycle.id == MeasureCycle.cycle_id)
        .where(
            MeasureCycle.organisation_id == story.org.id,
            Cycle.year == story.today.year,
            MeasureCycle.state == State.INITIAL_INTERVIEW.value,
            Measure.contact_id.is_not(None),
        )
        .order_by(Measure.code.desc())
    ).first()
    if mc is None:
        return None
    clock = story.at(INTERVIEWED)
    record_interview(
        session=session,
        clock=clock,
        measure_cycle_id=mc.id,
        expected_version=None,
        actor=ACTOR,
        decision="keep",
        held_on=story.cal.local_date(clock.now()),
        notes="Das Land plant, das Angebot selbst zu finanzieren.",
        implementation_status="in_progress",
    )
    clock = story.at(PROPOSED, 10)
    contact_id = mc.measure.contact_id
    assert contact_id is not None
    token = _link(session, story, contact_id, mc.cycle_id, Phase.TARGET_AGREEMENT)
    outcome = submit(
        session=session,
        clock=clock,
        scope=form_scope.scope_of(session, token),
        posted={mc.id: {"decision": "drop_proposed", "reason": DROP_REASON}},
        only={mc.id},
    )
    assert outcome.ok and outcome.flagged == [mc.id], outcome
    return mc.id


def _link(
    session: Session, story: _Story, contact_id: int, cycle_id: int, phase: Phase
) -> FormToken:
    """The form link an email gave the contact, as the contact opens it now."""
    now = story.clock.now()
    raw = issue_token(
        session=session,
        organisation_id=story.org.id,
        contact_id=contact_id,
        cycle_id=cycle_id,
        phase=phase,
        expires_at=now + timedelta(days=60),
        now=now,
        issued_by=f"demo:{phase.value}",
    )
    state, token = look_up(session, raw, now)
    assert state is TokenState.VALID and token is not None
    return token


def _assignments(
    session: Session, story: _Story, meeting: Meeting, item: AgendaItem, *, excluded: int | None
) -> None:
    """Two Aufträge to two contacts: one answered through its form, one still open."""
    dropped = session.get(MeasureCycle, excluded) if excluded else None
    skip = dropped.measure.contact_id if dropped else None
    contacts = [
        c
        for c in session.scalars(
            select(Contact)
            .join(Measure, Measure.contact_id == Contact.id)
            .where(Contact.organisation_id == story.org.id, Contact.is_head.is_(False))
            .order_by(Contact.id)
            .distinct()
        )
        if c.id != skip
    ]
    held = story.clock.now()
    for (text, due_in, answer), contact in zip(ASSIGNED, contacts, strict=False):
        story.clock.set(held)
        decision = record_decision(
            session=session,
            clock=story.clock,
            meeting_id=meeting.id,
            kind=DecisionKind.ASSIGNMENT.value,
            text=text,
            agenda_item_id=item.id,
            contact_id=contact.id,
            due_on=story.today + timedelta(days=due_in),
            actor=ACTOR,
        )
        if answer is None:
            continue
        cycle_id = session.scalars(
            select(Cycle.id)
            .where(Cycle.organisation_id == story.org.id)
            .order_by(Cycle.year.desc())
        ).first()
        assert cycle_id is not None
        story.at(LINK_SENT)
        token = _link(session, story, contact.id, cycle_id, Phase.ASSIGNMENT)
        clock = story.at(ANSWERED, 11)
        outcome = assignment_answers.answer(
            session=session,
            clock=clock,
            scope=assignment_answers.scope_of(session, token),
            posted={decision.id: {"answer": answer, "status": DecisionStatus.DONE.value}},
            only={decision.id},
        )
        assert outcome.answered == [decision.id], outcome
