"""What a simulated body does on its meeting day in ``zielflow simulate``.

The coordinator brings the agenda up to date (the proposal, then the coordinator's own
items); the body records attendance and minutes per item, and decides: a Beschluss on every
drop proposal (drop or keep, seeded), the reviews still waiting accepted, its open
Empfehlungen followed up, now and then a new Empfehlung, and a few Aufträge to the contacts
of the measures before it, whose answers are planned in ``Answers``. Everything goes through
the services the pages use, one transaction per decision. Never touches the clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import runtime
from workflow.bodies.models import Body, Meeting
from workflow.catalogue.models import Goal, Measure, MeasureStatus
from workflow.clock import Clock
from workflow.cycles.models import MeasureCycle, TargetAgreement
from workflow.db import unit_of_work
from workflow.decisions.models import (
    Addressee,
    Decision,
    DecisionKind,
    DecisionStatus,
    ResolutionAction,
)
from workflow.decisions.service import record_decision, set_status
from workflow.machine import Event, State
from workflow.meetings.agenda import (
    MAX_ITEMS,
    AgendaEntry,
    AgendaLike,
    propose_agenda,
    set_agenda,
)
from workflow.meetings.models import AgendaItem, AgendaKind
from workflow.meetings.queries import agenda_of, guests_of, members_on_the_day
from workflow.meetings.record import set_attendance, set_minutes
from workflow.simulate_assignments import Answers
from workflow.transitions import move

RECORDER = "user:simulation-coordinator"
STARTS_AT = "10:00"  # the body acts at 11:00, in the meeting
REPORT = "Bericht der Koordinierungsstelle"
DROP_SHARE = 0.7  # of drop proposals the body follows
PRESENT_SHARE = 0.85
RECOMMENDATION_SHARE = {"advisory_board": 0.8}  # other kinds: DEFAULT_RECOMMENDATION
DEFAULT_RECOMMENDATION = 0.3
NOTED_SHARE = 0.6  # open Empfehlungen the administration reports done at a meeting
ASSIGNMENT_COUNTS = (0, 1, 1, 2, 3)
ASSIGNMENT_DAYS = 42
MINUTES = {
    AgendaKind.FIELD_REPORT.value: "Die Fachbereichsleitung berichtet über den Stand der Umsetzung.",
    AgendaKind.DROP_PROPOSAL.value: "Der Vorschlag des Fachbereichs wird beraten.",
    AgendaKind.REVIEW_ACCEPTANCE.value: "Der Review wird vorgestellt.",
    AgendaKind.ESCALATION.value: "Die Verzögerung wird erörtert.",
    AgendaKind.INDICATOR_OFF_TRACK.value: "Die Entwicklung der Kennzahl wird erörtert.",
    AgendaKind.OPEN_DECISION.value: "Der Stand wird berichtet.",
    AgendaKind.OTHER.value: "Die Koordinierungsstelle berichtet.",
}


def set_current_agenda(s: Session, clock: Clock, meeting: Meeting) -> list[AgendaItem]:
    """The proposal, then the coordinator's own items (a report at least)."""
    own: list[AgendaEntry] = [
        AgendaEntry(title=i.title, item_id=i.id)
        for i in agenda_of(s, meeting.id)
        if i.kind == AgendaKind.OTHER.value
    ] or [AgendaEntry(title=REPORT)]
    proposal = propose_agenda(session=s, meeting_id=meeting.id, now=clock.now())
    items: list[AgendaLike] = [*proposal[: MAX_ITEMS - len(own)], *own]
    return set_agenda(session=s, meeting_id=meeting.id, items=items, now=clock.now())


@dataclass(frozen=True)
class _Item:
    id: int
    kind: str
    measure_cycle_id: int | None
    decision_id: int | None
    field_id: int | None


def hold(
    rt: runtime.Runtime,
    clock: Clock,
    rng: random.Random,
    answers: Answers,
    meeting_id: int,
    day: date,
) -> None:
    """The meeting of ``day``: agenda brought up to date, attendance, minutes, decisions."""
    with unit_of_work(rt.sessions) as s:
        meeting = s.get(Meeting, meeting_id)
        assert meeting is not None
        body = s.get(Body, meeting.body_id)
        assert body is not None  # FK
        body_kind = body.kind
        agenda = [
            _Item(i.id, i.kind, i.measure_cycle_id, i.decision_id, i.field_id)
            for i in set_current_agenda(s, clock, meeting)
        ]
        set_attendance(
            session=s,
            meeting=meeting,
            today=day,
            members={m.id: rng.random() < PRESENT_SHARE for m in members_on_the_day(s, meeting)},
            guests={g.id: rng.random() < PRESENT_SHARE for g in guests_of(s, meeting.id)},
        )
        set_minutes(
            session=s,
            meeting=meeting,
            today=day,
            items={i.id: MINUTES.get(i.kind, MINUTES[AgendaKind.OTHER.value]) for i in agenda},
            notes=f"Beginn {STARTS_AT} Uhr. Simulierte Sitzung.",
        )
    for item in agenda:
        if item.kind in (AgendaKind.DROP_PROPOSAL.value, AgendaKind.REVIEW_ACCEPTANCE.value):
            _on_measure(rt, clock, rng, meeting_id, item)
        elif item.kind == AgendaKind.OPEN_DECISION.value and item.decision_id is not None:
            _follow_up(rt, clock, rng, item.decision_id)
    if rng.random() < RECOMMENDATION_SHARE.get(body_kind, DEFAULT_RECOMMENDATION):
        _recommend(rt, clock, rng, meeting_id, agenda)
    _assign(rt, clock, rng, answers, meeting_id, agenda, day)


def _decide(rt: runtime.Runtime, clock: Clock, meeting_id: int, **what: Any) -> int:
    with unit_of_work(rt.sessions) as s:
        decision = record_decision(
            session=s, clock=clock, meeting_id=meeting_id, actor=RECORDER, **what
        )
        return decision.id


def _on_measure(
    rt: runtime.Runtime, clock: Clock, rng: random.Random, meeting_id: int, item: _Item
) -> None:
    """A Beschluss on a drop proposal (drop or keep) or on a review that still waits."""
    with rt.sessions() as s:
        mc = s.get(MeasureCycle, item.measure_cycle_id)
        state = mc.state if mc else ""
    on = {
        "kind": DecisionKind.RESOLUTION.value,
        "agenda_item_id": item.id,
        "measure_cycle_id": item.measure_cycle_id,
    }
    if item.kind == AgendaKind.REVIEW_ACCEPTANCE.value:
        if state == State.ASSESSMENT.value:
            accept = ResolutionAction.ACCEPT_REVIEW.value
            _decide(rt, clock, meeting_id, text="Der Review wird angenommen.", action=accept, **on)
        return
    if state not in (State.TARGET_AGREEMENT.value, State.ASSESSMENT.value, State.REPLANNING.value):
        return  # moved on since the agenda was set
    if rng.random() < DROP_SHARE:
        text = "Die Maßnahme wird gestrichen, wie vom Fachbereich vorgeschlagen."
        _decide(rt, clock, meeting_id, text=text, action=ResolutionAction.DROP_MEASURE.value, **on)
    elif state == State.ASSESSMENT.value:
        text = "Die Maßnahme wird fortgeführt; die Rückmeldung zur Zielerreichung wird angenommen."
        _decide(rt, clock, meeting_id, text=text, action=ResolutionAction.ACCEPT_REVIEW.value, **on)
    else:
        decision_id = _decide(rt, clock, meeting_id, text="Die Maßnahme wird fortgeführt.", **on)
        with unit_of_work(rt.sessions) as s:
            if state == State.TARGET_AGREEMENT.value and item.measure_cycle_id is not None:
                _agree_after_all(s, clock, item.measure_cycle_id)
            set_status(
                session=s,
                decision_id=decision_id,
                status=DecisionStatus.DONE.value,
                actor=RECORDER,
                now=clock.now(),
            )


def _agree_after_all(s: Session, clock: Clock, mc_id: int) -> None:
    """The body kept the measure: the department agrees to implement it after all."""
    mc = s.get(MeasureCycle, mc_id)
    assert mc is not None
    agreement = s.scalars(
        select(TargetAgreement).where(TargetAgreement.measure_cycle_id == mc_id)
    ).one()
    actor = f"contact:{mc.measure.contact_id}"
    agreement.decision, agreement.reason = "implement", ""
    agreement.submitted_at, agreement.submitted_by = clock.now(), actor
    move(
        session=s,
        clock=clock,
        measure_cycle_id=mc_id,
        event=Event.SUBMIT_AGREEMENT,
        expected_version=None,
        actor=actor,
        payload={},
    )


def _follow_up(rt: runtime.Runtime, clock: Clock, rng: random.Random, decision_id: int) -> None:
    """An Empfehlung carried forward: the administration reports it dealt with, or not yet."""
    with unit_of_work(rt.sessions) as s:
        decision = s.get(Decision, decision_id)
        if decision is None or decision.kind != DecisionKind.RECOMMENDATION.value:
            return
        if decision.status != DecisionStatus.DONE.value and rng.random() < NOTED_SHARE:
            set_status(
                session=s,
                decision_id=decision_id,
                status=DecisionStatus.DONE.value,
                actor=RECORDER,
                now=clock.now(),
            )


def _recommend(
    rt: runtime.Runtime, clock: Clock, rng: random.Random, meeting_id: int, agenda: list[_Item]
) -> None:
    reports = [i for i in agenda if i.kind == AgendaKind.FIELD_REPORT.value] or agenda
    item = rng.choice(reports) if reports else None
    addressee = rng.choice([Addressee.COUNCIL.value, Addressee.ADMINISTRATION.value])
    _decide(
        rt,
        clock,
        meeting_id,
        kind=DecisionKind.RECOMMENDATION.value,
        text="Das Gremium empfiehlt, die Angebote bei den Zugewanderten bekannter zu machen.",
        addressee=addressee,
        agenda_item_id=item.id if item else None,
    )


def _assign(
    rt: runtime.Runtime,
    clock: Clock,
    rng: random.Random,
    answers: Answers,
    meeting_id: int,
    agenda: list[_Item],
    day: date,
) -> None:
    """A few Aufträge to the contacts of the measures the agenda is about."""
    with rt.sessions() as s:
        candidates = _candidates(s, agenda)
    count = min(rng.choice(ASSIGNMENT_COUNTS), len(candidates))
    for item_id, measure_id, code, contact_id in rng.sample(candidates, count):
        due_on = day + timedelta(days=ASSIGNMENT_DAYS)
        decision_id = _decide(
            rt,
            clock,
            meeting_id,
            kind=DecisionKind.ASSIGNMENT.value,
            text=f"Bitte berichten Sie schriftlich über den Stand der Maßnahme {code}.",
            agenda_item_id=item_id,
            measure_id=measure_id,
            contact_id=contact_id,
            due_on=due_on,
        )
        answers.plan(decision_id, given_on=day, due_on=due_on)


def _candidates(s: Session, agenda: list[_Item]) -> list[tuple[int | None, int, str, int]]:
    """(agenda item, measure, code, contact) for each measure an item names or a field
    report covers, once per contact, in agenda order."""
    out: list[tuple[int | None, int, str, int]] = []
    seen: set[int] = set()
    for item in agenda:
        query = select(Measure.id, Measure.code, Measure.contact_id).where(
            Measure.contact_id.is_not(None), Measure.status != MeasureStatus.DROPPED.value
        )
        if item.measure_cycle_id is not None:
            query = query.join(MeasureCycle, MeasureCycle.measure_id == Measure.id).where(
                MeasureCycle.id == item.measure_cycle_id
            )
        elif item.field_id is not None:
            query = query.join(Goal, Goal.id == Measure.goal_id).where(
                Goal.field_id == item.field_id
            )
        else:
            continue
        # Columns, not Measure objects: a field report covers a whole Handlungsfeld.
        for measure_id, code, contact_id in s.execute(query.order_by(Measure.code)):
            if contact_id is not None and contact_id not in seen:
                seen.add(contact_id)
                out.append((item.id, measure_id, code, contact_id))
    return out
