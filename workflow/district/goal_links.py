"""A town's goal serving a goal of its district (``Goal.district_goal_id``), and what the
district sees of it.

``link_goal`` sets or clears the link with its checks: the goal's organisation is a town of a
district, and the district goal belongs to that district; a refusal is a ``GoalLinkRefused``
with a code and parameters, worded at the edge (api/locales/district2.*.json,
``goal_link.error.<code>``). Never commits; the caller owns the transaction.

``measures_by_district_goal`` lists, per district goal, the towns' measures that serve it in
the year's pipeline with their state; a town that shares counts only appears there as
counts. The district reports call it: keep its signature and its frozen rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Goal, Measure, Organisation, OrganisationKind
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.cycles.queries import OVERDUE_STATES, in_view_of
from workflow.district.rollup import towns_of
from workflow.reports.german import code_key


class GoalLinkRefused(Exception):
    def __init__(self, code: str, params: dict[str, Any]) -> None:
        self.code = code
        self.params = params
        super().__init__(code)


@dataclass(frozen=True)
class ServingMeasure:
    town_name: str
    measure_code: str
    title: str
    state: str
    overdue: bool


@dataclass(frozen=True)
class TownCount:
    """What a town that shares counts only gives of the measures serving one district goal."""

    town_name: str
    measures: int
    overdue: int


@dataclass(frozen=True)
class DistrictGoalRow:
    code: str
    name: str
    measures: tuple[ServingMeasure, ...]  # sharing towns' measures, by town then code
    counted: tuple[TownCount, ...]  # towns that share counts only, by name


def district_of(session: Session, town: Organisation) -> Organisation | None:
    if town.kind != OrganisationKind.TOWN.value or town.parent_id is None:
        return None
    parent = session.get(Organisation, town.parent_id)
    return parent if parent and parent.kind == OrganisationKind.DISTRICT.value else None


def district_goals(session: Session, district: Organisation) -> list[Goal]:
    goals = session.scalars(select(Goal).where(Goal.organisation_id == district.id)).all()
    return sorted(goals, key=lambda g: code_key(g.code))


def link_goal(session: Session, *, goal: Goal, district_goal_code: str | None) -> Goal:
    """Let ``goal`` serve the district goal of that code, or serve none (``None`` or "")."""
    town = session.get(Organisation, goal.organisation_id)
    district = district_of(session, town) if town else None
    if district is None:
        raise GoalLinkRefused("not_a_town", {"goal": goal.code})
    code = (district_goal_code or "").strip()
    if not code:
        goal.district_goal_id = None
        session.flush()
        return goal
    target = session.scalars(
        select(Goal).where(Goal.organisation_id == district.id, Goal.code == code)
    ).first()
    if target is None:
        raise GoalLinkRefused(
            "unknown_district_goal", {"code": code[:40], "district": district.name}
        )
    goal.district_goal_id = target.id
    session.flush()
    return goal


def measures_by_district_goal(
    session: Session, district: Organisation, year: int, now: datetime
) -> list[DistrictGoalRow]:
    """Per district goal (by code), the towns' measures serving it in the year's pipeline."""
    goals = district_goals(session, district)
    serving: dict[int, list[ServingMeasure]] = {g.id: [] for g in goals}
    counted: dict[int, list[TownCount]] = {g.id: [] for g in goals}
    for town in towns_of(session, district):
        rows = _serving(session, town, year, calendar_of(town).local_date(now))
        for goal_id, found in _by_goal(rows).items():
            if goal_id not in serving:
                continue  # a link to a goal no longer the district's: not shown
            if town.shares_with_district:
                serving[goal_id].extend(found)
            else:
                late = sum(1 for m in found if m.overdue)
                counted[goal_id].append(TownCount(town.name, len(found), late))
    return [
        DistrictGoalRow(g.code, g.name, tuple(serving[g.id]), tuple(counted[g.id])) for g in goals
    ]


def _serving(
    session: Session, town: Organisation, year: int, today: date
) -> list[tuple[int, ServingMeasure]]:
    cycle_id = session.scalars(
        select(Cycle.id).where(Cycle.organisation_id == town.id, Cycle.year == year)
    ).first()
    if cycle_id is None:
        return []
    query = (
        select(
            Goal.district_goal_id,
            Measure.code,
            Measure.title,
            MeasureCycle.state,
            MeasureCycle.due_on,
        )
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .join(Goal, Goal.id == Measure.goal_id)
        .where(
            in_view_of(cycle_id),
            Goal.organisation_id == town.id,
            Goal.district_goal_id.is_not(None),
        )
    )
    out = []
    for goal_id, code, title, state, due_on in session.execute(query):
        late = due_on is not None and due_on < today and state in OVERDUE_STATES
        out.append((goal_id or 0, ServingMeasure(town.name, code, title, state, late)))
    return sorted(out, key=lambda pair: code_key(pair[1].measure_code))


def _by_goal(rows: list[tuple[int, ServingMeasure]]) -> dict[int, list[ServingMeasure]]:
    out: dict[int, list[ServingMeasure]] = {}
    for goal_id, measure in rows:
        out.setdefault(goal_id, []).append(measure)
    return out
