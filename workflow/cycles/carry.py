"""Moving a measure into a later cycle: the one step ``open_cycle`` and the sweep share.

Owns ``place`` (a measure's new stay in a cycle, with last year's proposal as its draft),
the sweep's pass that carries Neuplanung stays into the nearest later cycle by itself, and
the reminder to the coordinators when no later cycle is open within the policy's
``replanning_days``. Never commits: the caller (or the sweep's unit of work) owns the
transaction. Never opens a cycle itself: that stays the coordinator's decision.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, literal_column, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from notifications.effects import messages_for_move
from notifications.outbox import Draft, enqueue
from workflow.accounts import Role, User
from workflow.catalogue.models import Measure, MeasureStatus, Organisation
from workflow.clock import Clock
from workflow.cycles import stay
from workflow.cycles.calendar import calendar_and_policy, calendar_of
from workflow.cycles.models import AuditEvent, Cycle, MeasureCycle, Review, TargetAgreement
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar, DeadlinePolicy, Step, StepKind
from workflow.machine import Event, State
from workflow.organisations.active import in_active_organisation
from workflow.transitions import move

log = logging.getLogger(__name__)

REMINDER_KIND = "open_cycle_reminder"
# The first reminder when ``replanning_days`` have passed, one more ``replanning_days`` later,
# then nothing: the stay stays visible (overdue) on the pipeline.
REMINDERS = 2
MAX_BATCHES = 10_000


@dataclass
class CarryReport:
    carried: int = 0
    reminded: int = 0
    queued: int = 0


def draft_from(session: Session, previous: MeasureCycle) -> dict[str, Any]:
    """Last year's review proposal and agreement become this year's draft agreement."""
    review = session.scalars(select(Review).where(Review.measure_cycle_id == previous.id)).first()
    agreement = session.scalars(
        select(TargetAgreement).where(TargetAgreement.measure_cycle_id == previous.id)
    ).first()
    draft: dict[str, Any] = {"from_measure_cycle_id": previous.id}
    if review is not None:
        draft["proposal"] = review.proposal
        draft["proposal_text"] = review.proposal_text
        draft["last_achievement"] = review.achievement
    if agreement is not None:
        draft["last_targets"] = agreement.targets
        draft["last_responsible"] = agreement.responsible
    return draft


def place(
    session: Session,
    *,
    clock: Clock,
    cycle: Cycle,
    measure: Measure,
    previous: MeasureCycle | None,
    policy: DeadlinePolicy,
    cal: BusinessCalendar,
    actor: str,
) -> MeasureCycle:
    """Give ``measure`` its stay in ``cycle``; a ``previous`` stay in Neuplanung is carried
    forward (its proposal becomes the draft). The caller checked that ``previous`` is not
    still running and that the measure has no stay in ``cycle`` yet."""
    now = clock.now()
    draft: dict[str, Any] = {}
    if previous is not None and State(previous.state) is State.REPLANNING:
        draft = draft_from(session, previous)
        move(
            session=session,
            clock=clock,
            measure_cycle_id=previous.id,
            event=Event.CARRY_FORWARD,
            expected_version=None,
            actor=actor,
            payload={"into_year": cycle.year},
        )
    first = (
        State.INITIAL_INTERVIEW
        if (previous is None and measure.interviewed_at is None)
        else State.TARGET_AGREEMENT
    )
    mc = MeasureCycle(
        organisation_id=cycle.organisation_id,
        cycle_id=cycle.id,
        measure_id=measure.id,
        measure=measure,
        draft=draft,
    )
    stay.enter(mc, first, now=now, policy=policy, cal=cal)
    session.add(mc)
    session.flush()
    session.add(
        AuditEvent(
            organisation_id=cycle.organisation_id,
            measure_cycle_id=mc.id,
            at=now,
            actor=actor,
            event="open_cycle",
            from_state=None,
            to_state=first.value,
            payload={"year": cycle.year},
        )
    )
    enqueue(session, messages_for_move(None, first, None, mc, now=now), now=now)
    return mc


# -- the sweep's pass ---------------------------------------------------------------------


def sweep_replanning(
    *, sessions: sessionmaker[Session], clock: Clock, actor: str, batch_size: int = 500
) -> CarryReport:
    """Carry every Neuplanung stay whose organisation has a later cycle, then remind the
    coordinators of the stays that waited ``replanning_days`` for one; one unit of work per
    batch."""
    report = CarryReport()
    for _ in range(MAX_BATCHES):
        with unit_of_work(sessions) as session:
            claimed = _claim_carriable(session, batch_size)
            for previous in claimed:
                _carry(session, clock, previous, actor)
            report.carried += len(claimed)
        if len(claimed) < batch_size:
            break
    now = clock.now()
    after = 0  # keyset: a stay reminded once, waiting for its second date, is read again
    for _ in range(MAX_BATCHES):
        with unit_of_work(sessions) as session:
            claimed = _claim_uncarried(session, now, after, batch_size)
            for mc in claimed:
                if _due_steps(session, mc, now):
                    report.queued += _remind(session, mc, now)
                    report.reminded += 1
        if len(claimed) < batch_size:
            break
        after = claimed[-1].id
    return report


# Built once: the sweep runs these every few minutes, and building them costs more than
# running them on an index.
_LATER, _OWN = aliased(Cycle, name="later_cycle"), aliased(Cycle, name="own_cycle")
_OTHER = aliased(MeasureCycle, name="other_stay")
_LATER_CYCLES = (
    select(_LATER.id)
    .join(_OWN, _OWN.id == MeasureCycle.cycle_id)
    .where(_LATER.organisation_id == _OWN.organisation_id, _LATER.year > _OWN.year)
)
# A stay of the same measure in any later cycle: the measure moved on already, so an old
# Neuplanung stay is not carried a second time.
_LATER_STAY = select(_OTHER.id).where(
    _OTHER.measure_id == MeasureCycle.measure_id, _OTHER.cycle_id.in_(_LATER_CYCLES)
)
_WAITING_ACTIVE = (
    select(MeasureCycle)
    .join(Measure, Measure.id == MeasureCycle.measure_id)
    .where(
        # A literal, not a parameter: a prepared statement's generic plan can then still use
        # the partial index ix_measure_cycle_replanning, whose condition it matches.
        MeasureCycle.state == literal_column(f"'{State.REPLANNING.value}'"),
        Measure.status == MeasureStatus.ACTIVE.value,
        # An archived organisation's stays wait, should it return. EXISTS per row: with the
        # list form SQLite read every stay instead of the index (12 ms at 100,000 stays).
        in_active_organisation(MeasureCycle.organisation_id),
    )
    .order_by(MeasureCycle.id)
)
_CARRIABLE = _WAITING_ACTIVE.where(exists(_LATER_CYCLES), ~exists(_LATER_STAY))
_UNCARRIED = _WAITING_ACTIVE.where(MeasureCycle.action_step < REMINDERS, ~exists(_LATER_CYCLES))


def _claim_carriable(session: Session, limit: int) -> list[MeasureCycle]:
    # SKIP LOCKED lets two sweeps share the work on PostgreSQL; SQLite serialises writers at
    # BEGIN IMMEDIATE. A row another sweep carried meanwhile no longer matches the state.
    stmt = (
        _CARRIABLE.limit(limit)
        .with_for_update(skip_locked=True, of=MeasureCycle)
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt).unique())


def _carry(session: Session, clock: Clock, previous: MeasureCycle, actor: str) -> MeasureCycle:
    own = session.get(Cycle, previous.cycle_id)
    assert own is not None
    target = session.scalars(
        select(Cycle)
        .where(Cycle.organisation_id == own.organisation_id, Cycle.year > own.year)
        .order_by(Cycle.year)
        .limit(1)
    ).one()
    org = session.get(Organisation, own.organisation_id)
    assert org is not None
    return place(
        session,
        clock=clock,
        cycle=target,
        measure=previous.measure,
        previous=previous,
        policy=DeadlinePolicy.model_validate(target.policy),
        cal=calendar_of(org),
        actor=actor,
    )


# -- reminding the coordinators -------------------------------------------------------------



def reminder_plan(mc: MeasureCycle, policy: DeadlinePolicy, cal: BusinessCalendar) -> list[Step]:
    """When the coordinators are reminded to open the next cycle for a stay in Neuplanung."""
    if mc.due_on is None:
        return []
    return [
        Step(
            StepKind.REMINDER,
            i,
            cal.at_local(
                cal.roll_forward(mc.due_on + timedelta(days=i * policy.replanning_days)),
                policy.send_hour,
            ),
        )
        for i in range(REMINDERS)
    ]


def _claim_uncarried(
    session: Session, now: datetime, after: int, limit: int
) -> list[MeasureCycle]:
    # Time zones run at most a day ahead of UTC: the exact moment is checked per row.
    horizon = (now + timedelta(days=1)).date()
    stmt = (
        _UNCARRIED.where(MeasureCycle.due_on <= horizon, MeasureCycle.id > after)
        .limit(limit)
        .with_for_update(skip_locked=True, of=MeasureCycle)
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt).unique())


def _due_steps(session: Session, mc: MeasureCycle, now: datetime) -> list[Step]:
    cal, policy = calendar_and_policy(session, mc)
    return [s for s in reminder_plan(mc, policy, cal) if s.index >= mc.action_step and s.at <= now]


def coordinators(session: Session, organisation_id: int) -> list[tuple[str, str]]:
    """(email, name) of the organisation's active coordinators, or its contact address."""
    found = [
        (u.email, u.name)
        for u in session.scalars(
            select(User)
            .where(
                User.organisation_id == organisation_id,
                User.role == Role.COORDINATOR.value,
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    ]
    if found:
        return found
    org = session.get(Organisation, organisation_id)
    return [(org.contact_email, org.name)] if org is not None and org.contact_email else []


def _remind(session: Session, mc: MeasureCycle, now: datetime) -> int:
    """Queue the latest owed reminder for ``mc`` (a late sweep sends one, not all); returns
    the rows queued. The step advances in the same transaction as the queueing."""
    step = _due_steps(session, mc, now)[-1]
    cycle = session.get(Cycle, mc.cycle_id)
    assert cycle is not None
    recipients = coordinators(session, mc.organisation_id)
    if not recipients:
        log.warning("organisation %s has no coordinator; open-cycle reminder only recorded",
                    mc.organisation_id)  # fmt: skip
    queued = enqueue(
        session,
        [
            Draft(
                organisation_id=mc.organisation_id,
                dedupe_key=f"mc:{mc.id}:{mc.stay}:{REMINDER_KIND}:{step.index}:{email}",
                kind=REMINDER_KIND,
                recipient_email=email,
                recipient_name=name,
                measure_cycle_id=mc.id,
                context={
                    "cycle_id": mc.cycle_id,
                    "year": cycle.year,
                    "next_year": cycle.year + 1,
                    "step": step.index,
                    "phase": State.REPLANNING.value,
                },
            )
            for email, name in recipients
        ],
        now=now,
    )
    # A plain UPDATE, as the sweep's own schedule: it must not bump the row's version.
    session.execute(
        update(MeasureCycle)
        .where(MeasureCycle.id == mc.id)
        .values(action_step=step.index + 1)
        .execution_options(synchronize_session=False)
    )
    return queued
