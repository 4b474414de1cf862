"""What a district's reports add about its towns (issue 15, item 4); reads only, never writes.

A district's Jahresbericht, Status-Quo-Bericht and council paper compare the district with
its towns (``workflow.district.rollup.towns_of``) and give each town that shares its data
(``Organisation.shares_with_district``) a section of its own. A town that declines is
reduced to counts here already, so no renderer can print one of its measures by mistake.

Every town is read as of the district's report date and in its own cycle of the same year;
nothing asks the clock. Counts follow the Jahresbericht's definitions: measures are the
cycle's view (``in_view_of``), overdue is ``pending.late_items``' rule, reviewed and reached
are ``rates.cycle_rates``' tally.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Department, Field, Goal, Measure, Organisation
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.cycles.queries import in_view_of
from workflow.district.rollup import is_district, towns_of
from workflow.machine import LABELS_DE, State
from workflow.reports import rates
from workflow.reports.data import Scope, StatusQuo, status_quo
from workflow.reports.german import code_key
from workflow.reports.pending import WAITING
from workflow.reports.stands import NO_STATEMENT
from workflow.status_checks.latest import latest_statuses
from workflow.terms import terms_for


@dataclass(frozen=True)
class Counts:
    """One row of the comparison table; the sum row has an empty ``slug``."""

    slug: str
    name: str
    is_district: bool
    shares: bool  # False: a town that shares counts only
    year_open: bool  # the organisation has a cycle of the report's year
    measures: int
    by_state: tuple[tuple[str, int], ...]  # (state value, n) for every state, in cycle order
    overdue: int
    reviewed: int
    reached: int
    partly: int

    @property
    def not_reached(self) -> int:
        """Reviewed without reaching the goal even in part (nicht erreicht, nicht begonnen)."""
        return self.reviewed - self.reached - self.partly

    def state(self, value: str) -> int:
        return dict(self.by_state).get(value, 0)


@dataclass(frozen=True)
class Comparison:
    rows: tuple[Counts, ...]  # the district first, then its towns by name
    total: Counts
    states: tuple[str, ...]  # the states any row has a measure in: the table's columns


@dataclass(frozen=True)
class TownMeasure:
    code: str
    title: str
    field_code: str
    department: str
    state_label: str
    stand: str  # a ``Stand`` value, "" without any statement
    days_overdue: int  # 0: not overdue on the report date


@dataclass(frozen=True)
class TownSection:
    counts: Counts
    measures: tuple[TownMeasure, ...]
    status_quo: StatusQuo | None  # only in the Status-Quo-Bericht


@dataclass(frozen=True)
class LinkedMeasure:
    town: str
    code: str
    title: str
    state_label: str
    stand: str


@dataclass(frozen=True)
class DistrictGoalBlock:
    code: str
    name: str
    measures: tuple[LinkedMeasure, ...]  # the sharing towns' measures serving the goal
    withheld: int  # measures of declining towns serving it: counted, never named


@dataclass(frozen=True)
class DistrictPart:
    district: str
    council: str  # the district's council in its own word (Kreistag)
    report_date: date
    comparison: Comparison
    sections: tuple[TownSection, ...]  # towns that share, by name
    declining: tuple[str, ...]  # names of the towns that share counts only
    goals: tuple[DistrictGoalBlock, ...]


class GoalLinkSource(Protocol):
    """Who answers "which towns' measures serve which district goal". Engineer B's
    ``workflow.district.goal_links.measures_by_district_goal`` was not there when this was
    written; ``linked_measures`` below is the stand-in with this signature."""

    def __call__(
        self,
        session: Session,
        district: Organisation,
        towns: Iterable[Organisation],
        day: date,
        *,
        year: int,
    ) -> tuple[DistrictGoalBlock, ...]: ...


def district_part(
    session: Session, scope: Scope, *, with_status_quo: bool = False
) -> DistrictPart | None:
    """The towns' part of the district's report; None for any other organisation."""
    district = scope.organisation
    if not is_district(district):
        return None
    year, day = scope.cycle.year, scope.report_date
    towns = towns_of(session, district)
    rows = [_counts(session, district, _cycle(session, district, year), day)]
    sections = []
    for town in towns:
        cycle = _cycle(session, town, year)
        row = _counts(session, town, cycle, day)
        rows.append(row)
        if town.shares_with_district:
            sections.append(_section(session, town, cycle, row, day, with_status_quo))
    return DistrictPart(
        district=district.name,
        council=terms_for(district, "de").council,
        report_date=day,
        comparison=_comparison(rows),
        sections=tuple(sections),
        declining=tuple(t.name for t in towns if not t.shares_with_district),
        goals=GOAL_LINKS(session, district, towns, day, year=year),
    )


def _cycle(session: Session, org: Organisation, year: int) -> Cycle | None:
    return session.scalars(
        select(Cycle).where(Cycle.organisation_id == org.id, Cycle.year == year)
    ).first()


def _counts(session: Session, org: Organisation, cycle: Cycle | None, day: date) -> Counts:
    by_state: dict[str, int] = {}
    overdue = 0
    tally = rates.Tally()
    if cycle is not None:
        by_state = {
            state: int(n)
            for state, n in session.execute(
                select(MeasureCycle.state, func.count())
                .where(in_view_of(cycle.id))
                .group_by(MeasureCycle.state)
            )
        }
        overdue = int(
            session.scalar(
                select(func.count()).where(
                    in_view_of(cycle.id),
                    MeasureCycle.due_on < day,
                    MeasureCycle.state.in_(WAITING),
                )
            )
            or 0
        )
        tally = rates.cycle_rates(session, cycle).total
    return Counts(
        slug=org.slug,
        name=org.name,
        is_district=is_district(org),
        shares=is_district(org) or org.shares_with_district,
        year_open=cycle is not None,
        measures=sum(by_state.values()),
        by_state=tuple((s.value, by_state.get(s.value, 0)) for s in State),
        overdue=overdue,
        reviewed=tally.reviewed,
        reached=tally.achieved,
        partly=tally.partly,
    )


def _comparison(rows: list[Counts]) -> Comparison:
    total = Counts(
        slug="",
        name="",
        is_district=False,
        shares=True,
        year_open=any(r.year_open for r in rows),
        measures=sum(r.measures for r in rows),
        by_state=tuple((s.value, sum(r.state(s.value) for r in rows)) for s in State),
        overdue=sum(r.overdue for r in rows),
        reviewed=sum(r.reviewed for r in rows),
        reached=sum(r.reached for r in rows),
        partly=sum(r.partly for r in rows),
    )
    states = tuple(s.value for s in State if total.state(s.value))
    return Comparison(tuple(rows), total, states)


def _section(
    session: Session,
    town: Organisation,
    cycle: Cycle | None,
    row: Counts,
    day: date,
    with_status_quo: bool,
) -> TownSection:
    if cycle is None:
        return TownSection(row, (), None)
    report = status_quo(session, Scope(town, cycle, day)) if with_status_quo else None
    return TownSection(row, _measures(session, town, cycle, day), report)


def _measures(
    session: Session, town: Organisation, cycle: Cycle, day: date
) -> tuple[TownMeasure, ...]:
    rows = session.execute(
        select(
            Measure.id,
            Measure.code,
            Measure.title,
            Field.code,
            Department.name,
            MeasureCycle.state,
            MeasureCycle.due_on,
        )
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .join(Goal, Goal.id == Measure.goal_id)
        .join(Field, Field.id == Goal.field_id)
        .join(Department, Department.id == Measure.department_id)
        .where(in_view_of(cycle.id))
    ).all()
    latest = latest_statuses(
        session, organisation_id=town.id, today=day, measure_ids=[r[0] for r in rows]
    )
    out = [
        TownMeasure(
            code=code,
            title=title,
            field_code=field_code,
            department=department,
            state_label=LABELS_DE[State(state)],
            stand=latest[m_id].stand if m_id in latest else NO_STATEMENT,
            days_overdue=_days_overdue(state, due_on, day),
        )
        for m_id, code, title, field_code, department, state, due_on in rows
    ]
    return tuple(sorted(out, key=lambda m: code_key(m.code)))


def _days_overdue(state: str, due_on: date | None, day: date) -> int:
    """As ``pending.late_items`` counts: due before the day and someone owes the step."""
    if due_on is None or due_on >= day or state not in WAITING:
        return 0
    return (day - due_on).days


def linked_measures(
    session: Session,
    district: Organisation,
    towns: Iterable[Organisation],
    day: date,
    *,
    year: int,
) -> tuple[DistrictGoalBlock, ...]:
    """Per district goal that a town's goal serves (``Goal.district_goal_id``): the towns'
    measures in their cycle of ``year``, with phase and latest stand. Measures of a town that
    shares counts only are counted, not listed."""
    by_id = {t.id: t for t in towns}
    if not by_id:
        return ()
    district_goal = Goal.__table__.alias("district_goal")
    rows = session.execute(
        select(
            district_goal.c.code,
            district_goal.c.name,
            Measure.organisation_id,
            Measure.id,
            Measure.code,
            Measure.title,
            MeasureCycle.state,
        )
        .select_from(Measure)
        .join(Goal, Goal.id == Measure.goal_id)
        .join(district_goal, district_goal.c.id == Goal.district_goal_id)
        .join(MeasureCycle, MeasureCycle.measure_id == Measure.id)
        .join(Cycle, Cycle.id == MeasureCycle.cycle_id)
        .where(
            district_goal.c.organisation_id == district.id,
            Measure.organisation_id.in_(by_id),
            Cycle.organisation_id == Measure.organisation_id,
            Cycle.year == year,
        )
    ).all()
    stands = _stands(session, day, [(r[2], r[3]) for r in rows if by_id[r[2]].shares_with_district])
    goals: dict[tuple[str, str], tuple[list[LinkedMeasure], list[int]]] = {}
    for g_code, g_name, org_id, m_id, code, title, state in rows:
        listed, withheld = goals.setdefault((g_code, g_name), ([], []))
        town = by_id[org_id]
        if not town.shares_with_district:
            withheld.append(m_id)
            continue
        listed.append(
            LinkedMeasure(town.name, code, title, LABELS_DE[State(state)], stands.get(m_id, ""))
        )
    return tuple(
        DistrictGoalBlock(
            code,
            name,
            tuple(sorted(listed, key=lambda m: (m.town, code_key(m.code)))),
            len(withheld),
        )
        for (code, name), (listed, withheld) in sorted(
            goals.items(), key=lambda kv: code_key(kv[0][0])
        )
    )


def _stands(session: Session, day: date, pairs: list[tuple[int, int]]) -> dict[int, str]:
    """measure id -> latest stand, asked per town (each town's own calendar and grace)."""
    by_org: dict[int, list[int]] = {}
    for org_id, m_id in pairs:
        by_org.setdefault(org_id, []).append(m_id)
    out: dict[int, str] = {}
    for org_id, ids in by_org.items():
        for m_id, latest in latest_statuses(
            session, organisation_id=org_id, today=day, measure_ids=ids
        ).items():
            out[m_id] = latest.stand
    return out


# The report's own query, not workflow/district/goal_links.py's: its rows carry each
# measure's latest stand, which the district's page does not show.
GOAL_LINKS: GoalLinkSource = linked_measures
