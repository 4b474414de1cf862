"""Checking an indicator value against its unit, from a form's strings or an API's numbers. Pure.

Errors carry a message key of ``api/locales/indicators.*.json`` (``data.error.*``) and the
field they belong to; a definition's problems carry a code of workflow/locales/errors.*.json.
This module never decides about outliers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from workflow import messages
from workflow.forms.validation import MAX_MAGNITUDE, FieldError, parse_date, parse_number
from workflow.indicators.breakdown import computed_value
from workflow.indicators.models import Computation, Unit

MAX_TEXT = 10_000
SCALE_POINTS = 5


@dataclass(frozen=True)
class Entry:
    """One value to store: city-wide (district "") or for one district, the total (cell "")
    or one cell of the breakdowns, with its base figures when they were given."""

    district: str
    value: float | None = None
    counts: tuple[int, ...] | None = None
    report: str = ""
    cell: str = ""
    numerator: float | None = None
    denominator: float | None = None
    population_share: float | None = None


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


def base_error(
    computation: str,
    numerator: float | None,
    denominator: float | None,
    population_share: float | None,
) -> str | None:
    """The message key for base figures that cannot stand (or make no value), or None."""
    if any(n is not None and n < 0 for n in (numerator, denominator, population_share)):
        return "data.error.not_negative"
    if computation == Computation.TYPED:
        return None
    if numerator is None or denominator is None:
        return "data.error.base_required"
    if denominator == 0:
        return "data.error.denominator_zero"
    if computation == Computation.REPRESENTATION_INDEX and not population_share:
        return "data.error.population_share_required"
    if population_share is not None and population_share > 100:
        return "data.error.percent_range"
    return None


def computed_entry(
    computation: str, unit: str, district: str, cell: str, figures: Sequence[float | None]
) -> tuple[Entry | None, str | None]:
    """An entry from its base figures (numerator, denominator, population share): with a
    computing indicator the value is the computed one, else base figures only go along."""
    numerator, denominator, share = figures
    error = base_error(computation, numerator, denominator, share)
    if error:
        return None, error
    value = computed_value(
        computation, unit, numerator=numerator, denominator=denominator, population_share=share
    )
    if value is not None:
        error = number_error(unit, Decimal(str(round(value, 6))))
        if error:
            return None, error
    entry = Entry(
        district,
        value=value,
        cell=cell,
        numerator=numerator,
        denominator=denominator,
        population_share=share,
    )
    return entry, None


BASE_FIELDS = ("num", "den", "pop")


def cell_prefix(position: int) -> str:
    """The form's name prefix of a cell: "" for the total (position 0), ``k<n>-`` else."""
    return f"k{position}-" if position else ""


def check_cells(
    unit: str,
    computation: str,
    cells: Sequence[str],
    text: Callable[[str], str],
) -> tuple[list[Entry], list[FieldError]]:
    """The total's and each cell's fields: ``value`` typed, or ``num`` / ``den`` (/ ``pop``)
    from which a computing indicator's value follows; ``k<n>-`` before a cell's names.
    The total is required, a cell only when something was typed for it."""
    entries: list[Entry] = []
    errors: list[FieldError] = []
    for position, cell in enumerate(["", *cells]):
        entry, problems = _check_cell(unit, computation, cell, cell_prefix(position), text)
        errors += problems
        if entry is not None:
            entries.append(entry)
    return entries, errors


def _check_cell(
    unit: str, computation: str, cell: str, prefix: str, text: Callable[[str], str]
) -> tuple[Entry | None, list[FieldError]]:
    typed = {name: text(prefix + name) for name in ("value", *BASE_FIELDS)}
    if cell and not any(typed.values()):
        return None, []
    figures: list[float | None] = []
    errors: list[FieldError] = []
    for name in BASE_FIELDS:
        number, error = check_number(Unit.INDEX, typed[name]) if typed[name] else (None, None)
        if error:
            errors.append(FieldError(prefix + name, error))
        figures.append(number)
    if errors:
        return None, errors
    # A cell of a computing indicator always computes; the total may be typed when the
    # source has no base figures for it.
    if computation != Computation.TYPED and (cell or any(f is not None for f in figures)):
        entry, error = computed_entry(computation, unit, "", cell, figures)
        if error:
            return None, [FieldError(prefix + _base_field(error, figures), error)]
        return entry, []
    if not typed["value"]:
        key = "data.error.cell_value_required" if cell else "data.error.value_required"
        return None, [FieldError(prefix + "value", key)]
    number, error = check_number(unit, typed["value"])
    if error:
        return None, [FieldError(prefix + "value", error)]
    numerator, denominator, share = figures
    entry = Entry(
        "",
        value=number,
        cell=cell,
        numerator=numerator,
        denominator=denominator,
        population_share=share,
    )
    return entry, []


def _base_field(error: str, figures: Sequence[float | None]) -> str:
    """Which base-figure field a problem belongs to, so the form marks the right input."""
    numerator, denominator, share = figures
    if error == "data.error.population_share_required" or (share is not None and share > 100):
        return "pop"
    if numerator is None or (error == "data.error.not_negative" and numerator < 0):
        return "num"
    if denominator is None or denominator == 0 or error == "data.error.not_negative":
        return "den"
    return "num"


def check_delivery(
    unit: str,
    districts: Sequence[str],
    raw: Mapping[str, str],
    *,
    today: date,
    cells: Sequence[str] = (),
    computation: str = Computation.TYPED,
) -> CheckedDelivery:
    """One request's posted fields (names without the ``r-<id>-`` prefix) into entries.

    ``survey_date``; then by unit: ``value`` (or base figures, see ``check_cells``) for the
    total and each cell, ``value-<n>`` per district, or ``c1``..``c5``, or ``report``;
    ``comment`` always. The city-wide value is required, districts and cells are not.
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
        cell_entries, cell_errors = check_cells(unit, computation, cells, text)
        entries += cell_entries
        errors += cell_errors
        for name, district in ((f"value-{i}", d) for i, d in enumerate(districts)):
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
