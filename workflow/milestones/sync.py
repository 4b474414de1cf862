"""Milestone rows from a target agreement: one per milestone with a readable date.

Owns turning ``TargetAgreement.milestones`` into ``Milestone`` rows when an agreement enters
Umsetzung or is corrected there, and the one-off catch-up for stays that were in Umsetzung
before the rows existed. Never asks anybody anything (that is ``workflow.milestones.sweep``)
and never commits.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.cycles.calendar import calendar_and_policy
from workflow.cycles.models import MeasureCycle, TargetAgreement
from workflow.deadlines import BusinessCalendar, DeadlinePolicy
from workflow.forms.validation import parse_date
from workflow.machine import State
from workflow.milestones.models import Milestone, MilestoneStatus

OPEN = MilestoneStatus.OPEN.value
WITHDRAWN = MilestoneStatus.WITHDRAWN.value


def ask_at(day: date, *, policy: DeadlinePolicy, cal: BusinessCalendar) -> datetime:
    """When "erreicht?" is asked for a milestone due on ``day``: its working day, send hour."""
    return cal.at_local(cal.roll_forward(day), policy.send_hour)


def dated(agreement: TargetAgreement) -> dict[int, tuple[str, date]]:
    """Position in the agreement's list → (text, date), for every milestone with a readable date."""
    out: dict[int, tuple[str, date]] = {}
    for position, item in enumerate(agreement.milestones or []):
        if not isinstance(item, dict):
            continue
        day = parse_date(str(item.get("date") or ""))
        if day is not None:
            out[position] = (str(item.get("text") or "").strip(), day)
    return out


def sync_from_agreement(
    session: Session, *, measure_cycle: MeasureCycle, agreement: TargetAgreement, now: datetime
) -> None:
    """Bring the stay's milestone rows in line with the agreement; running it twice changes
    nothing. Reached rows are history and stay as they are."""
    mc = measure_cycle
    cal, policy = calendar_and_policy(session, mc)
    wanted = dated(agreement)
    rows = {
        row.position: row
        for row in session.scalars(select(Milestone).where(Milestone.measure_cycle_id == mc.id))
    }
    for position, (text, day) in wanted.items():
        row = rows.get(position)
        if row is None:
            session.add(
                Milestone(
                    organisation_id=mc.organisation_id,
                    measure_cycle_id=mc.id,
                    measure_id=mc.measure_id,
                    position=position,
                    text=text,
                    planned_on=day,
                    due_on=day,
                    status=OPEN,
                    moves=0,
                    asked=0,
                    history=[],
                    next_action_at=ask_at(day, policy=policy, cal=cal),
                )
            )
            continue
        if row.status == WITHDRAWN:
            # The corrected agreement lists a milestone at this place again: ask about it anew.
            row.status = OPEN
            row.planned_on = row.due_on = day
            row.next_action_at = ask_at(day, policy=policy, cal=cal)
        if row.status != OPEN:
            continue
        if row.text != text:
            row.text = text
        # Compared with the agreed date, so a correction elsewhere does not undo a move.
        if row.planned_on != day:
            row.planned_on = row.due_on = day
            row.next_action_at = ask_at(day, policy=policy, cal=cal)
    for position, row in rows.items():
        if position not in wanted and row.status == OPEN:
            row.status = WITHDRAWN
            row.next_action_at = None
    agreement.milestones_synced = True
    session.flush()


# A stay reaches Umsetzung only from Zielvereinbarung (``workflow.machine``): an agreement of a
# stay in any other state owes the catch-up nothing, now or later.
NEVER_AGAIN_IN_IMPLEMENTATION = tuple(
    state.value
    for state in State
    if state not in (State.INITIAL_INTERVIEW, State.TARGET_AGREEMENT, State.IMPLEMENTATION)
)
_SETTLED_HERE = (State.IMPLEMENTATION.value, *NEVER_AGAIN_IN_IMPLEMENTATION)


def backfill(session: Session, *, now: datetime, batch_size: int = 500) -> int:
    """Sync every agreement of a stay in Umsetzung whose milestone rows were not yet brought in
    line with its list (``TargetAgreement.milestones_synced``).

    For stays that entered Umsetzung before rows existed, or by a path that does not sync;
    returns how many agreements were synced. Each is synced once and marked, and an agreement
    whose stay is past Umsetzung is marked without a sync, so a pass with nothing to catch up
    reads only the partial index of the unmarked agreements (before the mark, every agreement
    in Umsetzung listing milestones was read on every pass, and one whose milestones carry no
    readable date on every pass for ever).
    """
    after, synced = 0, 0
    while True:
        # The agreements alone first: joined to their stays in one statement, a planner that
        # expects few stays in the states asked for starts from the stays and reads them all.
        page = session.execute(
            select(TargetAgreement.id, TargetAgreement.measure_cycle_id)
            .where(TargetAgreement.id > after, ~TargetAgreement.milestones_synced)
            .order_by(TargetAgreement.id)
            .limit(batch_size)
        ).all()
        if page:
            synced += _catch_up(session, [stay_id for _, stay_id in page], now=now)
        if len(page) < batch_size:
            return synced
        after = page[-1][0]


def _catch_up(session: Session, stay_ids: list[int], *, now: datetime) -> int:
    pairs = session.execute(
        select(MeasureCycle, TargetAgreement)
        .join(TargetAgreement, TargetAgreement.measure_cycle_id == MeasureCycle.id)
        .where(MeasureCycle.id.in_(stay_ids), MeasureCycle.state.in_(_SETTLED_HERE))
        .with_for_update(skip_locked=True, of=MeasureCycle)
    ).all()
    synced = 0
    for mc, agreement in pairs:
        if agreement.milestones_synced:  # synced meanwhile, by the form that moved the stay
            continue
        if mc.state == State.IMPLEMENTATION.value:
            sync_from_agreement(session, measure_cycle=mc, agreement=agreement, now=now)
            synced += 1
        else:
            agreement.milestones_synced = True
    session.flush()
    return synced
