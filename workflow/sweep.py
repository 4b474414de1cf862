"""The sweep: asks the database what is due now and does it — remind, escalate or move on.

Every decision is recomputed from the row, so running the sweep twice, late, or from two
beats at once changes nothing twice: each message has a unique dedupe key, and the row's
schedule advances in the same transaction that queues the message. The measures' pass is
set-based (``workflow.sweep_measures``): per batch a claim, one INSERT…SELECT of the
reminders, one of the escalations and one UPDATE of the schedule, whatever the batch size.
A second pass does the same (still row by row) for the indicators' data requests: it opens
them on their rhythm dates, then reminds and escalates with the same policy. A third pass
does it for the bodies' Aufträge (``workflow.decisions.assignment_sweep``), another for
status checks, which it also opens at the policy's months of Umsetzung
(``workflow.status_checks.sweep``). Measures waiting in Neuplanung move into the next open
cycle, or their coordinators are reminded to open it (``workflow.cycles.carry``). Last, each
organisation's coordinators are told once a day about addresses newly reported as bouncing
(``notifications.bounces.notice``); no reminder is queued for such an address. Finally the
changes to the pipeline's counts since the last sweep are folded into its counts table
(``workflow.cycles.pipeline_store``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from notifications.bounces.notice import KIND as BOUNCE_NOTICE
from notifications.bounces.notice import queue_bounce_notices
from notifications.outbox import enqueue
from workflow.catalogue.models import Organisation
from workflow.clock import Clock
from workflow.cycles import pipeline_store
from workflow.cycles.calendar import calendar_of
from workflow.cycles.carry import REMINDER_KIND as REPLANNING_REMINDER
from workflow.cycles.carry import sweep_replanning
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar, DeadlinePolicy, EscalationTarget, Step, StepKind
from workflow.decisions.assignment_sweep import sweep_assignments
from workflow.forms import ladder_restart
from workflow.indicators import requests as data_requests
from workflow.indicators.models import DataRequest, RequestStatus
from workflow.milestones.sweep import sweep_milestones
from workflow.organisations.active import of_active_organisation
from workflow.status_checks.sweep import sweep_status_checks
from workflow.sweep_measures import SWEEP_ACTOR, sweep_batch

log = logging.getLogger(__name__)

MAX_BATCHES = 10_000


@dataclass
class SweepReport:
    examined: int = 0
    reminders: int = 0
    escalations: int = 0
    moved: int = 0
    queued: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, queued: int) -> None:
        self.queued += queued
        self.by_kind[kind] = self.by_kind.get(kind, 0) + queued


def run_sweep(
    *, sessions: sessionmaker[Session], clock: Clock, batch_size: int = 500
) -> SweepReport:
    """Work off everything due at ``clock.now()``, one transaction per batch."""
    report = SweepReport()
    now = clock.now()
    for _ in range(MAX_BATCHES):
        with unit_of_work(sessions) as session:
            batch = sweep_batch(session, now=now, clock=clock, limit=batch_size)
        report.examined += batch.examined
        report.reminders += batch.reminders
        report.escalations += batch.escalations
        report.moved += batch.moved
        for kind, queued in batch.queued.items():
            report.add(kind, queued)
        if batch.examined < batch_size:
            break
    carried = sweep_replanning(
        sessions=sessions, clock=clock, actor=SWEEP_ACTOR, batch_size=batch_size
    )
    report.moved += carried.carried
    report.add(REPLANNING_REMINDER, carried.queued)
    _sweep_data_requests(sessions=sessions, now=now, batch_size=batch_size, report=report)
    swept = sweep_assignments(sessions=sessions, now=now, batch_size=batch_size)
    report.examined += swept.examined
    report.reminders += swept.reminders
    report.escalations += swept.escalations
    for kind, queued in swept.queued.items():
        report.add(kind, queued)
    checked = sweep_status_checks(sessions=sessions, now=now, batch_size=batch_size)
    report.examined += checked.examined
    report.reminders += checked.reminders
    report.escalations += checked.escalations
    for kind, queued in checked.queued.items():
        report.add(kind, queued)
    asked = sweep_milestones(sessions=sessions, now=now, batch_size=batch_size)
    report.add("milestone_due", asked)
    with unit_of_work(sessions) as session:
        report.add(BOUNCE_NOTICE, queue_bounce_notices(session, now=now))
    with unit_of_work(sessions) as session:
        pipeline_store.fold(session)
    return report


# -- data deliveries: the same steps for indicator values -----------------------------------


def _sweep_data_requests(
    *, sessions: sessionmaker[Session], now: datetime, batch_size: int, report: SweepReport
) -> None:
    """Open the requests whose rhythm date has come, then remind and escalate the due ones."""
    with unit_of_work(sessions) as session:
        opened = data_requests.open_due_requests(session, now=now)
    report.add("data_request", opened.queued)
    for _ in range(MAX_BATCHES):
        with unit_of_work(sessions) as session:
            due = _claim_due_requests(session, now, batch_size)
            rules: dict[int, tuple[BusinessCalendar, DeadlinePolicy]] = {}
            for request in due:
                org_id = request.organisation_id
                if org_id not in rules:
                    rules[org_id] = _rules_of(session, org_id)
                _process_request(session, request, now, rules[org_id], report)
            report.examined += len(due)
        if len(due) < batch_size:
            break


def _claim_due_requests(session: Session, now: datetime, limit: int) -> list[DataRequest]:
    stmt = (
        select(DataRequest)
        .where(
            DataRequest.next_action_at <= now,
            of_active_organisation(DataRequest.organisation_id),
        )
        .order_by(DataRequest.next_action_at, DataRequest.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=DataRequest)
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt).unique())


def _process_request(
    session: Session,
    request: DataRequest,
    now: datetime,
    rules: tuple[BusinessCalendar, DeadlinePolicy],
    report: SweepReport,
) -> None:
    if request.status != RequestStatus.OPEN.value:
        _reschedule_request(session, request, request.action_step, [], request.escalation_level)
        return
    cal, policy = rules
    plan = data_requests.plan_of(request, policy, cal)
    due_steps = [(i, s) for i, s in enumerate(plan) if i >= request.action_step and s.at <= now]
    if not due_steps:
        _reschedule_request(session, request, request.action_step, plan, request.escalation_level)
        return
    # As for measures: a late sweep sends only the latest reminder, but every escalation.
    reminders = [(i, s) for i, s in due_steps if s.kind is StepKind.REMINDER]
    last_reminder_index = max(
        (i for i, s in enumerate(plan) if s.kind is StepKind.REMINDER), default=-1
    )
    if reminders:
        i, step = reminders[-1]
        mark = ladder_restart.mark_of(session, request.contact_id)
        draft = data_requests.reminder(request, step, final=i == last_reminder_index, mark=mark)
        report.add(draft.kind, enqueue(session, [draft], now=now))
        report.reminders += 1
    level = request.escalation_level
    for _, step in due_steps:
        if step.kind is StepKind.ESCALATION:
            if step.target is EscalationTarget.DEPARTMENT_HEAD:
                drafts = data_requests.escalation(session, request, step)
                report.add("data_escalation_head", enqueue(session, drafts, now=now))
            # The steering-group step raises the level shown on /kennzahlen; the digest
            # lists measures only.
            report.escalations += 1
            level = max(level, step.index)
    _reschedule_request(session, request, due_steps[-1][0] + 1, plan, level)


def _rules_of(session: Session, organisation_id: int) -> tuple[BusinessCalendar, DeadlinePolicy]:
    """Data requests follow the organisation's calendar and its newest cycle's policy."""
    org = session.get(Organisation, organisation_id)
    assert org is not None
    return calendar_of(org), data_requests.policy_for(session, organisation_id)


def _reschedule_request(
    session: Session, request: DataRequest, next_step: int, plan: list[Step], level: int
) -> None:
    next_at = plan[next_step].at if next_step < len(plan) else None
    session.execute(
        update(DataRequest)
        .where(DataRequest.id == request.id)
        .values(action_step=next_step, next_action_at=next_at, escalation_level=level)
        .execution_options(synchronize_session=False)
    )
