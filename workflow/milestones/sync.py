"""Milestone rows from a target agreement: one per milestone with a readable date.

Owns turning ``TargetAgreement.milestones`` into ``Milestone`` rows when an agreement enters
Umsetzung or is corrected there, and the one-off catch-up for stays that were in Umsetzung
before the rows existed. Never asks anybody anything (that is ``workflow.milestones.sweep``)
and never commits.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import String, cast, exists, literal_column, select
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
    session.flush()


def backfill(session: Session, *, now: datetime, batch_size: int = 500) -> int:
    """Sync every stay in Umsetzung whose agreement lists milestones but has no rows yet.

    For stays that entered Umsetzung before rows existed (or by a path that does not sync);
    returns how many stays were synced. Keyset pages, so each stay is looked at once a pass.
    """
    has_rows = exists().where(Milestone.measure_cycle_id == MeasureCycle.id)
    after, synced = 0, 0
    while True:
        pairs = session.execute(
            select(MeasureCycle, TargetAgreement)
            .join(TargetAgreement, TargetAgreement.measure_cycle_id == MeasureCycle.id)
            # Paged on the agreement's own key: paged on its stay's id, SQLite walked every
            # stay of every cycle by that id (9 ms at 100,000 stays, none in Umsetzung). The
            # state as a literal lets both databases start from the partial index of the
            # stays in Umsetzung.
            .where(
                TargetAgreement.id > after,
                MeasureCycle.state == literal_column(f"'{State.IMPLEMENTATION.value}'"),
                cast(TargetAgreement.milestones, String) != "[]",
                ~has_rows,
            )
            .order_by(TargetAgreement.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True, of=MeasureCycle)
        ).all()
        for mc, agreement in pairs:
            if dated(agreement):
                sync_from_agreement(session, measure_cycle=mc, agreement=agreement, now=now)
                synced += 1
        if len(pairs) < batch_size:
            return synced
        after = pairs[-1][1].id
