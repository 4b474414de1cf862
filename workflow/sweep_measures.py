"""One batch of the sweep over measures-in-cycle, set-based.

Python decides *which* step is due, from the few distinct (state, due date, policy)
combinations of the batch; the database does the rest in a handful of statements per batch,
whatever its size: the claim (columns, not ORM objects), one INSERT…SELECT of the reminders
and one of the escalations, their outbox rows built in SQL from a VALUES list of decisions
joined with measure, goal, field and contact, and one UPDATE of the schedule from a VALUES
list. Only an automatic move (rare) goes through ``apply_event``, because it changes state.

The guarantees of the row-by-row version hold: one transaction per batch (the caller's), the
claim skips rows another sweep holds (SKIP LOCKED; SQLite serialises writers at BEGIN
IMMEDIATE), dedupe keys are unchanged, so a second sweep at the same instant, or a batch
retried after a crash, queues nothing twice, and the schedule is written with a plain UPDATE
that leaves ``version`` alone.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.orm import Session

from notifications.bounces import state as bounce_state
from notifications.models import Channel
from workflow.catalogue.models import Contact, Measure, Organisation
from workflow.clock import Clock
from workflow.cycles.models import AuditEvent, Cycle, MeasureCycle, TargetAgreement
from workflow.db import UTCDateTime
from workflow.deadlines import (
    BusinessCalendar,
    DeadlinePolicy,
    EscalationTarget,
    Step,
    StepKind,
    action_plan,
)
from workflow.machine import STATES, State
from workflow.organisations.active import of_active_organisation
from workflow.sweep_sql import Sql
from workflow.transitions import move

log = logging.getLogger(__name__)

SWEEP_ACTOR = "system:sweep"
# Written by workflow/forms/contact_links.py when a corrected address restarts the reminders.
LADDER_RESTART_EVENT = "contact_address_changed"


class Due(NamedTuple):
    """The columns of one claimed row that the decision and the messages need."""

    id: int
    organisation_id: int
    cycle_id: int
    state: str
    due_on: date | None
    action_step: int
    escalation_level: int
    stay: int
    measure_code: str
    contact_id: int | None
    department_id: int
    contact_email: str | None
    # The department answered "please drop" and waits for the coordinator.
    drop_proposed: bool
    # The latest address correction that restarted the ladder (audit event id), if any.
    restart: int | None


@dataclass
class BatchResult:
    examined: int = 0
    reminders: int = 0
    escalations: int = 0
    moved: int = 0
    queued: Counter[str] = field(default_factory=Counter)


@dataclass
class _Writes:
    """What a batch decided, written at its end in a few statements."""

    reminders: list[tuple[int, str, str, int]] = field(default_factory=list)
    # (measure cycle, dedupe key, kind, channel, recipient contact or None, level, escalated at)
    escalations: list[tuple[int, str, str, str, int | None, int, str]] = field(default_factory=list)
    # (measure cycle, dedupe key without the head, level, escalated at): one row per head
    to_heads: list[tuple[int, str, int, str]] = field(default_factory=list)
    # (measure cycle, next step, next action time, escalation level)
    schedule: list[tuple[int, int, Any, int]] = field(default_factory=list)


def sweep_batch(session: Session, *, now: datetime, clock: Clock, limit: int) -> BatchResult:
    """Claims up to ``limit`` due rows and does what is due for each, in the caller's
    transaction."""
    result = BatchResult()
    due = _claim(session, now, limit)
    result.examined = len(due)
    if not due:
        return result
    sql = Sql(session.connection())
    plans = _Plans(session, due, sql, now)
    writes = _Writes()
    auto: list[Due] = []
    for row in due:
        if row.drop_proposed:
            # The department answered "please drop": chasing it again would be wrong; the
            # item waits, flagged, for the coordinator's decision.
            writes.schedule.append((row.id, row.action_step, None, row.escalation_level))
            continue
        decision = plans.of(row)
        if decision.auto:
            auto.append(row)
        else:
            _record(row, decision, writes, result)
    _prepare(session, due, writes)
    _write_messages(sql, now, writes, result)
    _write_schedule(sql, writes.schedule)
    for row in auto:
        _move(session, clock, row)
        result.moved += 1
    return result


def _claim(session: Session, now: datetime, limit: int) -> list[Due]:
    return [Due(*row) for row in session.execute(_claim_statement(), {"now": now, "limit": limit})]


@cache
def _claim_statement() -> Select[Any]:
    """Built once: composing it cost about 1 ms per batch, as much as a small batch's claim
    takes the database."""
    # SKIP LOCKED lets two sweeps share the work on PostgreSQL; SQLite serialises writers
    # at BEGIN IMMEDIATE, so the second sweep simply finds nothing left to do. The rows are
    # picked first and joined after: a join below the LIMIT would be done for every due row
    # in every batch. Ordered by time alone, so that PostgreSQL can stop reading the index
    # at the limit (SQLite's index carries the id anyway).
    mc = MeasureCycle.__table__.c
    picked = (
        select(
            mc.id,
            mc.organisation_id,
            mc.cycle_id,
            mc.state,
            mc.due_on,
            mc.action_step,
            mc.escalation_level,
            mc.stay,
            mc.measure_id,
        )
        .where(
            mc.next_action_at <= bindparam("now", type_=UTCDateTime()),
            of_active_organisation(MeasureCycle.organisation_id),
        )
        .order_by(mc.next_action_at)
        .limit(bindparam("limit", type_=Integer()))
        .with_for_update(skip_locked=True, of=MeasureCycle.__table__)
        .subquery("picked")
    )
    p = picked.c
    drop_proposed = (
        select(TargetAgreement.id)
        .where(
            TargetAgreement.measure_cycle_id == p.id,
            TargetAgreement.decision == "drop_proposed",
            TargetAgreement.submitted_at.is_not(None),
        )
        .exists()
    )
    # It tells a reminder after a corrected address from the one the old address was sent:
    # the restarted ladder repeats step indexes. None before any correction, so older keys
    # stay as they were.
    restart = (
        select(func.max(AuditEvent.id))
        .where(AuditEvent.measure_cycle_id == p.id, AuditEvent.event == LADDER_RESTART_EVENT)
        .scalar_subquery()
    )
    return (
        select(
            p.id,
            p.organisation_id,
            p.cycle_id,
            p.state,
            p.due_on,
            p.action_step,
            p.escalation_level,
            p.stay,
            Measure.code,
            Measure.contact_id,
            Measure.department_id,
            Contact.email,
            drop_proposed,
            restart,
        )
        .select_from(picked)
        .join(Measure, Measure.id == p.measure_id)
        .outerjoin(Contact, Contact.id == Measure.contact_id)
    )


class Decision(NamedTuple):
    """What is due for every row of one (state, due date, cycle, organisation, step, level)."""

    auto: bool
    reminder: tuple[str, int] | None  # kind and step index
    escalations: tuple[Step, ...]
    next_step: int
    next_at: Any  # as the column stores it
    level: int


class _Plans:
    """Decisions of a batch: the cycles' policies and the organisations' calendars are read
    once, and each decision is computed once per distinct combination (a batch of 500 due
    rows has a handful), so the Python work per row is building its keys."""

    def __init__(self, session: Session, due: list[Due], sql: Sql, now: datetime) -> None:
        self.sql = sql
        self.now = now
        self.policies = {
            cid: DeadlinePolicy.model_validate(policy)
            for cid, policy in session.execute(
                select(Cycle.id, Cycle.policy).where(Cycle.id.in_({r.cycle_id for r in due}))
            )
        }
        self.calendars = {
            oid: BusinessCalendar(state=state, timezone=timezone)
            for oid, state, timezone in session.execute(
                select(Organisation.id, Organisation.state, Organisation.timezone).where(
                    Organisation.id.in_({r.organisation_id for r in due})
                )
            )
        }
        self._memo: dict[tuple[Any, ...], Decision] = {}

    def of(self, row: Due) -> Decision:
        key = (
            row.state,
            row.due_on,
            row.cycle_id,
            row.organisation_id,
            row.action_step,
            row.escalation_level,
        )
        decision = self._memo.get(key)
        if decision is None:
            plan = action_plan(
                State(row.state),
                row.due_on,
                self.policies[row.cycle_id],
                self.calendars[row.organisation_id],
            )
            decision = self._memo[key] = self._decide(plan, row.action_step, row.escalation_level)
        return decision

    def _decide(self, plan: list[Step], step: int, level: int) -> Decision:
        due_steps = [(i, s) for i, s in enumerate(plan) if i >= step and s.at <= self.now]
        if not due_steps:
            return Decision(False, None, (), step, self._at(plan, step), level)
        if any(s.kind is StepKind.AUTO for _, s in due_steps):
            return Decision(True, None, (), step, None, level)
        # A sweep that comes late sends only the latest reminder, but every escalation it
        # owes.
        reminder = None
        reminders = [(i, s) for i, s in due_steps if s.kind is StepKind.REMINDER]
        if reminders:
            i, last_due = reminders[-1]
            last = max((j for j, s in enumerate(plan) if s.kind is StepKind.REMINDER), default=-1)
            reminder = ("final_reminder" if i == last else "reminder", last_due.index)
        escalations = tuple(s for _, s in due_steps if s.kind is StepKind.ESCALATION)
        level = max([level, *(s.index for s in escalations)])
        next_step = due_steps[-1][0] + 1
        return Decision(False, reminder, escalations, next_step, self._at(plan, next_step), level)

    def _at(self, plan: list[Step], step: int) -> Any:
        return self.sql.datetime(plan[step].at) if step < len(plan) else None


def _record(row: Due, decision: Decision, writes: _Writes, result: BatchResult) -> None:
    if decision.reminder is not None:
        kind, index = decision.reminder
        # The mark tells a reminder after a corrected address from the one sent to the old
        # address: the restarted ladder repeats step indexes.
        mark = f":after:{row.restart}" if row.restart else ""
        key = f"mc:{row.id}:{row.stay}:reminder:{index}{mark}"
        writes.reminders.append((row.id, key, kind, index))
        result.reminders += 1
        result.queued[kind] += 0
    for step in decision.escalations:
        result.queued[_escalate(row, step, writes)] += 0
        result.escalations += 1
    writes.schedule.append((row.id, decision.next_step, decision.next_at, decision.level))


def _escalate(row: Due, step: Step, writes: _Writes) -> str:
    """Records one escalation; returns the kind of message it queues."""
    key = f"mc:{row.id}:{row.stay}:escalation:{step.index}"
    at = step.at.isoformat()
    if step.target is EscalationTarget.STEERING_GROUP:
        writes.escalations.append(
            (row.id, key, "digest_item", Channel.DIGEST.value, None, step.index, at)
        )
        return "digest_item"
    # The heads are read for the whole batch at once (``_add_heads``).
    writes.to_heads.append((row.id, key, step.index, at))
    return "escalation_head"


def _prepare(session: Session, due: list[Due], writes: _Writes) -> None:
    """Drops the reminders that cannot go out and finds the heads to escalate to."""
    by_id = {row.id: row for row in due}
    bouncing = _bouncing(session, [by_id[r[0]] for r in writes.reminders])
    kept: list[tuple[int, str, str, int]] = []
    for mc_id, key, kind, step in writes.reminders:
        row = by_id[mc_id]
        if row.contact_id is None or row.contact_email is None:
            log.warning("measure %s has no contact; reminder skipped", row.measure_code)
            continue
        if (row.organisation_id, row.contact_email.strip().lower()) in bouncing:
            # It could not arrive; the coordinators hear of the address in the daily notice,
            # and correcting it restarts this ladder (workflow/forms/contact_links.py).
            log.info("address of measure %s bounces; reminder skipped", row.measure_code)
            continue
        kept.append((mc_id, key, kind, step))
    writes.reminders = kept
    _add_heads(session, by_id, writes)


def _bouncing(session: Session, rows: list[Due]) -> set[tuple[int, str]]:
    emails: dict[int, set[str]] = {}
    for row in rows:
        if row.contact_email is not None:
            emails.setdefault(row.organisation_id, set()).add(row.contact_email)
    return {
        (org_id, address)
        for org_id, addresses in emails.items()
        for address in bounce_state.bouncing(session, org_id, addresses)
    }


def _add_heads(session: Session, by_id: dict[int, Due], writes: _Writes) -> None:
    """One escalation per head of the measure's department, keyed by the head."""
    if not writes.to_heads:
        return
    departments = {by_id[mc_id].department_id for mc_id, _, _, _ in writes.to_heads}
    heads: dict[int | None, list[int]] = {}
    for head_id, department_id in session.execute(
        select(Contact.id, Contact.department_id)
        .where(Contact.department_id.in_(departments), Contact.is_head.is_(True))
        .order_by(Contact.id)
    ):
        heads.setdefault(department_id, []).append(head_id)
    for mc_id, key, level, at in writes.to_heads:
        row = by_id[mc_id]
        found = heads.get(row.department_id, [])
        if not found:
            log.warning(
                "department %s has no head; escalation of %s only recorded",
                row.department_id,
                row.measure_code,
            )
        writes.escalations.extend(
            (mc_id, f"{key}:{head}", "escalation_head", Channel.EMAIL.value, head, level, at)
            for head in found
        )


def _item_context(sql: Sql, *extra: tuple[str, str]) -> str:
    """``notifications.effects.item_context`` in SQL, same keys in the same order."""
    return sql.json_object(
        [
            ("measure_cycle_id", "mc.id"),
            ("cycle_id", "mc.cycle_id"),
            ("measure_code", "m.code"),
            ("measure_title", "m.title"),
            ("goal_code", "g.code"),
            ("goal_name", "g.name"),
            ("field_code", "f.code"),
            ("field_name", "f.name"),
            ("state", "mc.state"),
            ("due_on", "mc.due_on"),
            *extra,
        ]
    )


_COLUMNS = (
    "INSERT INTO outbox_message (organisation_id, dedupe_key, channel, kind, recipient_email,"
    " recipient_name, language, measure_cycle_id, context, status, created_at, not_before,"
    " attempts, last_error)"
)
# CROSS JOIN fixes the join order on SQLite (without statistics its planner may scan the
# VALUES list once per contact); PostgreSQL plans it as any inner join.
_FROM = (
    " FROM d CROSS JOIN measure_cycle mc CROSS JOIN measure m CROSS JOIN goal g CROSS JOIN field f"
)
# The WHERE also tells SQLite the upsert's ON from a join's.
_WHERE = (
    " WHERE mc.id = CAST(d.mc_id AS INTEGER) AND m.id = mc.measure_id AND g.id = m.goal_id"
    " AND f.id = g.field_id AND mc.id {ids}"
)
_TAIL = " ON CONFLICT (dedupe_key) DO NOTHING RETURNING kind"
_ESCALATION_COLUMNS = (
    ("mc_id", "integer"),
    ("dedupe_key", "text"),
    ("kind", "text"),
    ("channel", "text"),
    ("contact_id", "integer"),
    ("level", "integer"),
    ("escalated_at", "text"),
)


def _write_messages(sql: Sql, now: datetime, writes: _Writes, result: BatchResult) -> None:
    at = sql.datetime(now)
    if writes.reminders:
        context = _item_context(sql, ("contact_id", "c.id"), ("step", sql.integer("d.step")))
        body = (
            f"{_COLUMNS} SELECT mc.organisation_id, d.dedupe_key, 'email', d.kind, c.email,"
            f" c.name, c.language, mc.id, {context}, 'pending', {sql.mark}, {sql.mark}, 0, ''"
            f"{_FROM} CROSS JOIN contact c{_WHERE} AND c.id = m.contact_id{_TAIL}"
        )
        columns = (
            ("mc_id", "integer"),
            ("dedupe_key", "text"),
            ("kind", "text"),
            ("step", "integer"),
        )
        rows = sql.run_values("d", columns, writes.reminders, body, at, at)
        result.queued.update(kind for (kind,) in rows)
    if writes.escalations:
        context = _item_context(
            sql,
            ("level", sql.integer("d.level")),
            ("stay", "mc.stay"),
            ("contact_id", "m.contact_id"),
            ("escalated_at", "d.escalated_at"),
        )
        body = (
            f"{_COLUMNS} SELECT mc.organisation_id, d.dedupe_key, d.channel, d.kind,"
            " COALESCE(c.email, ''), COALESCE(c.name, ''), COALESCE(c.language, 'de'), mc.id,"
            f" {context}, 'pending', {sql.mark}, {sql.mark}, 0, ''"
            f"{_FROM} LEFT JOIN contact c ON c.id = {sql.integer('d.contact_id')}{_WHERE}{_TAIL}"
        )
        rows = sql.run_values("d", _ESCALATION_COLUMNS, writes.escalations, body, at, at)
        result.queued.update(kind for (kind,) in rows)


def _write_schedule(sql: Sql, schedule: list[tuple[int, int, Any, int]]) -> None:
    # A plain UPDATE, not an ORM flush: the schedule is the engine's bookkeeping and must
    # not bump the version a coordinator's open page holds.
    if not schedule:
        return
    body = (
        f"UPDATE measure_cycle SET action_step = {sql.integer('s.step')},"
        f" next_action_at = {sql.timestamp('s.at')}, escalation_level = {sql.integer('s.level')}"
        f" FROM s WHERE measure_cycle.id = {sql.integer('s.id')} AND measure_cycle.id {{ids}}"
    )
    columns = (("id", "integer"), ("step", "integer"), ("at", "timestamptz"), ("level", "integer"))
    sql.run_values("s", columns, schedule, body)


def _move(session: Session, clock: Clock, row: Due) -> None:
    rule = STATES[State(row.state)].due
    assert rule is not None and rule.auto_event is not None
    move(
        session=session,
        clock=clock,
        measure_cycle_id=row.id,
        event=rule.auto_event,
        expected_version=None,
        actor=SWEEP_ACTOR,
    )
