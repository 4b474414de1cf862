"""Read queries of the dashboard and the API: counts and lists, grouped in SQL; never writes.

Every function takes the organisation (and usually the cycle) explicitly, so nothing here can
show one organisation's rows to another. "Overdue" is derived, as everywhere: due before
today (in the organisation's time zone) in a state that has a deadline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Date, Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from notifications.models import OutboxMessage
from workflow.catalogue.models import Contact, Department, Field, Goal, Measure
from workflow.cycles import pipeline_store
from workflow.cycles.models import (
    AuditEvent,
    Cycle,
    Interview,
    MeasureCycle,
    Review,
    TargetAgreement,
)
from workflow.machine import STATES, Actor, State

_Q = TypeVar("_Q", bound="Select[*tuple[Any, ...]]")
# "Overdue" everywhere (pipeline, lists, district view, reports, digests): the due date lies
# before the day and someone owes the step. A stay whose phase simply runs out (the 12 months
# of implementation) is moved on by the sweep on its due day and is late for nobody.
OVERDUE_STATES: tuple[str, ...] = tuple(
    s.value for s, spec in STATES.items() if spec.due and spec.due.waiting_on is not Actor.NOBODY
)
# A stay of an earlier cycle in one of these is still open: it shows in every later cycle's
# views as carried ("aus 2026"), so no backlog drops out when next year's cycle opens.
OPEN_STATES: tuple[str, ...] = tuple(s.value for s, spec in STATES.items() if not spec.terminal)
# States in which the department owes an answer: asked, and not yet answered.
WAITING_ON_DEPARTMENT: tuple[str, ...] = (State.TARGET_AGREEMENT.value, State.REVIEW.value)
REMINDER_KINDS = ("reminder", "final_reminder")
ESCALATION_KINDS = ("escalation_head", "digest_item")


@dataclass(frozen=True)
class ItemFilter:
    states: tuple[str, ...] = ()
    overdue: bool | None = None
    escalation_level: int | None = None
    department_id: int | None = None
    field_id: int | None = None
    goal_rank: int | None = None
    contact_id: int | None = None
    measure_cycle_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ItemRow:
    id: int
    cycle_id: int
    year: int
    state: str
    version: int
    due_on: date | None
    entered_state_at: datetime
    escalation_level: int
    measure_id: int
    measure_code: str
    measure_title: str
    goal_code: str
    goal_name: str
    goal_rank: int
    field_id: int
    field_code: str
    field_name: str
    department_id: int
    department_name: str
    contact_id: int | None
    contact_name: str | None
    contact_email: str | None
    today: date

    @property
    def days_overdue(self) -> int:
        if self.due_on is None or self.state not in OVERDUE_STATES:
            return 0
        return max(0, (self.today - self.due_on).days)

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


_EARLIER = "zielflow_earlier_cycles"
# Built once: every request for a cycle's views runs it.
_CYCLES_OF = (
    select(Cycle)
    .where(Cycle.organisation_id == bindparam("organisation_id"))
    .order_by(Cycle.year.desc())
)


def latest_cycle(session: Session, organisation_id: int, year: int | None = None) -> Cycle | None:
    """The organisation's cycle of ``year``, or its latest. All its cycles (one a year) come
    in the same statement, so that the earlier ones' ids, which every view of the cycle
    needs, cost no second one (``earlier_cycle_ids``)."""
    cycles = session.scalars(_CYCLES_OF, {"organisation_id": organisation_id}).all()
    found = next((c for c in cycles if year is None or c.year == year), None)
    if found is not None:
        earlier = session.info.setdefault(_EARLIER, {})
        earlier[found.id] = [c.id for c in cycles if c.year < found.year]
    return found


# Built once: an alias builds its column collection anew each time, which cost a list
# request a tenth of its time (bench/FINDINGS.md).
_THIS_CYCLE = aliased(Cycle, name="this_cycle")


def in_view_of(cycle_id: int | ColumnElement[int]) -> ColumnElement[bool]:
    """The stays a cycle's views show: its own, and the open ones of its organisation's
    earlier cycles (each keeps its own cycle, shown as ``ItemRow.year``)."""
    this = _THIS_CYCLE
    earlier = (
        select(Cycle.id)
        .join(this, this.id == cycle_id)
        .where(Cycle.organisation_id == this.organisation_id, Cycle.year < this.year)
    )
    return or_(
        MeasureCycle.cycle_id == cycle_id,
        and_(MeasureCycle.cycle_id.in_(earlier), MeasureCycle.state.in_(OPEN_STATES)),
    )


def earlier_cycle_ids(session: Session, cycle: Cycle) -> list[int]:
    known = session.info.get(_EARLIER, {}).get(cycle.id)
    if known is not None:
        return list(known)
    return list(
        session.scalars(
            select(Cycle.id).where(
                Cycle.organisation_id == cycle.organisation_id, Cycle.year < cycle.year
            )
        )
    )


def overdue_clause(today: date | ColumnElement[date]) -> ColumnElement[bool]:
    return and_(MeasureCycle.due_on < today, MeasureCycle.state.in_(OVERDUE_STATES))


def _joined(query: _Q, measure_id: Any = MeasureCycle.measure_id) -> _Q:
    """``query`` joined from the stays' ``measure_id`` (or another column holding it) to the
    measure, its goal and field and the department."""
    return (
        query.join(Measure, Measure.id == measure_id)
        .join(Goal, Goal.id == Measure.goal_id)
        .join(Field, Field.id == Goal.field_id)
        .join(Department, Department.id == Measure.department_id)
    )


def _filtered(
    query: _Q,
    cycle_id: int | ColumnElement[int],
    f: ItemFilter,
    today: date | ColumnElement[date],
    *,
    bound: bool = False,
) -> _Q:
    """``query`` cut to ``f``. ``bound``: each of ``f``'s values a parameter named as its
    field (``filter_values``), for a statement built once per ``filter_shape``."""

    def value(name: str) -> Any:
        return _value_of(f, name, bound)

    query = query.where(in_view_of(cycle_id))
    if f.states:
        query = query.where(MeasureCycle.state.in_(value("states")))
    if f.overdue is True:
        query = query.where(overdue_clause(today))
    elif f.overdue is False:
        query = query.where(~overdue_clause(today) | MeasureCycle.due_on.is_(None))
    if f.escalation_level is not None:
        query = query.where(MeasureCycle.escalation_level == value("escalation_level"))
    if f.department_id is not None:
        query = query.where(Measure.department_id == value("department_id"))
    if f.field_id is not None:
        query = query.where(Goal.field_id == value("field_id"))
    if f.goal_rank is not None:
        query = query.where(Goal.rank == value("goal_rank"))
    if f.contact_id is not None:
        query = query.where(Measure.contact_id == value("contact_id"))
    if f.measure_cycle_ids:
        query = query.where(MeasureCycle.id.in_(value("measure_cycle_ids")))
    return query


def _value_of(f: ItemFilter, name: str, bound: bool) -> Any:
    """``f``'s value ``name``, or with ``bound`` a parameter of that name standing for it."""
    given = getattr(f, name)
    return bindparam(name, expanding=isinstance(given, tuple)) if bound else given


def filter_shape(f: ItemFilter) -> tuple[Any, ...]:
    """Which of ``f``'s filters are set (the overdue one with its sense): what a statement
    built with ``bound=True`` depends on, its values aside."""
    return (
        bool(f.states),
        f.overdue,
        f.escalation_level is None,
        f.department_id is None,
        f.field_id is None,
        f.goal_rank is None,
        f.contact_id is None,
        bool(f.measure_cycle_ids),
    )


def filter_values(f: ItemFilter) -> dict[str, Any]:
    """The parameters of a statement built with ``bound=True``, by the names of ``f``'s fields."""
    return {
        "states": list(f.states),
        "escalation_level": f.escalation_level,
        "department_id": f.department_id,
        "field_id": f.field_id,
        "goal_rank": f.goal_rank,
        "contact_id": f.contact_id,
        "measure_cycle_ids": list(f.measure_cycle_ids),
    }


_ITEM_COLUMNS = (
    MeasureCycle.id,
    MeasureCycle.cycle_id,
    Cycle.year,
    MeasureCycle.state,
    MeasureCycle.version,
    MeasureCycle.due_on,
    MeasureCycle.entered_state_at,
    MeasureCycle.escalation_level,
    Measure.id.label("measure_id"),
    Measure.code.label("measure_code"),
    Measure.title.label("measure_title"),
    Goal.code.label("goal_code"),
    Goal.name.label("goal_name"),
    Goal.rank.label("goal_rank"),
    Field.id.label("field_id"),
    Field.code.label("field_code"),
    Field.name.label("field_name"),
    Department.id.label("department_id"),
    Department.name.label("department_name"),
    Contact.id.label("contact_id"),
    Contact.name.label("contact_name"),
    Contact.email.label("contact_email"),
)

# By the stay's copy of the measure's code (revision 0014): the same order as the measure's,
# and an index on the stay serves it.
ORDERS = {
    "code": (MeasureCycle.measure_code,),
    "due": (MeasureCycle.due_on.asc().nulls_last(), MeasureCycle.measure_code),
    "state": (MeasureCycle.state, MeasureCycle.measure_code),
}


def list_items(
    session: Session,
    *,
    cycle_id: int,
    today: date,
    f: ItemFilter = ItemFilter(),
    order: str = "code",
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[ItemRow], int]:
    """One page of measures-in-cycle with everything a list shows, and the total count."""
    base = _filtered(
        _joined(select(*_ITEM_COLUMNS).join(Cycle, Cycle.id == MeasureCycle.cycle_id)).outerjoin(
            Contact, Contact.id == Measure.contact_id
        ),
        cycle_id,
        f,
        today,
    )
    total = count_items(session, cycle_id=cycle_id, today=today, f=f)
    query = base.order_by(*ORDERS.get(order, ORDERS["code"])).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = [ItemRow(**row._mapping, today=today) for row in session.execute(query)]
    return rows, total


def count_items(session: Session, *, cycle_id: int, today: date, f: ItemFilter) -> int:
    """How many stays the list with filter ``f`` holds: summed from the counts table where
    the filter allows (as the pipeline's), else counted row by row."""
    if f.contact_id is None and not f.measure_cycle_ids:
        cycle = session.get_one(Cycle, cycle_id)
        earlier = earlier_cycle_ids(session, cycle)
        statement, params = _counted_total(cycle.id, f, today, earlier)
        return int(session.scalar(statement, params) or 0)
    counted = _filtered(_joined(select(func.count(MeasureCycle.id))), cycle_id, f, today)
    return int(session.scalar(counted) or 0)


def get_item(
    session: Session, *, organisation_id: int, measure_cycle_id: int, today: date
) -> ItemRow | None:
    mc = session.get(MeasureCycle, measure_cycle_id)
    if mc is None or mc.organisation_id != organisation_id:
        return None
    rows, _ = list_items(
        session,
        cycle_id=mc.cycle_id,
        today=today,
        f=ItemFilter(measure_cycle_ids=(measure_cycle_id,)),
    )
    return rows[0] if rows else None


@dataclass
class GroupCounts:
    id: int
    code: str
    name: str
    total: int = 0
    overdue: int = 0
    by_state: dict[str, int] = field(default_factory=dict)


@dataclass
class PipelineCounts:
    cycle_id: int
    year: int
    total: int
    by_state: dict[str, int]
    by_field: list[GroupCounts]
    by_department: list[GroupCounts]
    overdue_total: int
    overdue_by_level: dict[int, int]


def pipeline_counts(
    session: Session, *, cycle: Cycle, today: date, f: ItemFilter = ItemFilter()
) -> PipelineCounts:
    """Counts by phase, field, department and escalation level from one GROUP BY.

    Unless the filter names a contact or stays, the GROUP BY reads the counts table (a few
    thousand rows, kept by triggers; ``workflow.cycles.pipeline_store``) instead of every
    stay. Either way the few hundred groups (field, department, state, level, "overdue")
    are summed here. The overdue filter is applied to the groups, not the scan, because the
    levels count the overdue items whatever that filter says.
    """
    if f.contact_id is None and not f.measure_cycle_ids:
        earlier = earlier_cycle_ids(session, cycle)
        query = _counted_groups(cycle.id, f, today, earlier)
    else:
        query = _scanned_groups(cycle.id, f, today)
    by_state = {s.value: 0 for s in State}
    fields: dict[int, GroupCounts] = {}
    departments: dict[int, GroupCounts] = {}
    by_level: dict[int, int] = {}
    for field_id, code, name, dept_id, dept, state, level, late, n in session.execute(query):
        n, late = int(n), int(late or 0)
        if n == 0:  # every stay of the group left it since the last fold
            continue
        if late:
            by_level[int(level)] = by_level.get(int(level), 0) + n
        if f.overdue is not None and bool(late) != f.overdue:
            continue
        by_state[state] = by_state.get(state, 0) + n
        for groups, gid, gcode, gname in (
            (fields, field_id, code, name),
            (departments, dept_id, dept, dept),
        ):
            g = groups.setdefault(gid, GroupCounts(gid, gcode, gname))
            g.by_state[state] = g.by_state.get(state, 0) + n
            g.total += n
            g.overdue += n * late
    return PipelineCounts(
        cycle_id=cycle.id,
        year=cycle.year,
        total=sum(by_state.values()),
        by_state=by_state,
        by_field=sorted(fields.values(), key=lambda g: (g.code, g.name)),
        by_department=sorted(departments.values(), key=lambda g: (g.code, g.name)),
        overdue_total=sum(by_level.values()),
        overdue_by_level=by_level,
    )


def _scanned_groups(cycle_id: int, f: ItemFilter, today: date) -> Select[Any]:
    is_overdue = case((overdue_clause(today), 1), else_=0)
    group = (
        Field.id,
        Field.code,
        Field.name,
        Department.id,
        Department.name,
        MeasureCycle.state,
        MeasureCycle.escalation_level,
        is_overdue,
    )
    query = _joined(select(*group, func.count(MeasureCycle.id)))
    return _filtered(query, cycle_id, replace(f, overdue=None), today).group_by(*group)


def _counted_groups(
    cycle_id: int, f: ItemFilter, today: date, earlier: Sequence[int] = ()
) -> Select[Any]:
    """The same groups as ``_scanned_groups``, summed from the counts table.

    ``earlier``: the ids of the organisation's earlier cycles (``earlier_cycle_ids``), whose
    open stays the view shows; given as a list, the filter is a range on the primary key.
    """

    kept = _kept_in_view(cycle_id, earlier)
    is_overdue = _kept_overdue(kept, today)
    group = (
        Field.id,
        Field.code,
        Field.name,
        Department.id,
        Department.name,
        kept.c.state,
        kept.c.escalation_level,
        is_overdue,
    )
    query = (
        select(*group, func.sum(kept.c.n))
        .join(Goal, Goal.id == kept.c.goal_id)
        .join(Field, Field.id == Goal.field_id)
        .join(Department, Department.id == kept.c.department_id)
    )
    return _kept_filtered(query, kept, f).group_by(*group)


# The statements of ``_counted_total`` by the filters they apply; a list request would
# otherwise spend more time building its total's statement than the database spends on it.
_TOTALS: dict[tuple[Any, ...], Select[tuple[Any]]] = {}


def _counted_total(
    cycle_id: int, f: ItemFilter, today: date, earlier: Sequence[int] = ()
) -> tuple[Select[tuple[Any]], dict[str, Any]]:
    """How many stays ``_counted_groups`` holds after the overdue filter, summed in SQL (a
    list's total needs neither the names of the groups nor the groups themselves): the
    statement, built once for each combination of filters, and its parameters."""
    shape = (bool(earlier), *filter_shape(f))
    statement = _TOTALS.get(shape)
    if statement is None:
        kept = _kept_in_view(
            bindparam("cycle_id"), bindparam("earlier", expanding=True) if earlier else ()
        )
        statement = select(func.sum(kept.c.n)).select_from(kept)
        if f.field_id is not None or f.goal_rank is not None:
            statement = statement.join(Goal, Goal.id == kept.c.goal_id)
        if f.overdue is not None:
            overdue = _kept_overdue(kept, bindparam("today", type_=Date()))
            statement = statement.where(overdue == int(f.overdue))
        statement = _TOTALS[shape] = _kept_filtered(statement, kept, f, bound=True)
    return statement, {
        "cycle_id": cycle_id,
        "earlier": list(earlier),
        "today": today,
        **filter_values(f),
    }


def _kept_filtered(query: _Q, kept: Any, f: ItemFilter, *, bound: bool = False) -> _Q:
    """``f``'s filters but the overdue one on counts rows; ``Goal`` must be joined for a
    field or goal-rank filter. ``bound``: each value a parameter named as ``f``'s field."""

    def value(name: str) -> Any:
        return _value_of(f, name, bound)

    if f.states:
        query = query.where(kept.c.state.in_(value("states")))
    if f.escalation_level is not None:
        query = query.where(kept.c.escalation_level == value("escalation_level"))
    if f.department_id is not None:
        query = query.where(kept.c.department_id == value("department_id"))
    if f.field_id is not None:
        query = query.where(Goal.field_id == value("field_id"))
    if f.goal_rank is not None:
        query = query.where(Goal.rank == value("goal_rank"))
    return query


def _kept_in_view(cycle_id: Any, earlier: Any) -> Any:
    """The counts table's rows of the stays ``in_view_of`` shows (``pipeline_store.kept_rows``).

    ``cycle_id`` and ``earlier`` (ids, none for a first cycle) may be bound parameters."""
    none_earlier = isinstance(earlier, Sequence) and not earlier

    def in_view(table: Any) -> ColumnElement[bool]:
        mine = table.cycle_id == cycle_id
        if none_earlier:
            return mine
        return or_(mine, and_(table.cycle_id.in_(earlier), table.state.in_(OPEN_STATES)))

    return pipeline_store.kept_rows(in_view)


def _kept_overdue(kept: Any, today: date | ColumnElement[date]) -> ColumnElement[int]:
    """1 for a counts row of overdue stays, else 0 (also where ``due_by`` is null)."""
    late = and_(kept.c.due_by < today, kept.c.state.in_(OVERDUE_STATES))
    return case((late, 1), else_=0)


@dataclass
class OverdueItem:
    item: ItemRow
    last_reminder_at: datetime | None = None
    escalated_to: list[str] = field(default_factory=list)


def overdue_items(
    session: Session, *, cycle_id: int, today: date, f: ItemFilter = ItemFilter()
) -> list[OverdueItem]:
    """Overdue measures, longest overdue first, with their last reminder and escalations."""
    rows, _ = list_items(
        session, cycle_id=cycle_id, today=today, f=replace(f, overdue=True), order="due"
    )
    out = {row.id: OverdueItem(row) for row in rows}
    if not out:
        return []
    # Only messages of the current stay count: reminders of an earlier stay are history.
    entered = {row.id: row.entered_state_at for row in rows}
    messages = session.execute(
        select(
            OutboxMessage.measure_cycle_id,
            OutboxMessage.kind,
            OutboxMessage.recipient_name,
            OutboxMessage.recipient_email,
            OutboxMessage.created_at,
            OutboxMessage.sent_at,
        )
        .where(
            OutboxMessage.measure_cycle_id.in_(list(out)),
            OutboxMessage.kind.in_(REMINDER_KINDS + ESCALATION_KINDS),
        )
        .order_by(OutboxMessage.created_at)
    )
    for mc_id, kind, name, email, created_at, sent_at in messages:
        if mc_id is None or created_at < entered[mc_id]:
            continue
        entry = out[mc_id]
        if kind in REMINDER_KINDS:
            entry.last_reminder_at = sent_at or created_at
        else:
            who = "steering" if kind == "digest_item" else (name or email)
            if who not in entry.escalated_to:
                entry.escalated_to.append(who)
    return list(out.values())


@dataclass
class DepartmentStats:
    id: int
    name: str
    measures: int = 0
    asked: int = 0
    answered: int = 0
    average_days_to_answer: float | None = None
    open_items: int = 0
    overdue_items: int = 0

    @property
    def response_rate(self) -> float | None:
        return None if not self.asked else min(1.0, self.answered / self.asked)


def _seconds_between(session: Session, later: Any, earlier: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def department_stats(session: Session, *, cycle_id: int, today: date) -> list[DepartmentStats]:
    """Per department: how often it was asked, how often and how fast it answered, what is open."""
    in_cycle = in_view_of(cycle_id)
    stats: dict[int, DepartmentStats] = {
        dept_id: DepartmentStats(
            dept_id,
            name,
            measures=int(total),
            open_items=int(waiting or 0),
            overdue_items=int(late or 0),
        )
        for dept_id, name, total, waiting, late in session.execute(
            select(
                Department.id,
                Department.name,
                func.count(MeasureCycle.id),
                func.sum(case((MeasureCycle.state.in_(WAITING_ON_DEPARTMENT), 1), else_=0)),
                func.sum(
                    case(
                        (
                            and_(
                                MeasureCycle.state.in_(WAITING_ON_DEPARTMENT), overdue_clause(today)
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ),
            )
            .join(Measure, Measure.department_id == Department.id)
            .join(MeasureCycle, MeasureCycle.measure_id == Measure.id)
            .where(in_cycle)
            .group_by(Department.id, Department.name)
        )
    }
    entering = and_(
        AuditEvent.to_state.in_(WAITING_ON_DEPARTMENT),
        or_(AuditEvent.from_state.is_(None), AuditEvent.from_state != AuditEvent.to_state),
    )
    asked_query = (
        select(Measure.department_id, func.count(AuditEvent.id))
        .join(MeasureCycle, MeasureCycle.id == AuditEvent.measure_cycle_id)
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .where(in_cycle, entering)
        .group_by(Measure.department_id)
    )
    for dept_id, n in session.execute(asked_query):
        if dept_id in stats:
            stats[dept_id].asked = int(n)
    asked = aliased(AuditEvent)
    answer = AuditEvent
    asked_at = (
        select(func.max(asked.at))
        .where(
            asked.measure_cycle_id == answer.measure_cycle_id,
            asked.to_state == answer.from_state,
            or_(asked.from_state.is_(None), asked.from_state != asked.to_state),
            asked.at <= answer.at,
        )
        .correlate(answer)
        .scalar_subquery()
    )
    answered_query = (
        select(
            Measure.department_id,
            func.count(answer.id),
            func.avg(_seconds_between(session, answer.at, asked_at)),
        )
        .join(MeasureCycle, MeasureCycle.id == answer.measure_cycle_id)
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .where(in_cycle, answer.event.in_(("submit_agreement", "submit_review")))
        .group_by(Measure.department_id)
    )
    for dept_id, n, seconds in session.execute(answered_query):
        if dept_id in stats:
            stats[dept_id].answered = int(n)
            stats[dept_id].average_days_to_answer = (
                None if seconds is None else round(float(seconds) / 86400.0, 1)
            )
    return sorted(stats.values(), key=lambda s: s.name)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "audit", "mail", "interview", "agreement", "review"
    title: str
    detail: dict[str, Any]


def timeline(session: Session, measure_cycle_id: int) -> list[TimelineEntry]:
    """Everything that happened to one measure-in-cycle, oldest first: moves, mails, answers."""
    entries: list[TimelineEntry] = [
        TimelineEntry(
            a.at,
            "audit",
            a.event,
            {"actor": a.actor, "from": a.from_state, "to": a.to_state, "payload": a.payload},
        )
        for a in session.scalars(
            select(AuditEvent).where(AuditEvent.measure_cycle_id == measure_cycle_id)
        )
    ]
    entries += [
        TimelineEntry(
            m.sent_at or m.created_at,
            "mail",
            m.kind,
            {
                "to": m.recipient_name or m.recipient_email,
                "email": m.recipient_email,
                "status": m.status,
            },
        )
        for m in session.scalars(
            select(OutboxMessage).where(OutboxMessage.measure_cycle_id == measure_cycle_id)
        )
    ]
    for kind, answer in answers(session, measure_cycle_id).items():
        moment = getattr(answer, "recorded_at", None) or getattr(answer, "submitted_at", None)
        if answer is not None and moment is not None:
            entries.append(TimelineEntry(moment, kind, kind, {"id": answer.id}))
    return sorted(entries, key=lambda e: (e.at, e.kind != "audit"))


def answers(session: Session, measure_cycle_id: int) -> dict[str, Any]:
    """The submitted answers of one measure-in-cycle, one of each kind or None."""
    return {
        name: session.scalars(
            select(model).where(model.measure_cycle_id == measure_cycle_id)
        ).first()
        for name, model in (
            ("interview", Interview),
            ("agreement", TargetAgreement),
            ("review", Review),
        )
    }


def audit_trail(session: Session, measure_cycle_id: int) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.measure_cycle_id == measure_cycle_id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )


def group_by_state(rows: list[ItemRow]) -> dict[str, list[ItemRow]]:
    out: dict[str, list[ItemRow]] = defaultdict(list)
    for row in rows:
        out[row.state].append(row)
    return out
