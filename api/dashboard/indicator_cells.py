"""An indicator's values side by side per cell of its breakdowns, for the indicator page.

One column per cell (the total first, then the indicator's order), one row per survey date
of the city-wide values, each value with its base figures ("45 von 380"); and a line chart
with one line per cell, drawn by ``workflow.reports.charts`` as the reports draw theirs.
Nothing is shown for an indicator whose values are all typed totals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from workflow.indicators.breakdown import cell_label, cells_of, ordered
from workflow.indicators.dimensions import dimensions_of, indicator_dimensions, labels
from workflow.indicators.mail import format_number, unit_label
from workflow.indicators.models import Indicator, IndicatorValue, Unit
from workflow.reports import charts


def _figure(number: float, lang: str) -> str:
    """A base figure: a count without decimals, else as an index is written."""
    unit = Unit.COUNT if float(number).is_integer() else Unit.INDEX
    return format_number(number, unit, lang)


def shown_value(value: IndicatorValue, unit: str, lang: str, t: Callable[..., str]) -> str:
    """The value with its base figures, e.g. "11,8 % (45 von 380)"."""
    text = format_number(value.value, unit, lang)
    extra = []
    if value.numerator is not None and value.denominator is not None:
        extra.append(
            t(
                "ind.cells.base",
                numerator=_figure(value.numerator, lang),
                denominator=_figure(value.denominator, lang),
            )
        )
    if value.population_share is not None:
        extra.append(t("ind.cells.share", share=_figure(value.population_share, lang)))
    return f"{text} ({'; '.join(extra)})" if extra else text


def cell_view(
    session: Session,
    indicator: Indicator,
    values: Sequence[IndicatorValue],
    lang: str,
    t: Callable[..., str],
) -> dict[str, Any] | None:
    """The table and chart, or None when there is nothing beyond the typed total."""
    city = [v for v in values if v.district == ""]
    with_base = any(v.numerator is not None for v in city)
    if all(v.cell == "" for v in city) and not with_base:
        return None
    kept = dimensions_of(session, indicator.organisation_id)
    names = labels(kept)
    order = cells_of(indicator_dimensions(kept, indicator.dimensions or []))
    keys = ordered({"", *(v.cell for v in city)}, order)
    by: dict[tuple[date, str], IndicatorValue] = {(v.survey_date, v.cell): v for v in city}
    days = sorted({v.survey_date for v in city}, reverse=True)
    columns = [t("data.cell.total") if k == "" else cell_label(k, names) for k in keys]
    rows = [
        {
            "date": day,
            "cells": [
                shown_value(by[(day, k)], indicator.unit, lang, t) if (day, k) in by else "–"
                for k in keys
            ],
        }
        for day in days
    ]
    lines = [
        charts.Line(
            label,
            tuple(
                charts.Point(v.survey_date, v.value, v.flagged)
                for v in sorted(city, key=lambda v: v.survey_date)
                if v.cell == key and v.value is not None
            ),
        )
        for key, label in zip(keys, columns, strict=True)
    ]
    chart = charts.line_chart(
        t("ind.cells.chart"), lines, unit=unit_label(indicator.unit, lang), width=640, height=260
    )
    every = {*keys, *(v.cell for v in values)}
    cell_names = {k: cell_label(k, names) for k in every if k}
    return {"columns": columns, "rows": rows, "chart": chart, "labels": cell_names}
