"""Indicators of a district and its towns, side by side: each town as a statistical district.

An indicator is the same across organisations when its code is the same. For each code the
latest total value (``cell == ""``, ``district == ""``) of each organisation up to a day is
shown; where every organisation measures it as a count, the towns' values are summed, else
(rates, shares, indices) they are only compared: a sum of percentages means nothing. The
district's own value stands beside the towns' and never enters the sum (it would count the
towns twice). A town that declines to share gives no values (``withheld``). Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation
from workflow.indicators.models import Indicator, IndicatorValue, Unit


@dataclass(frozen=True)
class Latest:
    value: float
    survey_date: date


@dataclass(frozen=True)
class IndicatorRow:
    code: str
    statement: str
    unit: str  # the district's unit, or the first town's; "" when they differ
    summed: bool  # every organisation counts it: ``total`` is the towns' sum
    values: dict[str, Latest | None]  # organisation slug -> its latest value (None: none yet)
    withheld: tuple[str, ...]  # slugs of the towns that share counts only
    total: float | None  # the towns' sum, only where ``summed``


def last_day(year: int, today: date) -> date:
    """Values count up to today, or up to the year's end for a past year."""
    return min(today, date(year, 12, 31))


def latest_values(
    session: Session, organisation_ids: list[int], until: date
) -> dict[tuple[int, str], Latest]:
    """(organisation id, indicator code) -> its latest total value dated ``<= until``."""
    if not organisation_ids:
        return {}
    rows = session.execute(
        select(
            Indicator.organisation_id,
            Indicator.code,
            IndicatorValue.value,
            IndicatorValue.survey_date,
        )
        .join(IndicatorValue, IndicatorValue.indicator_id == Indicator.id)
        .where(
            Indicator.organisation_id.in_(organisation_ids),
            Indicator.active.is_(True),
            IndicatorValue.organisation_id == Indicator.organisation_id,
            IndicatorValue.cell == "",
            IndicatorValue.district == "",
            IndicatorValue.value.is_not(None),
            IndicatorValue.survey_date <= until,
        )
        .order_by(IndicatorValue.survey_date)
    )
    # Ordered by date, so the last one written per key is the latest.
    return {(org_id, code): Latest(float(v or 0), day) for org_id, code, v, day in rows}


def _definitions(session: Session, organisation_ids: list[int]) -> dict[str, dict[int, Indicator]]:
    """code -> organisation id -> that organisation's active indicator of the code."""
    out: dict[str, dict[int, Indicator]] = {}
    for ind in session.scalars(
        select(Indicator).where(
            Indicator.organisation_id.in_(organisation_ids), Indicator.active.is_(True)
        )
    ):
        out.setdefault(ind.code, {})[ind.organisation_id] = ind
    return out


def compare_indicators(
    session: Session, *, district: Organisation, towns: list[Organisation], until: date
) -> list[IndicatorRow]:
    """One row per indicator code the district or a town has, sorted by code."""
    sharing = [t for t in towns if t.shares_with_district]
    withheld = tuple(t.slug for t in towns if not t.shares_with_district)
    shown = [district, *sharing]
    ids = [o.id for o in shown]
    latest = latest_values(session, ids, until)
    rows = []
    for code, by_org in sorted(_definitions(session, ids).items()):
        units = {ind.unit for ind in by_org.values()}
        first = by_org.get(district.id) or next(iter(by_org.values()))
        summed = units == {Unit.COUNT.value}
        values = {o.slug: latest.get((o.id, code)) for o in shown if o.id in by_org}
        town_values = [v.value for t in sharing if (v := values.get(t.slug)) is not None]
        rows.append(
            IndicatorRow(
                code=code,
                statement=first.statement,
                unit=first.unit if len(units) == 1 else "",
                summed=summed,
                values=values,
                withheld=withheld,
                total=sum(town_values) if summed and town_values else None,
            )
        )
    return rows
