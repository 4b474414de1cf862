"""Checking an indicator's rhythm definition: codes of workflow/locales/errors.*.json. Pure.

Apart from ``rhythm`` because ``validation`` imports the forms, which import (through the
mail module) the requests that ``rhythm`` serves.
"""

from __future__ import annotations

from datetime import date

from workflow.indicators.models import Rhythm
from workflow.indicators.rhythm import RhythmSpec, event_days, parse_event_date
from workflow.indicators.validation import DefinitionProblem
from workflow.reports import german

MAX_EVERY_YEARS = 20
FIRST_YEARS = range(1990, 2101)
MAX_EVENT_DATES = 50


def rhythm_issues(spec: RhythmSpec) -> list[DefinitionProblem]:
    """What is wrong with a rhythm; empty when nothing is. Month and day ranges are checked by
    ``validation.definition_issues``."""
    if spec.rhythm not in {r.value for r in Rhythm}:
        return [DefinitionProblem("rhythm", "indicator.rhythm_unknown", {"value": spec.rhythm})]
    months = set(spec.due_months)
    problems: list[DefinitionProblem] = []
    if spec.rhythm == Rhythm.HALF_YEARLY and (
        len(months) != 2 or len({m <= 6 for m in months}) != 2
    ):
        problems.append(DefinitionProblem("due_months", "indicator.half_yearly_months"))
    if spec.rhythm in (Rhythm.YEARLY, Rhythm.EVERY_YEARS) and len(months) != 1:
        problems.append(DefinitionProblem("due_months", "indicator.yearly_one_month"))
    if spec.rhythm == Rhythm.EVERY_YEARS:
        problems += _every_years_issues(spec)
    if spec.rhythm == Rhythm.EVENT:
        problems += _event_issues(spec)
    return problems


def _every_years_issues(spec: RhythmSpec) -> list[DefinitionProblem]:
    problems = []
    if not 2 <= spec.every_years <= MAX_EVERY_YEARS:
        problems.append(
            DefinitionProblem(
                "every_years",
                "indicator.every_years_range",
                {"value": spec.every_years, "max": MAX_EVERY_YEARS},
            )
        )
    if spec.first_year is None:
        problems.append(DefinitionProblem("first_year", "indicator.first_year_missing"))
    elif spec.first_year not in FIRST_YEARS:
        problems.append(
            DefinitionProblem(
                "first_year",
                "indicator.first_year_range",
                {"value": spec.first_year, "min": FIRST_YEARS[0], "max": FIRST_YEARS[-1]},
            )
        )
    return problems


def _event_issues(spec: RhythmSpec) -> list[DefinitionProblem]:
    if not spec.event_dates:
        return [DefinitionProblem("event_dates", "indicator.event_dates_missing")]
    problems = [
        DefinitionProblem("event_dates", "indicator.event_date_invalid", {"value": text})
        for text in spec.event_dates
        if parse_event_date(text) is None
    ]
    if len(spec.event_dates) > MAX_EVENT_DATES:
        problems.append(
            DefinitionProblem(
                "event_dates", "indicator.event_dates_too_many", {"max": MAX_EVENT_DATES}
            )
        )
    seen: dict[tuple[int, int], date] = {}
    for day in event_days(spec):
        other = seen.setdefault((day.year, day.month), day)
        if other != day:
            # One request per indicator and month: two events of a month would share it.
            problems.append(
                DefinitionProblem(
                    "event_dates",
                    "indicator.event_dates_same_month",
                    {"first": german.day(other), "second": german.day(day)},
                )
            )
    return problems
