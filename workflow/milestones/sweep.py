"""The milestone pass of the sweep: on a milestone's day, ask its contact "erreicht?" once.

Claims due rows (SKIP LOCKED, so two sweeps share the work), queues one ``milestone_due``
email per milestone and date (the dedupe key makes a second sweep a no-op) and takes the row
off the schedule in the same transaction. First it catches up stays that entered Umsetzung
without rows (``sync.backfill``). Never sends and never renders; one transaction per batch.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from notifications.outbox import Draft, enqueue
from workflow.cycles.models import MeasureCycle
from workflow.db import unit_of_work
from workflow.machine import State
from workflow.milestones.models import Milestone, MilestoneStatus
from workflow.milestones.sync import backfill

log = logging.getLogger(__name__)

KIND = "milestone_due"
MAX_BATCHES = 10_000


def dedupe_key(milestone: Milestone) -> str:
    return f"ms:{milestone.id}:{milestone.due_on.isoformat()}:ask"


def sweep_milestones(
    *, sessions: sessionmaker[Session], now: datetime, batch_size: int = 500
) -> int:
    """Ask about every milestone due at ``now``; returns how many emails were queued."""
    with unit_of_work(sessions) as session:
        backfill(session, now=now, batch_size=batch_size)
    queued = 0
    for _ in range(MAX_BATCHES):
        with unit_of_work(sessions) as session:
            due = _claim_due(session, now, batch_size)
            for milestone in due:
                queued += _ask(session, milestone, now)
        if len(due) < batch_size:
            break
    return queued


def _claim_due(session: Session, now: datetime, limit: int) -> list[Milestone]:
    stmt = (
        select(Milestone)
        .where(Milestone.next_action_at <= now)
        .order_by(Milestone.next_action_at, Milestone.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Milestone)
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt))


def _ask(session: Session, milestone: Milestone, now: datetime) -> int:
    # Whatever happens below, this date is dealt with: a move schedules the next question.
    milestone.next_action_at = None
    mc = session.get(MeasureCycle, milestone.measure_cycle_id)
    if (
        mc is None
        or milestone.status != MilestoneStatus.OPEN.value
        or mc.state != State.IMPLEMENTATION.value
    ):
        return 0
    contact = mc.measure.contact
    if contact is None:
        log.warning("measure %s has no contact; milestone %s not asked", mc.measure.code, milestone.id)
        return 0
    draft = Draft(
        organisation_id=mc.organisation_id,
        dedupe_key=dedupe_key(milestone),
        kind=KIND,
        recipient_email=contact.email,
        recipient_name=contact.name,
        language=contact.language,
        measure_cycle_id=mc.id,
        context={
            "milestone_id": milestone.id,
            "contact_id": contact.id,
            "cycle_id": mc.cycle_id,
            "phase": "milestone",
            "due_on": milestone.due_on.isoformat(),
        },
    )
    added = enqueue(session, [draft], now=now)
    milestone.asked += added
    return added
