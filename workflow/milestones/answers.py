"""The contact's answer to "Meilenstein erreicht?": reached, or not yet with a new date.

Owns changing one milestone row on an answer and writing it on the stay's timeline (audit
events ``milestone_reached`` / ``milestone_moved``). The same answer twice changes nothing the
second time. Never commits, never sends: the request or task owns the transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.clock import Clock
from workflow.cycles.calendar import calendar_and_policy
from workflow.cycles.models import AuditEvent, MeasureCycle
from workflow.deadlines import add_months
from workflow.milestones.errors import MilestoneRefused
from workflow.milestones.models import Milestone, MilestoneStatus
from workflow.milestones.sync import ask_at

__all__ = ["MAX_MONTHS_AHEAD", "MilestoneRefused", "confirm", "latest_allowed", "move"]

# A new date more than three years ahead is a typing slip, not a plan.
MAX_MONTHS_AHEAD = 36


def latest_allowed(today: date) -> date:
    return add_months(today, MAX_MONTHS_AHEAD)


def _load(session: Session, milestone_id: int) -> tuple[Milestone, MeasureCycle]:
    milestone = session.scalars(
        select(Milestone)
        .where(Milestone.id == milestone_id)
        .with_for_update(of=Milestone)
        .execution_options(populate_existing=True)
    ).first()
    if milestone is None:
        raise MilestoneRefused("not_found")
    mc = session.get(MeasureCycle, milestone.measure_cycle_id)
    assert mc is not None, "a milestone belongs to a stay"
    return milestone, mc


def _audit(
    session: Session, mc: MeasureCycle, clock: Clock, by: str, event: str, payload: dict[str, Any]
) -> None:
    session.add(
        AuditEvent(
            organisation_id=mc.organisation_id,
            measure_cycle_id=mc.id,
            at=clock.now(),
            actor=by,
            event=event,
            from_state=mc.state,
            to_state=mc.state,
            payload=payload,
        )
    )


def confirm(session: Session, *, clock: Clock, milestone_id: int, by: str) -> Milestone:
    """Record the milestone as reached today; it is asked about no more."""
    milestone, mc = _load(session, milestone_id)
    if milestone.status == MilestoneStatus.REACHED.value:
        return milestone  # answered already (a second click, a second tab)
    if milestone.status != MilestoneStatus.OPEN.value:
        raise MilestoneRefused("not_open")
    cal, _policy = calendar_and_policy(session, mc)
    now = clock.now()
    today = cal.local_date(now)
    milestone.status = MilestoneStatus.REACHED.value
    milestone.reached_on = today
    milestone.answered_at = now
    milestone.answered_by = by
    milestone.next_action_at = None
    entry = {"at": now.isoformat(), "by": by, "reached": True, "from": milestone.due_on.isoformat()}
    milestone.history = [*milestone.history, {**entry, "to": today.isoformat()}]
    _audit(
        session, mc, clock, by, "milestone_reached",
        {"milestone_id": milestone.id, "text": milestone.text,
         "from": milestone.due_on.isoformat(), "to": today.isoformat()},
    )  # fmt: skip
    session.flush()
    return milestone


def move(session: Session, *, clock: Clock, milestone_id: int, new_date: date, by: str) -> Milestone:
    """Not reached yet: the milestone is due on ``new_date`` and asked about again that day.

    The agreed date (``planned_on``) stays, so a report can tell how far it slipped.
    """
    milestone, mc = _load(session, milestone_id)
    if milestone.status != MilestoneStatus.OPEN.value:
        raise MilestoneRefused("not_open")
    cal, policy = calendar_and_policy(session, mc)
    now = clock.now()
    today = cal.local_date(now)
    if new_date < today:
        raise MilestoneRefused("date_in_past", today=today.isoformat())
    latest = latest_allowed(today)
    if new_date > latest:
        raise MilestoneRefused("date_too_far", latest=latest.isoformat())
    if new_date == milestone.due_on:
        return milestone  # the same answer again (or no change at all)
    previous = milestone.due_on
    milestone.due_on = new_date
    milestone.moves += 1
    milestone.answered_at = now
    milestone.answered_by = by
    milestone.next_action_at = ask_at(new_date, policy=policy, cal=cal)
    milestone.history = [
        *milestone.history,
        {"at": now.isoformat(), "by": by, "reached": False,
         "from": previous.isoformat(), "to": new_date.isoformat()},
    ]  # fmt: skip
    _audit(
        session, mc, clock, by, "milestone_moved",
        {"milestone_id": milestone.id, "text": milestone.text,
         "from": previous.isoformat(), "to": new_date.isoformat()},
    )  # fmt: skip
    session.flush()
    return milestone
