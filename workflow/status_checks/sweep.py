"""The sweep's pass over status checks: open the scheduled ones, then remind and escalate.

First opens the mid-term checks whose month of Umsetzung has come (``scheduled``), then
works off every part whose ``next_action_at`` has come, one transaction per batch, rows
locked with SKIP LOCKED (two sweeps share the work on PostgreSQL; SQLite serialises them).
The part's schedule advances in the transaction that queues the message, and every message
has a unique dedupe key, so a second or concurrent sweep queues nothing twice. A part that
is answered, or whose check is closed, only leaves the schedule. Never sends; each batch is
its own ``unit_of_work``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from notifications.outbox import enqueue
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar, DeadlinePolicy, EscalationTarget, Step, StepKind
from workflow.forms import ladder_restart
from workflow.organisations.active import of_active_organisation
from workflow.status_checks import mail
from workflow.status_checks.models import StatusCheckRequest
from workflow.status_checks.schedule import plan_of, rules_of
from workflow.status_checks.scheduled import open_scheduled
from workflow.status_checks.service import is_closed

MAX_BATCHES = 10_000


@dataclass
class Swept:
    opened: int = 0  # scheduled checks opened
    examined: int = 0
    reminders: int = 0
    escalations: int = 0
    queued: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, queued: int) -> None:
        self.queued[kind] = self.queued.get(kind, 0) + queued


def sweep_status_checks(
    *, sessions: sessionmaker[Session], now: datetime, batch_size: int = 500
) -> Swept:
    swept = Swept()
    with unit_of_work(sessions) as session:
        opened = open_scheduled(session, now=now)
    swept.opened = opened.checks
    swept.add(mail.REQUEST, opened.invitations)
    for _ in range(MAX_BATCHES):
        with unit_of_work(sessions) as session:
            due = _claim_due(session, now, batch_size)
            rules: dict[int, tuple[BusinessCalendar, DeadlinePolicy]] = {}
            for request in due:
                cycle_id = request.status_check.cycle_id
                if cycle_id not in rules:
                    rules[cycle_id] = rules_of(session, request.organisation_id, cycle_id)
                _process(session, request, now, rules[cycle_id], swept)
            swept.examined += len(due)
        if len(due) < batch_size:
            break
    return swept


def _claim_due(session: Session, now: datetime, limit: int) -> list[StatusCheckRequest]:
    stmt = (
        select(StatusCheckRequest)
        .where(
            StatusCheckRequest.next_action_at <= now,
            # An archived organisation is asked nothing; the schedule waits, should it return.
            of_active_organisation(StatusCheckRequest.organisation_id),
        )
        .order_by(StatusCheckRequest.next_action_at, StatusCheckRequest.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=StatusCheckRequest)
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt))


def _process(
    session: Session,
    request: StatusCheckRequest,
    now: datetime,
    rules: tuple[BusinessCalendar, DeadlinePolicy],
    swept: Swept,
) -> None:
    if request.answered_at is not None or is_closed(request.status_check):
        # Nothing more is owed: it leaves the schedule.
        _reschedule(session, request, request.action_step, [], request.escalation_level)
        return
    cal, policy = rules
    plan = plan_of(request, policy, cal)
    due_steps = [(i, s) for i, s in enumerate(plan) if i >= request.action_step and s.at <= now]
    if not due_steps:
        _reschedule(session, request, request.action_step, plan, request.escalation_level)
        return
    # As for measures: a late sweep sends only the latest reminder, but every escalation.
    reminders = [(i, s) for i, s in due_steps if s.kind is StepKind.REMINDER]
    last_reminder = max((i for i, s in enumerate(plan) if s.kind is StepKind.REMINDER), default=-1)
    if reminders:
        i, step = reminders[-1]
        mark = ladder_restart.mark_of(session, request.contact_id)
        draft = mail.reminder(request, step, final=i == last_reminder, mark=mark)
        swept.add(draft.kind, enqueue(session, [draft], now=now))
        swept.reminders += 1
    level = request.escalation_level
    for _, step in due_steps:
        if step.kind is not StepKind.ESCALATION:
            continue
        if step.target is EscalationTarget.DEPARTMENT_HEAD:
            drafts = mail.escalation(session, request, step)
            swept.add(mail.ESCALATION_HEAD, enqueue(session, drafts, now=now))
        elif step.target is EscalationTarget.STEERING_GROUP:
            # As a measure's: a fact for the bodies' digests, which name the part until it
            # is answered or its check closed (``notifications.digest_items``).
            draft = mail.escalation_to_bodies(request, step)
            swept.add(mail.DIGEST_ITEM, enqueue(session, [draft], now=now))
        swept.escalations += 1
        level = max(level, step.index)
    _reschedule(session, request, due_steps[-1][0] + 1, plan, level)


def _reschedule(
    session: Session, request: StatusCheckRequest, next_step: int, plan: list[Step], level: int
) -> None:
    # A plain UPDATE: the schedule is the engine's bookkeeping, not an edit of the part.
    next_at = plan[next_step].at if next_step < len(plan) else None
    session.execute(
        update(StatusCheckRequest)
        .where(StatusCheckRequest.id == request.id)
        .values(action_step=next_step, next_action_at=next_at, escalation_level=level)
        .execution_options(synchronize_session=False)
    )
