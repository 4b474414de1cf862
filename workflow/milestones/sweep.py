"""The milestone pass of the sweep: on a milestone's day, ask its contact "erreicht?" once.

Claims due rows (SKIP LOCKED, so two sweeps share the work), queues one ``milestone_due``
email per milestone and date (the dedupe key makes a second sweep a no-op) and takes the row
off the schedule in the same transaction. First it catches up stays that entered Umsetzung
without rows (``sync.backfill``). Never sends and never renders; one transaction per batch.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from notifications.outbox import Draft, enqueue
from workflow.catalogue.models import Contact, Measure
from workflow.cycles.models import MeasureCycle
from workflow.db import unit_of_work
from workflow.forms import ladder_restart
from workflow.machine import State
from workflow.milestones.models import Milestone, MilestoneStatus
from workflow.milestones.sync import backfill
from workflow.organisations.active import of_active_organisation

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
        .where(
            Milestone.next_action_at <= now,
            # An archived organisation is asked nothing; its dates wait, should it come back.
            # EXISTS per due row, not IN (all stays of active organisations): SQLite built
            # that list of every stay on each sweep (0.2 s at a million stays).
            exists().where(
                MeasureCycle.id == Milestone.measure_cycle_id,
                of_active_organisation(MeasureCycle.organisation_id),
            ),
        )
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
        log.warning(
            "measure %s has no contact; milestone %s not asked", mc.measure.code, milestone.id
        )
        return 0
    added = enqueue(session, [_question(milestone, mc, contact, dedupe_key(milestone))], now=now)
    milestone.asked += added
    return added


def _question(milestone: Milestone, mc: MeasureCycle, contact: Contact, key: str) -> Draft:
    return Draft(
        organisation_id=mc.organisation_id,
        dedupe_key=key,
        kind=KIND,
        recipient_email=contact.email,
        recipient_name=contact.name,
        language=contact.language,
        measure_cycle_id=mc.id,
        context={
            "milestone_id": milestone.id,
            "contact_id": contact.id,
            # A question still queued when the address is corrected goes to the new one.
            "recipient_contact_id": contact.id,
            "cycle_id": mc.cycle_id,
            "phase": "milestone",
            "due_on": milestone.due_on.isoformat(),
        },
    )


def asked_and_open(session: Session, contact_id: int) -> list[Milestone]:
    """The contact's milestones asked about on their current date and not answered: the
    stay is in Umsetzung and no later question is scheduled."""
    return list(
        session.scalars(
            select(Milestone)
            .join(MeasureCycle, MeasureCycle.id == Milestone.measure_cycle_id)
            .join(Measure, Measure.id == MeasureCycle.measure_id)
            .where(
                Measure.contact_id == contact_id,
                MeasureCycle.state == State.IMPLEMENTATION.value,
                Milestone.status == MilestoneStatus.OPEN.value,
                Milestone.asked > 0,
                Milestone.next_action_at.is_(None),
            )
            .order_by(Milestone.id)
        )
    )


def ask_again_after_address_change(
    session: Session, milestone: Milestone, *, now: datetime, mark: str
) -> int:
    """The question has no reminders: its ladder is the question itself, asked once more now
    (unless it is still queued), its links made when it is sent to the corrected address.
    Returns how many were queued."""
    mc = session.get(MeasureCycle, milestone.measure_cycle_id)
    contact = mc.measure.contact if mc is not None else None
    if mc is None or contact is None:
        return 0
    if ladder_restart.link_waiting(session, dedupe_key(milestone), (KIND,)):
        return 0  # still queued: it goes to the contact's address as it is when sent
    draft = _question(milestone, mc, contact, f"{dedupe_key(milestone)}{mark}")
    added = enqueue(session, [draft], now=now)
    milestone.asked += added
    return added
