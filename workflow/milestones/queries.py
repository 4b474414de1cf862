"""Which milestones are open, and which are missed by more than the grace period.

Reads only; never writes. "Missed" counts only stays still in Umsetzung: once the review
starts, the review says how the year went.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.cycles.models import MeasureCycle
from workflow.indicators.requests import policy_for
from workflow.machine import State
from workflow.milestones.models import Milestone, MilestoneStatus


def open_milestones(
    session: Session, *, measure_cycle_ids: Iterable[int]
) -> dict[int, list[Milestone]]:
    """measure_cycle_id → its open milestones, soonest first (stays without any are left out)."""
    ids = set(measure_cycle_ids)
    out: dict[int, list[Milestone]] = {}
    if not ids:
        return out
    rows = session.scalars(
        select(Milestone)
        .where(
            Milestone.measure_cycle_id.in_(ids),
            Milestone.status == MilestoneStatus.OPEN.value,
        )
        .order_by(Milestone.due_on, Milestone.position)
    )
    for row in rows:
        out.setdefault(row.measure_cycle_id, []).append(row)
    return out


def missed(session: Session, *, organisation_id: int, today: date) -> dict[int, Milestone]:
    """measure_id → its earliest open milestone whose ``due_on`` + grace days < ``today``.

    The grace days are those of the organisation's newest cycle's policy.
    """
    grace = policy_for(session, organisation_id).milestone_grace_days
    rows = session.scalars(
        select(Milestone)
        .join(MeasureCycle, MeasureCycle.id == Milestone.measure_cycle_id)
        .where(
            Milestone.organisation_id == organisation_id,
            Milestone.status == MilestoneStatus.OPEN.value,
            Milestone.due_on < today - timedelta(days=grace),
            MeasureCycle.state == State.IMPLEMENTATION.value,
        )
        .order_by(Milestone.due_on, Milestone.id)
    )
    out: dict[int, Milestone] = {}
    for row in rows:
        out.setdefault(row.measure_id, row)
    return out
