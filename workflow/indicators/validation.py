"""Checking an indicator value against its unit, from a form's strings or an API's numbers. Pure.

Errors carry a message key of ``api/locales/indicators.*.json`` (``data.error.*``) and the
field they belong to; a definition's problems carry a code of workflow/locales/errors.*.json.
This module never decides about outliers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from workflow import messages
from workflow.forms.validation import MAX_MAGNITUDE, FieldError, parse_date, parse_number
from workflow.indicators.models import Unit

MAX_TEXT = 10_000
SCALE_POINTS = 5


@dataclass(frozen=True)
class Entry:
    """One value to store: city-wide (district "") or for one district."""

    district: str
    value: float | None = None
    counts: tuple[int, ...] | None = None
    report: str = ""


@dataclass
class CheckedDelivery:
    survey_date: date | None
    entries: list[Entry]
    comment: str
    errors: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def number_error(unit: str, number: Decimal) -> str | None:
    """The message key for a number its unit does not allow, or None."""
    if unit == Unit.PERCENT and not 0 <= number <= 100:
        return "data.error.percent_range"
    if unit == Unit.COUNT and (number < 0 or number != number.to_integral_value()):
        return "data.error.count_integer"
    if unit in (Unit.RATE, Unit.CURRENCY) and number < 0:
        return "data.error.not_negative"
    if abs(number) > MAX_MAGNITUDE:
        # Beyond any count or amount of a city: 1e309 would even become infinity as a float
        # (and could not be rounded to cents below).
        return "data.error.number_too_large"
    if unit == Unit.CURRENCY and number != number.quantize(Decimal("0.01")):
        return "data.error.currency_cents"
    return None


def check_number(unit: str, text: str) -> tuple[float | None, str | None]:
    number = parse_number(text)
    if number is None:
        return None, "data.error.number_invalid"
    error = number_error(unit, number)
    return (None, error) if error else (float(number), None)


def check_counts(texts: Sequence[str]) -> tuple[tuple[int, ...] | None, list[tuple[int, str]]]:
    """Five answer counts (an empty field counts 0); errors by scale point (1..5)."""
    counts: list[int] = []
    errors: list[tuple[int, str]] = []
    for point, text in enumerate(texts, start=1):
        number = parse_number(text) if text.strip() else Decimal(0)
        if number is None:
            errors.append((point, "data.error.number_invalid"))
            continue
        error = number_error(Unit.COUNT, number)
        if error:
            errors.append((point, error))
            continue
        counts.append(int(number))
    if errors:
        return None, errors
    if sum(counts) == 0:
        return None, [(1, "data.error.survey_empty")]
    return tuple(counts), []


def check_delivery(
    unit: str, districts: Sequence[str], raw: Mapping[str, str], *, today: date
) -> CheckedDelivery:
    """One request's posted fields (names without the ``r-<id>-`` prefix) into entries.

    ``survey_date``; then by unit: ``value`` and ``value-<n>`` per district, or ``c1``..``c5``,
    or ``report``; ``comment`` always. The city-wide value is required, districts are not.
    """

    def text(name: str) -> str:
        return (raw.get(name) or "").strip()

    errors: list[FieldError] = []
    survey_text = text("survey_date")
    survey_date = parse_date(survey_text) if survey_text else None
    if not survey_text:
        errors.append(FieldError("survey_date", "data.error.date_required"))
    elif survey_date is None:
        errors.append(FieldError("survey_date", "data.error.date_invalid"))
    elif survey_date > today:
        errors.append(FieldError("survey_date", "data.error.date_future"))
    comment = text("comment")
    if len(comment) > MAX_TEXT:
        errors.append(FieldError("comment", "data.error.too_long", {"max": MAX_TEXT}))
    entries: list[Entry] = []
    if unit == Unit.TEXT:
        report = text("report")
        if not report:
            errors.append(FieldError("report", "data.error.report_required"))
        elif len(report) > MAX_TEXT:
            errors.append(FieldError("report", "data.error.too_long", {"max": MAX_TEXT}))
        else:
            entries.append(Entry("", report=report))
    elif unit == Unit.SCALE:
        counts, count_errors = check_counts([text(f"c{p}") for p in range(1, SCALE_POINTS + 1)])
        errors += [FieldError(f"c{p}", key) for p, key in count_errors]
        if counts is not None:
            entries.append(Entry("", counts=counts))
    else:
        for name, district in [
            ("value", ""),
            *((f"value-{i}", d) for i, d in enumerate(districts)),
        ]:
            typed = text(name)
            if not typed:
                if not district:
                    errors.append(FieldError(name, "data.error.value_required"))
                continue
            number, error = check_number(unit, typed)
            if error:
                errors.append(FieldError(name, error))
            else:
                entries.append(Entry(district, value=number))
    return CheckedDelivery(survey_date, entries, comment, errors)


def entry_error(unit: str, entry: Entry) -> str | None:
    """The message key for an API's typed entry that its unit does not allow, or None."""
    if unit == Unit.TEXT:
        return None if entry.report.strip() else "data.error.report_required"
    if unit == Unit.SCALE:
        if entry.counts is None or len(entry.counts) != SCALE_POINTS:
            return "data.error.survey_counts"
        _, errors = check_counts([str(c) for c in entry.counts])
        return errors[0][1] if errors else None
    if entry.value is None:
        return "data.error.value_required"
    return number_error(unit, Decimal(str(entry.value)))


@dataclass(frozen=True)
class DefinitionProblem:
    """One flaw of an indicator's definition: the field, a code of workflow/locales/errors.*.json
    and its parameters, so that each edge words it in its reader's language."""

    field: str
    code: str
    # Spelled out: inside this class "field" is the attribute above, not dataclasses.field.
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def text(self, lang: str) -> str:
        return messages.message(self.code, lang, **self.params)


def definition_issues(
    *,
    unit: str,
    direction: str,
    target_value: float | None,
    due_months: Sequence[int],
    due_day: int,
    districts: Sequence[str],
) -> list[DefinitionProblem]:
    """What is wrong with an indicator's definition, as codes; empty when nothing is."""
    problems: list[DefinitionProblem] = []
    if unit not in {u.value for u in Unit}:
        problems.append(DefinitionProblem("unit", "indicator.unit_unknown", {"value": unit}))
    if direction not in ("up", "down", "target"):
        problems.append(
            DefinitionProblem("direction", "indicator.direction_unknown", {"value": direction})
        )
    if direction == "target" and target_value is None:
        problems.append(DefinitionProblem("target_value", "indicator.target_missing"))
    if direction != "target" and target_value is not None:
        problems.append(DefinitionProblem("target_value", "indicator.target_not_allowed"))
    if any(not 1 <= m <= 12 for m in due_months):
        problems.append(DefinitionProblem("due_months", "indicator.months_range"))
    if len(set(due_months)) != len(list(due_months)):
        problems.append(DefinitionProblem("due_months", "indicator.months_repeated"))
    if not 1 <= due_day <= 28:
        problems.append(DefinitionProblem("due_day", "indicator.day_range"))
    names = [d.strip() for d in districts]
    if any(not n for n in names) or len(set(names)) != len(names):
        problems.append(DefinitionProblem("districts", "indicator.district_names"))
    return problems


def definition_problems(
    *,
    unit: str,
    direction: str,
    target_value: float | None,
    due_months: Sequence[int],
    due_day: int,
    districts: Sequence[str],
    lang: str = messages.DEFAULT,
) -> list[tuple[str, str]]:
    """``definition_issues`` as (field, sentence) pairs in ``lang``, German unless asked.

    Kept for callers that show a sentence; new callers take the codes.
    """
    issues = definition_issues(
        unit=unit,
        direction=direction,
        target_value=target_value,
        due_months=due_months,
        due_day=due_day,
        districts=districts,
    )
    return [(p.field, p.text(lang)) for p in issues]
