"""JSON routes of a district's view of its towns, read only.

``GET /api/v1/district/rollup`` (counts per town and summed, indicators compared),
``GET /api/v1/district/towns/{slug}`` (one town's drill-down) and ``GET /api/v1/district/goals``
(per district goal, the towns' measures serving it). For readers of a district organisation;
anyone else, and a town of another district, gets 404, as if the route named nothing (a town
learns nothing of its district or its siblings). A town that shares counts only gives counts
only, and ``note`` says so in the reader's language.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import Reader, SessionDep, organisation_of, today_of
from api.errors import ApiError
from api.i18n import reader_language, translate
from api.routes.schemas import ERRORS
from workflow import runtime
from workflow.catalogue.models import Organisation
from workflow.district.goal_links import measures_by_district_goal
from workflow.district.indicators import IndicatorRow
from workflow.district.rollup import Row, is_district, rollup, town_of
from workflow.district.town_view import town_view

router = APIRouter(prefix="/api/v1/district", tags=["district"], responses=ERRORS)
Year = Annotated[int | None, Query(ge=2000, le=2100)]


class RowOut(BaseModel):
    slug: str
    name: str
    is_district: bool
    year_open: bool
    total: int
    by_state: dict[str, int]
    overdue: int
    status: dict[str, int]
    shares: bool


class LatestOut(BaseModel):
    value: float
    survey_date: date


class IndicatorOut(BaseModel):
    code: str
    statement: str
    unit: str
    summed: bool
    values: dict[str, LatestOut | None]
    withheld: list[str]
    total: float | None


class RollupOut(BaseModel):
    district: str
    year: int
    rows: list[RowOut]
    sum: RowOut
    indicators: list[IndicatorOut]


class OverdueOut(BaseModel):
    measure_code: str
    title: str
    state: str
    due_on: date
    days_overdue: int


class TownOut(BaseModel):
    slug: str
    name: str
    year: int
    shares: bool
    note: str
    year_open: bool
    total: int
    overdue_total: int
    by_state: dict[str, int]
    status: dict[str, int]
    overdue: list[OverdueOut]
    indicators: list[IndicatorOut]


class ServingOut(BaseModel):
    town_name: str
    measure_code: str
    title: str
    state: str
    overdue: bool


class CountedOut(BaseModel):
    town_name: str
    measures: int
    overdue: int


class DistrictGoalOut(BaseModel):
    code: str
    name: str
    measures: list[ServingOut]
    counted: list[CountedOut]


class DistrictGoalsOut(BaseModel):
    district: str
    year: int
    goals: list[DistrictGoalOut]


def _out(row: Row) -> RowOut:
    return RowOut(**row.__dict__)


def _indicator(row: IndicatorRow) -> IndicatorOut:
    values = {k: LatestOut(**v.__dict__) if v else None for k, v in row.values.items()}
    return IndicatorOut(**{**row.__dict__, "values": values, "withheld": list(row.withheld)})


def _district(session: SessionDep, user: Reader) -> Organisation:
    district = organisation_of(session, user)
    if not is_district(district):
        raise ApiError(404, "not_found", reason="page.not_found.district")
    return district


@router.get("/rollup", response_model=RollupOut, summary="Kreis: Verfahrensstand je Kommune")
def district_rollup(user: Reader, session: SessionDep, year: Year = None) -> RollupOut:
    district = _district(session, user)
    found = rollup(
        session,
        district=district,
        year=year or today_of(district).year,
        now=runtime.current().clock.now(),
    )
    return RollupOut(
        district=found.district_slug,
        year=found.year,
        rows=[_out(r) for r in found.rows],
        sum=_out(found.sum),
        indicators=[_indicator(i) for i in found.indicators],
    )


@router.get("/goals", response_model=DistrictGoalsOut, summary="Kreis: Maßnahmen je Kreisziel")
def district_goals(user: Reader, session: SessionDep, year: Year = None) -> DistrictGoalsOut:
    district = _district(session, user)
    chosen = year or today_of(district).year
    rows = measures_by_district_goal(session, district, chosen, runtime.current().clock.now())
    goals = [
        DistrictGoalOut(
            code=r.code,
            name=r.name,
            measures=[ServingOut(**m.__dict__) for m in r.measures],
            counted=[CountedOut(**c.__dict__) for c in r.counted],
        )
        for r in rows
    ]
    return DistrictGoalsOut(district=district.slug, year=chosen, goals=goals)


@router.get("/towns/{slug}", response_model=TownOut, summary="Kreis: eine Kommune, nur zum Lesen")
def district_town(
    slug: Annotated[str, Path(min_length=1, max_length=64)],
    user: Reader,
    session: SessionDep,
    year: Year = None,
) -> TownOut:
    district = _district(session, user)
    town = town_of(session, district, slug)
    if town is None:
        raise ApiError(404, "not_found", reason="page.not_found.town")
    chosen = year or today_of(district).year
    view = town_view(
        session, district=district, town=town, year=chosen, now=runtime.current().clock.now()
    )
    note = "district.town.shares" if view.shares else "district.town.counts_only"
    counts = view.counts
    return TownOut(
        slug=view.slug,
        name=view.name,
        year=view.year,
        shares=view.shares,
        note=translate(note, reader_language()),
        year_open=counts is not None,
        total=counts.total if counts else 0,
        overdue_total=counts.overdue_total if counts else 0,
        by_state=dict(counts.by_state) if counts else {},
        status=view.status,
        overdue=[OverdueOut(**o.__dict__) for o in view.overdue],
        indicators=[_indicator(i) for i in view.indicators],
    )
