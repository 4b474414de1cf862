"""Status checks and milestones in ``zielflow simulate``: the contacts answer, the coordinator asks.

Each contact's part of a status check (a ``StatusCheckRequest``) gets one seeded plan when
the simulation first sees it: answered before its due date, late (after the reminders) or
never. An answer goes through the form's own service (``record_answers``) with a Stand per
measure drawn from the seed; a delayed measure moves its earliest open milestone. Each
milestone that falls due gets a plan too: confirmed a few days after its date, moved once
to a later date (then confirmed or left), or never answered; through the milestone
services (``confirm``/``move``). Once per simulated year the coordinator opens a status
check by hand for one Handlungsfeld, besides the scheduled ones the sweep opens.

The summary counts from the database at the end:

- ``status_checks.opened``: contacts' parts of all status checks (manual and scheduled);
- ``status_checks.answered``: parts whose contact answered every measure;
- ``status_checks.overdue_at_end``: parts still unanswered past their due date in a check
  that is not closed;
- ``milestones.due``: milestones (not withdrawn) whose agreed date fell before the end;
- ``milestones.confirmed``: milestones reported reached;
- ``milestones.moved``: milestones moved to a new date at least once;
- ``milestones.missed``: measures whose earliest open milestone is more than the policy's
  grace period past its date at the end (the pipeline's "verzögert" rule).

Seeded from streams of its own, so the departments' other behaviour for a seed stays as it
was. Never touches the clock; one transaction per day for each kind of answer, with a
savepoint per answer so that a refused one leaves the others standing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow import runtime
from workflow.catalogue.models import Field, Measure
from workflow.clock import Clock
from workflow.cycles.models import MeasureCycle, TargetAgreement
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar
from workflow.machine import State
from workflow.milestones.answers import MilestoneRefused, confirm, move
from workflow.milestones.models import Milestone, MilestoneStatus
from workflow.milestones.queries import missed, open_milestones
from workflow.milestones.sync import sync_from_agreement
from workflow.status_checks.answers import (
    AnswersRefused,
    ItemAnswer,
    MilestoneAnswer,
    record_answers,
)
from workflow.status_checks.errors import StatusCheckRefused
from workflow.status_checks.models import Stand, StatusCheck, StatusCheckItem, StatusCheckRequest
from workflow.status_checks.selection import Selection
from workflow.status_checks.service import open_status_check

# When a contact answers a status check: on time, late or never.
ON_TIME, LATE, NEVER = "on_time", "late", "never"
WHEN: tuple[tuple[str, int], ...] = ((ON_TIME, 55), (LATE, 30), (NEVER, 15))
STAND: tuple[tuple[Stand, int], ...] = (
    (Stand.ON_TRACK, 55),
    (Stand.DELAYED, 25),
    (Stand.AT_RISK, 12),
    (Stand.DONE, 8),
)
NOTES = {
    Stand.ON_TRACK: "Die Umsetzung läuft wie vereinbart.",
    Stand.DELAYED: "Die Umsetzung verzögert sich wegen einer unbesetzten Stelle.",
    Stand.AT_RISK: "Die Finanzierung ist für das zweite Halbjahr noch nicht gesichert.",
    Stand.DONE: "Die Maßnahme ist umgesetzt.",
}
# "Meilenstein erreicht?": confirmed, moved once to a later date, or never answered.
CONFIRM, MOVE = "confirm", "move"
MILESTONE_FIRST: tuple[tuple[str, int], ...] = ((CONFIRM, 70), (MOVE, 20), (NEVER, 10))
MILESTONE_AFTER_MOVE: tuple[tuple[str, int], ...] = ((CONFIRM, 75), (NEVER, 25))
MILESTONE_TEXTS = ("Konzept mit den Trägern abgestimmt", "Angebot gestartet")
# The day of each simulated year (from the start) on which the coordinator asks by hand.
MANUAL_DAY = 250
MANUAL_DUE_DAYS = 21


@dataclass(frozen=True)
class MilestonePlan:
    what: str
    on: date


@dataclass
class StatusPeople:
    """The seeded decisions of the contacts and the coordinator about status and milestones."""

    rng: random.Random
    # The agreements' milestone dates draw from a stream of their own.
    agreements: random.Random
    start: date
    actor: str
    answers: dict[int, date | None] = field(default_factory=dict)  # request id: answer day
    milestones: dict[tuple[int, int], MilestonePlan] = field(default_factory=dict)
    asked_years: set[int] = field(default_factory=set)


def start(seed: int, first_day: date, *, actor: str) -> StatusPeople:
    return StatusPeople(
        random.Random(f"status-checks:{seed}"),
        random.Random(f"milestones:{seed}"),
        first_day,
        actor,
    )


def agreement_milestones(people: StatusPeople, *, agreed_on: date) -> list[dict[str, str]]:
    """Two milestones within the twelve months of Umsetzung, as the form stores them."""
    first = agreed_on + timedelta(days=people.agreements.randint(60, 150))
    second = first + timedelta(days=people.agreements.randint(60, 150))
    return [
        {"text": text, "date": day.isoformat()}
        for text, day in zip(MILESTONE_TEXTS, (first, second), strict=True)
    ]


def sync_milestones(
    session: Session, *, measure_cycle_id: int, agreement: TargetAgreement, now: datetime
) -> None:
    """The agreement's milestones as rows once the stay is in Umsetzung, as after the
    agreement form; running it twice changes nothing."""
    mc = session.get(MeasureCycle, measure_cycle_id)
    if mc is not None and mc.state == State.IMPLEMENTATION.value:
        sync_from_agreement(session=session, measure_cycle=mc, agreement=agreement, now=now)


def act(
    rt: runtime.Runtime,
    clock: Clock,
    people: StatusPeople,
    cal: BusinessCalendar,
    day: date,
    organisation_id: int,
) -> None:
    """Today's manual status check if it is the day, then every answer that is due today."""
    _ask_by_hand(rt, clock, people, day, organisation_id)
    _answer_requests(rt, clock, people, cal, day, organisation_id)
    _answer_milestones(rt, clock, people, day, organisation_id)


def _ask_by_hand(
    rt: runtime.Runtime, clock: Clock, people: StatusPeople, day: date, organisation_id: int
) -> None:
    year = (day - people.start).days // 365
    if year in people.asked_years or (day - people.start).days - 365 * year < MANUAL_DAY:
        return
    people.asked_years.add(year)
    with rt.sessions() as s:
        codes = sorted(
            s.scalars(select(Field.code).where(Field.organisation_id == organisation_id))
        )
    # One Handlungsfeld a year, in turn; everything if the catalogue has none.
    selection = Selection(field=codes[year % len(codes)]) if codes else Selection()
    try:
        with unit_of_work(rt.sessions) as s:
            open_status_check(
                session=s,
                clock=clock,
                organisation_id=organisation_id,
                selection=selection,
                due_on=day + timedelta(days=MANUAL_DUE_DAYS),
                actor=people.actor,
                title=f"Sachstandsabfrage {day.year}",
            )
    except StatusCheckRefused:
        pass  # nothing to ask about this year (e.g. no measure with a contact in the field)


def _answer_requests(
    rt: runtime.Runtime,
    clock: Clock,
    people: StatusPeople,
    cal: BusinessCalendar,
    day: date,
    organisation_id: int,
) -> None:
    with rt.sessions() as s:
        waiting = s.execute(
            select(StatusCheckRequest.id, StatusCheckRequest.opened_at, StatusCheckRequest.due_on)
            .join(StatusCheck, StatusCheck.id == StatusCheckRequest.status_check_id)
            .where(
                StatusCheckRequest.organisation_id == organisation_id,
                StatusCheckRequest.answered_at.is_(None),
                StatusCheck.closed_at.is_(None),
            )
            .order_by(StatusCheckRequest.id)
        ).all()
    if not waiting:
        return
    # One transaction for the day's answers, each drawn and written in the order of the
    # parts, so the stream of draws stays as it was with a transaction per answer.
    with unit_of_work(rt.sessions) as s:
        for request_id, opened_at, due_on in waiting:
            if request_id not in people.answers:
                opened_on = cal.local_date(opened_at)
                people.answers[request_id] = _answer_day(people.rng, opened_on, due_on)
            on = people.answers[request_id]
            if on is None or on > day:
                continue
            people.answers[request_id] = None  # one answer per part; corrections are not modelled
            try:
                # A savepoint per answer: a refused one leaves the others of the day standing.
                with s.begin_nested():
                    _answer(s, clock, people.rng, request_id, day)
            except (StatusCheckRefused, AnswersRefused):
                pass  # closed meanwhile, or an answer the form would refuse: the contact gives up


def _answer_day(rng: random.Random, opened_on: date, due_on: date) -> date | None:
    names, weights = zip(*WHEN, strict=True)
    when = rng.choices(names, weights)[0]
    if when == ON_TIME:
        return opened_on + timedelta(days=rng.randint(1, max(1, (due_on - opened_on).days - 1)))
    if when == LATE:
        return due_on + timedelta(days=rng.randint(3, 25))
    return None


def _answer(session: Session, clock: Clock, rng: random.Random, request_id: int, day: date) -> None:
    request = session.get(StatusCheckRequest, request_id)
    if request is None:
        return
    items = session.scalars(
        select(StatusCheckItem)
        .where(StatusCheckItem.request_id == request_id)
        .order_by(StatusCheckItem.id)
    ).all()
    stays = [i.measure_cycle_id for i in items if i.measure_cycle_id is not None]
    milestones = open_milestones(session=session, measure_cycle_ids=stays)
    names, weights = zip(*STAND, strict=True)
    answers: dict[int, ItemAnswer] = {}
    for item in items:
        stand = rng.choices(names, weights)[0]
        moved: list[MilestoneAnswer] = []
        ahead = sorted(milestones.get(item.measure_cycle_id or 0, []), key=lambda m: m.due_on)
        if stand is Stand.DELAYED and ahead:
            earliest = ahead[0]
            new_date = max(earliest.due_on, day) + timedelta(days=rng.randint(21, 60))
            moved.append(MilestoneAnswer(earliest.id, reached=False, new_date=new_date))
        answers[item.id] = ItemAnswer(stand=stand, note=NOTES[stand], milestones=moved)
    record_answers(
        session=session,
        clock=clock,
        request_id=request_id,
        answers=answers,
        by=f"contact:{request.contact_id}",
    )


def _answer_milestones(
    rt: runtime.Runtime, clock: Clock, people: StatusPeople, day: date, organisation_id: int
) -> None:
    """The contacts answer "Meilenstein erreicht?" for milestones whose date has come, while
    their measure is in Umsetzung."""
    with rt.sessions() as s:
        due = s.execute(
            select(Milestone.id, Milestone.moves, Milestone.due_on, Measure.contact_id)
            .join(Measure, Measure.id == Milestone.measure_id)
            .join(MeasureCycle, MeasureCycle.id == Milestone.measure_cycle_id)
            .where(
                Milestone.organisation_id == organisation_id,
                Milestone.status == MilestoneStatus.OPEN.value,
                Milestone.due_on <= day,
                MeasureCycle.state == State.IMPLEMENTATION.value,
            )
            .order_by(Milestone.id)
        ).all()
    answers: list[tuple[int, str, date | None]] = []  # milestone, contact, new date if moved
    for milestone_id, moves, due_on, contact_id in due:
        key = (milestone_id, moves)
        if key not in people.milestones:
            options = MILESTONE_FIRST if moves == 0 else MILESTONE_AFTER_MOVE
            names, weights = zip(*options, strict=True)
            what = people.rng.choices(names, weights)[0]
            people.milestones[key] = MilestonePlan(
                what, due_on + timedelta(days=people.rng.randint(0, 6))
            )
        plan = people.milestones[key]
        if plan.what == NEVER or plan.on > day:
            continue
        people.milestones[key] = MilestonePlan(NEVER, plan.on)  # answered once
        later = day + timedelta(days=people.rng.randint(21, 60)) if plan.what == MOVE else None
        answers.append((milestone_id, f"contact:{contact_id}", later))
    if not answers:
        return
    with unit_of_work(rt.sessions) as s:
        for milestone_id, by, later in answers:
            try:
                # A savepoint per answer: a refused one leaves the others of the day standing.
                with s.begin_nested():
                    if later is None:
                        confirm(session=s, clock=clock, milestone_id=milestone_id, by=by)
                    else:
                        move(
                            session=s, clock=clock, milestone_id=milestone_id, new_date=later, by=by
                        )
            except MilestoneRefused:
                pass  # answered meanwhile, or a date the link refuses: the contact lets it be


def summary(session: Session, *, organisation_id: int, today: date, end: date) -> dict[str, Any]:
    """What the module docstring lists, counted from the database."""

    def count(model: Any, *where: Any) -> int:
        return int(
            session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.organisation_id == organisation_id, *where)
            )
            or 0
        )

    overdue = int(
        session.scalar(
            select(func.count())
            .select_from(StatusCheckRequest)
            .join(StatusCheck, StatusCheck.id == StatusCheckRequest.status_check_id)
            .where(
                StatusCheckRequest.organisation_id == organisation_id,
                StatusCheckRequest.answered_at.is_(None),
                StatusCheckRequest.due_on < today,
                StatusCheck.closed_at.is_(None),
            )
        )
        or 0
    )
    kept = Milestone.status != MilestoneStatus.WITHDRAWN.value
    return {
        "status_checks": {
            "opened": count(StatusCheckRequest),
            "answered": count(StatusCheckRequest, StatusCheckRequest.answered_at.is_not(None)),
            "overdue_at_end": overdue,
        },
        "milestones": {
            "due": count(Milestone, kept, Milestone.planned_on < end),
            "confirmed": count(Milestone, Milestone.status == MilestoneStatus.REACHED.value),
            "moved": count(Milestone, kept, Milestone.moves > 0),
            "missed": len(missed(session=session, organisation_id=organisation_id, today=today)),
        },
    }
