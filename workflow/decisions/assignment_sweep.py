"""The sweep's pass over Aufträge: remind the contact, then escalate to the head and the body.

Works off every Auftrag whose ``next_action_at`` has come, one transaction per batch, rows
locked with SKIP LOCKED (two sweeps share the work on PostgreSQL; SQLite serialises them).
The row's schedule advances in the transaction that queues the message, and every message
has a unique dedupe key, so a second or concurrent sweep queues nothing twice. An Auftrag
that is done is only taken off the schedule. Never sends and never commits by itself: each
batch is its own ``unit_of_work``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from notifications.outbox import enqueue
from workflow.catalogue.models import Contact
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar, DeadlinePolicy, EscalationTarget, Step, StepKind
from workflow.decisions import assignments
from workflow.decisions.models import Decision, DecisionKind, DecisionStatus
from workflow.forms import ladder_restart
from workflow.organisations.active import of_active_organisation

MAX_BATCHES = 10_000


@dataclass
class Swept:
    examined: int = 0
    reminders: int = 0
    escalations: int = 0
    queued: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, queued: int) -> None:
        self.queued[kind] = self.queued.get(kind, 0) + queued


def sweep_assignments(
    *, sessions: sessionmaker[Session], now: datetime, batch_size: int = 500
) -> Swept:
    swept = Swept()
    for _ in range(MAX_BATCHES):
        with unit_of_work(sessions) as session:
            due = _claim_due(session, now, batch_size)
            rules: dict[int, tuple[BusinessCalendar, DeadlinePolicy]] = {}
            for decision in due:
                org_id = decision.organisation_id
                if org_id not in rules:
                    rules[org_id] = assignments.rules_of(session, org_id)
                _process(session, decision, now, rules[org_id], swept)
            swept.examined += len(due)
        if len(due) < batch_size:
            break
    return swept


def _claim_due(session: Session, now: datetime, limit: int) -> list[Decision]:
    stmt = (
        select(Decision)
        .where(
            Decision.next_action_at <= now,
            Decision.kind == DecisionKind.ASSIGNMENT.value,
            # An archived organisation is asked nothing; the schedule waits, should it return.
            of_active_organisation(Decision.organisation_id),
        )
        .order_by(Decision.next_action_at, Decision.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Decision)
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt))


def _process(
    session: Session,
    decision: Decision,
    now: datetime,
    rules: tuple[BusinessCalendar, DeadlinePolicy],
    swept: Swept,
) -> None:
    contact = session.get(Contact, decision.contact_id or 0)
    cycle_id = assignments.newest_cycle_id(session, decision.organisation_id)
    if decision.status == DecisionStatus.DONE.value or contact is None or cycle_id is None:
        # Done (or no longer remindable): nothing more is owed; it leaves the schedule.
        _reschedule(session, decision, decision.action_step, [], decision.escalation_level)
        return
    cal, policy = rules
    plan = assignments.plan_of(decision, policy, cal)
    due_steps = [(i, s) for i, s in enumerate(plan) if i >= decision.action_step and s.at <= now]
    if not due_steps:
        _reschedule(session, decision, decision.action_step, plan, decision.escalation_level)
        return
    # As for measures: a late sweep sends only the latest reminder, but every escalation.
    reminders = [(i, s) for i, s in due_steps if s.kind is StepKind.REMINDER]
    last_reminder = max((i for i, s in enumerate(plan) if s.kind is StepKind.REMINDER), default=-1)
    if reminders:
        i, step = reminders[-1]
        mark = ladder_restart.mark_of(session, contact.id)
        draft = assignments.reminder(
            decision, contact, cycle_id, step, final=i == last_reminder, mark=mark
        )
        swept.add(draft.kind, enqueue(session, [draft], now=now))
        swept.reminders += 1
    level = decision.escalation_level
    for _, step in due_steps:
        if step.kind is not StepKind.ESCALATION:
            continue
        if step.target is EscalationTarget.STEERING_GROUP:
            draft = assignments.escalation_to_body(session, decision, step)
            swept.add(draft.kind, enqueue(session, [draft], now=now))
        else:
            drafts = assignments.escalation_to_heads(session, decision, step)
            swept.add(assignments.ESCALATION_HEAD, enqueue(session, drafts, now=now))
        swept.escalations += 1
        level = max(level, step.index)
    _reschedule(session, decision, due_steps[-1][0] + 1, plan, level)


def _reschedule(
    session: Session, decision: Decision, next_step: int, plan: list[Step], level: int
) -> None:
    # A plain UPDATE: the schedule is the engine's bookkeeping, not an edit of the decision.
    next_at = plan[next_step].at if next_step < len(plan) else None
    session.execute(
        update(Decision)
        .where(Decision.id == decision.id)
        .values(action_step=next_step, next_action_at=next_at, escalation_level=level)
        .execution_options(synchronize_session=False)
    )
