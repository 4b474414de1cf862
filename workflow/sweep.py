"""The sweep: asks the database what is due now and does it — remind, escalate or move on.

Every decision is recomputed from the row, so running the sweep twice, late, or from two
beats at once changes nothing twice: each message has a unique dedupe key, and the row's
schedule advances in the same transaction that queues the message. A second pass does the
same for the indicators' data requests: it opens them on their rhythm dates, then reminds
and escalates with the same policy. A third pass does it for the bodies' Aufträge
(``workflow.decisions.assignment_sweep``), another for status checks, which it also opens
at the policy's months of Umsetzung (``workflow.status_checks.sweep``). Measures waiting in
Neuplanung move into the next open cycle, or their coordinators are reminded to open it
(``workflow.cycles.carry``). Last, each organisation's coordinators are told once a day about
addresses newly reported as bouncing (``notifications.bounces.notice``); no reminder is queued
for such an address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from notifications.bounces import state as bounce_state
from notifications.bounces.notice import KIND as BOUNCE_NOTICE
from notifications.bounces.notice import queue_bounce_notices
from notifications.effects import item_context
from notifications.models import Channel
from notifications.outbox import Draft, enqueue
from workflow.catalogue.models import Contact, Organisation
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_and_policy, calendar_of
from workflow.cycles.carry import REMINDER_KIND as REPLANNING_REMINDER
from workflow.cycles.carry import sweep_replanning
from workflow.cycles.models import AuditEvent, MeasureCycle, TargetAgreement
from workflow.cycles.stay import plan_of
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar, DeadlinePolicy, EscalationTarget, Step, StepKind
from workflow.decisions.assignment_sweep import sweep_assignments
from workflow.forms import ladder_restart
from workflow.indicators import requests as data_requests
from workflow.indicators.models import DataRequest, RequestStatus
from workflow.machine import STATES, State
from workflow.milestones.sweep import sweep_milestones
from workflow.organisations.active import of_active_organisation
from workflow.status_checks.sweep import sweep_status_checks
from workflow.transitions import apply_event

log = logging.getLogger(__name__)

SWEEP_ACTOR = "system:sweep"
# Written by workflow/forms/contact_links.py when a corrected address restarts the reminders.
LADDER_RESTART_EVENT = "contact_address_changed"
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
            due = _claim_due(session, now, batch_size)
            waiting_on_coordinator = _drop_proposed(session, [mc.id for mc in due])
            for mc in due:
                if mc.id in waiting_on_coordinator:
                    # The department answered "please drop": chasing it again would be wrong;
                    # the item waits, flagged, for the coordinator's decision.
                    _reschedule(session, mc, mc.action_step, [], mc.escalation_level)
                    continue
                _process(session, mc, now, clock, report)
            report.examined += len(due)
        if len(due) < batch_size:
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
    return report


def _claim_due(session: Session, now: datetime, limit: int) -> list[MeasureCycle]:
    # SKIP LOCKED lets two sweeps share the work on PostgreSQL; SQLite serialises writers
    # at BEGIN IMMEDIATE, so the second sweep simply finds nothing left to do.
    stmt = (
        select(MeasureCycle)
        .where(
            MeasureCycle.next_action_at <= now,
            of_active_organisation(MeasureCycle.organisation_id),
        )
        .order_by(MeasureCycle.next_action_at, MeasureCycle.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=MeasureCycle)
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt))


def _drop_proposed(session: Session, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    return set(
        session.scalars(
            select(TargetAgreement.measure_cycle_id).where(
                TargetAgreement.measure_cycle_id.in_(ids),
                TargetAgreement.decision == "drop_proposed",
                TargetAgreement.submitted_at.is_not(None),
            )
        )
    )


def _process(
    session: Session, mc: MeasureCycle, now: datetime, clock: Clock, report: SweepReport
) -> None:
    cal, policy = calendar_and_policy(session, mc)
    plan = plan_of(mc, policy, cal)
    due_steps = [(i, s) for i, s in enumerate(plan) if i >= mc.action_step and s.at <= now]
    if not due_steps:
        _reschedule(session, mc, mc.action_step, plan, mc.escalation_level)
        return
    auto = next((s for _, s in due_steps if s.kind is StepKind.AUTO), None)
    if auto is not None:
        rule = STATES[State(mc.state)].due
        assert rule is not None and rule.auto_event is not None
        apply_event(
            session=session,
            clock=clock,
            measure_cycle_id=mc.id,
            event=rule.auto_event,
            expected_version=None,
            actor=SWEEP_ACTOR,
        )
        report.moved += 1
        return
    # A sweep that comes late sends only the latest reminder, but every escalation it owes.
    reminders = [(i, s) for i, s in due_steps if s.kind is StepKind.REMINDER]
    last_reminder_index = max(i for i, s in enumerate(plan) if s.kind is StepKind.REMINDER)
    if reminders:
        i, step = reminders[-1]
        kind = "final_reminder" if i == last_reminder_index else "reminder"
        report.add(kind, _remind(session, mc, step, kind, now))
        report.reminders += 1
    level = mc.escalation_level
    for _, step in due_steps:
        if step.kind is StepKind.ESCALATION:
            report.add(*_escalate(session, mc, step, now))
            report.escalations += 1
            level = max(level, step.index)
    _reschedule(session, mc, due_steps[-1][0] + 1, plan, level)


def _reschedule(
    session: Session, mc: MeasureCycle, next_step: int, plan: list[Step], level: int
) -> None:
    # A plain UPDATE, not an ORM flush: the schedule is the engine's bookkeeping and must
    # not bump the version a coordinator's open page holds.
    next_at = plan[next_step].at if next_step < len(plan) else None
    session.execute(
        update(MeasureCycle)
        .where(MeasureCycle.id == mc.id)
        .values(action_step=next_step, next_action_at=next_at, escalation_level=level)
        .execution_options(synchronize_session=False)
    )


def _remind(session: Session, mc: MeasureCycle, step: Step, kind: str, now: datetime) -> int:
    contact = mc.measure.contact
    if contact is None:
        log.warning("measure %s has no contact; reminder skipped", mc.measure.code)
        return 0
    if bounce_state.is_bouncing(session, mc.organisation_id, contact.email):
        # It could not arrive; the coordinators hear of the address in the daily notice, and
        # correcting it restarts this ladder (workflow/forms/contact_links.py).
        log.info("address of measure %s bounces; reminder skipped", mc.measure.code)
        return 0
    return enqueue(
        session,
        [
            Draft(
                organisation_id=mc.organisation_id,
                dedupe_key=f"mc:{mc.id}:{mc.stay}:reminder:{step.index}{_restart_mark(session, mc)}",
                kind=kind,
                recipient_email=contact.email,
                recipient_name=contact.name,
                language=contact.language,
                measure_cycle_id=mc.id,
                context={**item_context(mc), "contact_id": contact.id, "step": step.index},
            )
        ],
        now=now,
    )


def _restart_mark(session: Session, mc: MeasureCycle) -> str:
    """Tells a reminder after a corrected address from the one the old address was sent: the
    restarted ladder repeats step indexes. Empty before any correction, so the keys of
    reminders queued before this existed stay as they were."""
    restart = session.scalar(
        select(func.max(AuditEvent.id)).where(
            AuditEvent.measure_cycle_id == mc.id, AuditEvent.event == LADDER_RESTART_EVENT
        )
    )
    return f":after:{restart}" if restart else ""


def _escalate(session: Session, mc: MeasureCycle, step: Step, now: datetime) -> tuple[str, int]:
    context = {
        **item_context(mc),
        "level": step.index,
        "stay": mc.stay,
        "contact_id": mc.measure.contact_id,
        "escalated_at": step.at.isoformat(),
    }
    if step.target is EscalationTarget.STEERING_GROUP:
        return "digest_item", enqueue(
            session,
            [
                Draft(
                    organisation_id=mc.organisation_id,
                    dedupe_key=f"mc:{mc.id}:{mc.stay}:escalation:{step.index}",
                    kind="digest_item",
                    recipient_email="",
                    channel=Channel.DIGEST,
                    measure_cycle_id=mc.id,
                    context=context,
                )
            ],
            now=now,
        )
    heads = session.scalars(
        select(Contact)
        .where(Contact.department_id == mc.measure.department_id, Contact.is_head.is_(True))
        .order_by(Contact.id)
    ).all()
    if not heads:
        log.warning(
            "department %s has no head; escalation of %s only recorded",
            mc.measure.department_id,
            mc.measure.code,
        )
    return "escalation_head", enqueue(
        session,
        [
            Draft(
                organisation_id=mc.organisation_id,
                dedupe_key=f"mc:{mc.id}:{mc.stay}:escalation:{step.index}:{head.id}",
                kind="escalation_head",
                recipient_email=head.email,
                recipient_name=head.name,
                language=head.language,
                measure_cycle_id=mc.id,
                context=context,
            )
            for head in heads
        ],
        now=now,
    )


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
