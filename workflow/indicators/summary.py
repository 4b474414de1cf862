"""Read-only summaries of every indicator's city-wide series up to a date, for reports and pages.

Reads the database, computes with ``series``, returns frozen values; never writes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow.indicators import series
from workflow.indicators.models import CheckState, Indicator, IndicatorValue


@dataclass(frozen=True)
class IndicatorPoint:
    survey_date: date
    district: str
    value: float | None
    flagged: bool
    # Not yet geprüft, bestätigt or korrigiert by the Monitoringgruppe: reports mark it.
    unchecked: bool = False


@dataclass(frozen=True)
class IndicatorSummary:
    code: str
    statement: str
    unit: str
    direction: str  # "up" | "down" | "target"
    kind: str  # "quantitative" | "survey" | "qualitative"
    goal_codes: tuple[str, ...]
    measure_codes: tuple[str, ...]
    points: tuple[IndicatorPoint, ...]  # city-wide series (district ""), sorted by date
    trend: str  # "steigend" | "fallend" | "gleichbleibend" | "unklar"
    on_track: bool | None
    last_value: float | None
    previous_value: float | None
    # A written indicator (unit "text") has no numbers: its latest report stands instead.
    last_report: str = ""
    last_report_on: date | None = None


def summarise(indicator: Indicator, values: list[IndicatorValue]) -> IndicatorSummary:
    """One indicator's summary from its city-wide values (any order)."""
    points = tuple(
        IndicatorPoint(
            v.survey_date, v.district, v.value, v.flagged, v.check_state == CheckState.UNCHECKED
        )
        for v in sorted(values, key=lambda v: v.survey_date)
    )
    numeric = [(p.survey_date, p.value) for p in points if p.value is not None]
    trend = series.trend(numeric)
    last = numeric[-1][1] if numeric else None
    reports = [v for v in sorted(values, key=lambda v: v.survey_date) if v.report.strip()]
    previous = numeric[-2][1] if len(numeric) > 1 else None
    return IndicatorSummary(
        code=indicator.code,
        statement=indicator.statement,
        unit=indicator.unit,
        direction=indicator.direction,
        kind=indicator.kind.value,
        goal_codes=tuple(g.code for g in indicator.goals),
        measure_codes=tuple(m.code for m in indicator.measures),
        points=points,
        trend=trend,
        on_track=series.on_track(
            indicator.direction, trend, last=last, target=indicator.target_value
        ),
        last_value=last,
        previous_value=previous,
        last_report=reports[-1].report.strip() if reports else "",
        last_report_on=reports[-1].survey_date if reports else None,
    )


def indicator_summaries(
    session: Session, *, organisation_id: int, until: date
) -> list[IndicatorSummary]:
    """Every active indicator of the organisation, sorted by code; values dated ``<= until``."""
    indicators = session.scalars(
        select(Indicator)
        .where(Indicator.organisation_id == organisation_id, Indicator.active.is_(True))
        .options(selectinload(Indicator.goals), selectinload(Indicator.measures))
        .order_by(Indicator.code)
    ).all()
    by_indicator: dict[int, list[IndicatorValue]] = defaultdict(list)
    for value in session.scalars(
        select(IndicatorValue).where(
            IndicatorValue.organisation_id == organisation_id,
            IndicatorValue.district == "",
            IndicatorValue.cell == "",
            IndicatorValue.survey_date <= until,
        )
    ):
        by_indicator[value.indicator_id].append(value)
    return [summarise(ind, by_indicator.get(ind.id, [])) for ind in indicators]
