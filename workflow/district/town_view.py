"""One town as its district sees it (``/kreis/{slug}``): read only, and only what it shares.

Every town shows its pipeline counts and status counts. A town that shares with its district
also shows its overdue measures (code, title, state, due date, days overdue) and its latest
indicator values; a town that declines (``shares_with_district`` False) shows counts only:
no list, no measure title, no value. Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.queries import ItemFilter, PipelineCounts, list_items
from workflow.district.indicators import IndicatorRow, compare_indicators, last_day
from workflow.district.rollup import STATUS_KEYS, counts_of
from workflow.district.status import status_counts


@dataclass(frozen=True)
class OverdueRow:
    measure_code: str
    title: str
    state: str
    due_on: date
    days_overdue: int


@dataclass(frozen=True)
class TownView:
    slug: str
    name: str
    year: int
    shares: bool
    counts: PipelineCounts | None  # None: no cycle of the year
    status: dict[str, int]
    overdue: tuple[OverdueRow, ...]  # empty where the town shares counts only
    indicators: tuple[IndicatorRow, ...]  # the town's own column only; empty likewise


def overdue_rows(session: Session, cycle_id: int, today: date) -> tuple[OverdueRow, ...]:
    """The overdue measures in view, longest overdue first."""
    rows, _ = list_items(
        session, cycle_id=cycle_id, today=today, f=ItemFilter(overdue=True), order="due"
    )
    return tuple(
        OverdueRow(r.measure_code, r.measure_title, r.state, r.due_on, r.days_overdue)
        for r in rows
        if r.due_on is not None
    )


def town_view(
    session: Session, *, district: Organisation, town: Organisation, year: int, now: datetime
) -> TownView:
    today = calendar_of(town).local_date(now)
    counts = counts_of(session, town, year, now)
    status = status_counts(session, town, counts.cycle_id, today) if counts else {}
    shares = town.shares_with_district
    overdue = overdue_rows(session, counts.cycle_id, today) if counts and shares else ()
    indicators: tuple[IndicatorRow, ...] = ()
    if shares:
        rows = compare_indicators(
            session, district=district, towns=[town], until=last_day(year, today)
        )
        indicators = tuple(r for r in rows if town.slug in r.values)
    return TownView(
        slug=town.slug,
        name=town.name,
        year=year,
        shares=shares,
        counts=counts,
        status={k: status.get(k, 0) for k in STATUS_KEYS},
        overdue=overdue,
        indicators=indicators,
    )
