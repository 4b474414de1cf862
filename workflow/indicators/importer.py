"""Importing indicators (and earlier values) from CSV or XLSX: all rows or none, errors by line.

One row per indicator; the header is line 1. Importing the same file again changes nothing.
Goals and measures are referred to by their codes and must exist in the catalogue already;
a source contact is found by email or created (with its department, if one is named).
Callers own the transaction.

Breakdowns and base figures (optional columns): ``merkmale`` names the dimension codes of
the organisation's list, joined by ``|`` (e.g. ``staatsangehoerigkeit|geschlecht``);
``berechnung`` is empty or ``direkt`` (the value is given), ``quote`` (numerator ÷
denominator, × 100 for a percentage) or ``repraesentationsindex`` (share in the measure ÷
share in the population × 100); ``zaehler`` and ``nenner`` say what the base figures count.
Each entry of ``werte`` is ``[Bezirk@]JJJJ-MM-TT[ [merkmal=ausprägung, …]]=Wert``, entries
separated by ``;``. Without brackets the entry is the total. With a ``berechnung`` the value
is written as base figures, ``Zähler/Nenner`` or ``Zähler/Nenner@Bevölkerungsanteil`` (in
percent), and computed from them, e.g.
``2024-02-15=312/1480; 2024-02-15 [staatsangehoerigkeit=nichtdeutsch]=45/380@14,2``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow import messages
from workflow.catalogue.models import Contact, Department, Goal, Measure
from workflow.catalogue.validate import RowError
from workflow.forms.validation import parse_date, parse_number
from workflow.indicators.breakdown import TOTAL, cell_from_text, is_cell_of
from workflow.indicators.dimensions import ensure_standard_dimensions, indicator_dimensions
from workflow.indicators.models import Computation, Indicator, IndicatorDimension, Rhythm, Unit
from workflow.indicators.rhythm import RhythmSpec, normal_event_dates
from workflow.indicators.rhythm_check import rhythm_issues
from workflow.indicators.service import record_value, save_indicator
from workflow.indicators.validation import (
    Entry,
    check_counts,
    check_number,
    computed_entry,
    definition_issues,
)

COLUMNS = (
    "kennzahl_code",
    "aussage",
    "grundzahlen",
    "einheit",
    "richtung",
    "zielwert",
    "erhebung_monate",
    "erhebung_tag",
    "statistischer_bezirk",
    "bezirke",
    "quelle",
    "quelle_name",
    "quelle_email",
    "quelle_fachbereich",
    "ziele",
    "massnahmen",
    "anmerkungen",
    "werte",
)
# Read when present, empty when not: files written before breakdowns still import.
OPTIONAL_COLUMNS = ("merkmale", "berechnung", "zaehler", "nenner")
COMPUTATIONS = {
    "": Computation.TYPED,
    "direkt": Computation.TYPED,
    "quote": Computation.RATIO,
    "repraesentationsindex": Computation.REPRESENTATION_INDEX,
}
UNITS = {
    "prozent": Unit.PERCENT,
    "anzahl": Unit.COUNT,
    "quote": Unit.RATE,
    "euro": Unit.CURRENCY,
    "index": Unit.INDEX,
    "befragung": Unit.SCALE,
    "bericht": Unit.TEXT,
}
DIRECTIONS = {"steigend": "up", "fallend": "down", "zielwert": "target"}
IMPORT_ACTOR = "import"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The source contact's columns become a contact's name and address, read by mail headers:
# one line, no control character.
_CONTACT_COLUMNS = ("quelle_name", "quelle_email", "quelle_fachbereich")
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]")
_LIST = re.compile(r"[|,;\s]+")
_MONTHS = re.compile(r"[/,;+\s]+")
# Optional: a file without them keeps the monthly rhythm of ``erhebung_monate``.
RHYTHM_COLUMNS = ("rhythmus", "alle_jahre", "erstes_jahr", "ereignistermine")
RHYTHMS = {
    "": Rhythm.MONTHS,
    "monatlich": Rhythm.MONTHS,
    "halbjaehrlich": Rhythm.HALF_YEARLY,
    "halbjährlich": Rhythm.HALF_YEARLY,
    "jaehrlich": Rhythm.YEARLY,
    "jährlich": Rhythm.YEARLY,
    "alle_n_jahre": Rhythm.EVERY_YEARS,
    "ereignis": Rhythm.EVENT,
}
_RHYTHM_FIELDS = {
    "rhythm": "rhythmus",
    "due_months": "erhebung_monate",
    "every_years": "alle_jahre",
    "first_year": "erstes_jahr",
    "event_dates": "ereignistermine",
}


class IndicatorsInvalid(Exception):
    """Every problem of a refused file (``errors``); ``code`` and ``params`` word the summary."""

    code = "indicators.invalid"

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        self.params: dict[str, Any] = {"count": len(errors)}
        super().__init__(messages.message(self.code, messages.DEFAULT, **self.params))


@dataclass(frozen=True)
class ValueRow:
    district: str
    survey_date: date
    entry: Entry


@dataclass
class IndicatorRow:
    line: int
    code: str
    values: dict[str, object]
    goal_codes: list[str]
    measure_codes: list[str]
    contact_name: str
    contact_email: str
    department: str
    series: list[ValueRow] = field(default_factory=list)


@dataclass
class ImportReport:
    rows: int = 0
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values())

    def count(self, bucket: dict[str, int], kind: str) -> None:
        bucket[kind] = bucket.get(kind, 0) + 1


# -- reading ------------------------------------------------------------------------------


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line, values) per non-empty row; raises IndicatorsInvalid for an unreadable file."""
    try:
        if path.suffix.lower() in {".xlsx", ".xlsm"}:
            return list(_xlsx(path))
        return list(_csv(path.read_bytes()))
    except _Unreadable as exc:
        raise IndicatorsInvalid([RowError(1, "-", exc.code, exc.params)]) from None


class _Unreadable(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params: dict[str, Any] = params
        super().__init__(code)


def _header(cells: list[str]) -> list[str]:
    names = [c.strip().lower().lstrip("\ufeff") for c in cells]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise _Unreadable("file.missing_columns", missing=missing, expected=list(COLUMNS))
    return names


def _csv(data: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Unreadable("file.not_utf8", byte=exc.start) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        names = _header(next(reader))
    except StopIteration:
        raise _Unreadable("file.empty") from None
    for line, cells in enumerate(reader, start=2):
        if any(c.strip() for c in cells):
            yield line, _zip(names, cells)


def _xlsx(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
    except Exception:  # openpyxl raises many kinds for a broken file
        raise _Unreadable("file.not_xlsx") from None
    rows = sheet.iter_rows(values_only=True)
    try:
        names = _header([str(c or "") for c in next(rows)])
    except StopIteration:
        raise _Unreadable("file.empty") from None
    for line, cells in enumerate(rows, start=2):
        texts = ["" if c is None else str(c) for c in cells]
        if any(t.strip() for t in texts):
            yield line, _zip(names, texts)


def _zip(names: list[str], cells: list[str]) -> dict[str, str]:
    values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(names)}
    return {c: values.get(c, "") for c in (*COLUMNS, *RHYTHM_COLUMNS, *OPTIONAL_COLUMNS)}


# -- checking -----------------------------------------------------------------------------


def check_row(
    line: int, v: dict[str, str], today: date
) -> tuple[IndicatorRow | None, list[RowError]]:
    errors: list[RowError] = []

    def error(column: str, code: str, **params: Any) -> None:
        errors.append(RowError(line, column, code, params))

    code, statement = v["kennzahl_code"], v["aussage"]
    if not code:
        error("kennzahl_code", "row.required")
    elif len(code) > 32:
        error("kennzahl_code", "row.too_long", limit=32, length=len(code))
    if not statement:
        error("aussage", "row.required")
    unit = UNITS.get(v["einheit"].lower())
    if unit is None:
        error("einheit", "row.unit_invalid", value=v["einheit"], allowed=list(UNITS))
    direction = DIRECTIONS.get(v["richtung"].lower())
    if direction is None:
        error("richtung", "row.direction_invalid", value=v["richtung"], allowed=list(DIRECTIONS))
    target = None
    if v["zielwert"]:
        number = parse_number(v["zielwert"])
        if number is None:
            error("zielwert", "row.not_a_number", value=v["zielwert"])
        else:
            target = float(number)
    months: list[int] = []
    for part in filter(None, _MONTHS.split(v["erhebung_monate"])):
        if part.isdigit():
            months.append(int(part))
        else:
            error("erhebung_monate", "row.not_a_month", value=part)
    day = 15
    if v["erhebung_tag"]:
        if v["erhebung_tag"].isdigit():
            day = int(v["erhebung_tag"])
        else:
            error("erhebung_tag", "row.not_a_day", value=v["erhebung_tag"])
    districts = [d.strip() for d in v["bezirke"].split("|") if d.strip()]
    rhythm = _rhythm(v, months, day, error)
    columns = {
        "unit": "einheit",
        "direction": "richtung",
        "target_value": "zielwert",
        "due_months": "erhebung_monate",
        "due_day": "erhebung_tag",
        "districts": "bezirke",
    }
    if unit is not None and direction is not None:
        for problem in definition_issues(
            unit=unit.value,
            direction=direction,
            target_value=target,
            due_months=months,
            due_day=day,
            districts=districts,
        ):
            # A nested code: the row's text words it in the reader's language (messages._NESTED).
            error(
                columns[problem.field],
                "row.definition",
                problem=problem.code,
                problem_params=problem.params,
            )
    for column in _CONTACT_COLUMNS:
        if _NOT_ONE_LINE.search(v[column]):
            error(column, "row.not_one_line")
    email = v["quelle_email"].lower()
    if email and not _EMAIL.match(email):
        error("quelle_email", "row.email_invalid", value=v["quelle_email"])
    if (v["quelle_name"] or v["quelle_fachbereich"]) and not email:
        error("quelle_email", "row.source_email_missing")
    if months and not email:
        error("quelle_email", "row.months_need_source")
    computation = COMPUTATIONS.get(v.get("berechnung", "").lower())
    if computation is None:
        error("berechnung", "row.computation_invalid", value=v["berechnung"])
    elif computation != Computation.TYPED and unit not in (Unit.PERCENT, Unit.RATE, Unit.INDEX):
        error("berechnung", "row.computation_unit", value=v["berechnung"])
    kind = computation or Computation.TYPED
    series = _series(v["werte"], unit, districts, today, error, kind) if unit is not None else []
    if errors:
        return None, errors
    assert unit is not None and direction is not None
    return IndicatorRow(
        line=line,
        code=code,
        values={
            "statement": statement,
            "base_figures": v["grundzahlen"],
            "unit": unit.value,
            "direction": direction,
            "target_value": target,
            "due_months": sorted(months),
            "due_day": day,
            "district": v["statistischer_bezirk"],
            "districts": districts,
            "source_label": v["quelle"],
            "notes": v["anmerkungen"],
            "dimensions": [d for d in (p.strip() for p in v["merkmale"].split("|")) if d],
            "computation": kind.value,
            "numerator_label": v["zaehler"],
            "denominator_label": v["nenner"],
            **rhythm,
        },
        goal_codes=[c for c in _LIST.split(v["ziele"]) if c],
        measure_codes=[c for c in _LIST.split(v["massnahmen"]) if c],
        contact_name=v["quelle_name"] or email,
        contact_email=email,
        department=v["quelle_fachbereich"],
        series=series,
    ), []


def _rhythm(
    v: dict[str, str], months: list[int], day: int, error: Callable[..., None]
) -> dict[str, object]:
    """The rhythm columns as the indicator's fields; reports what is wrong through ``error``."""
    # ``.get``: a row built by hand (not read from a file) may lack the optional columns.
    rhythm = RHYTHMS.get(v.get("rhythmus", "").strip().lower())
    if rhythm is None:
        error(
            "rhythmus",
            "row.definition",
            problem="indicator.rhythm_unknown",
            problem_params={"value": v.get("rhythmus", "")},
        )
        return {}
    numbers: dict[str, int | None] = {"alle_jahre": None, "erstes_jahr": None}
    for column in numbers:
        text = v.get(column, "").strip()
        if text.isdigit():
            numbers[column] = int(text)
        elif text:
            error(column, "row.not_a_number", value=text)
            return {}
    events = [t.strip() for t in v.get("ereignistermine", "").split("|") if t.strip()]
    spec = RhythmSpec(
        rhythm=rhythm.value,
        due_months=tuple(months),
        due_day=day,
        every_years=numbers["alle_jahre"] or 1,
        first_year=numbers["erstes_jahr"],
        event_dates=tuple(events),
    )
    for problem in rhythm_issues(spec):
        error(
            _RHYTHM_FIELDS[problem.field],
            "row.definition",
            problem=problem.code,
            problem_params=problem.params,
        )
    return {
        "rhythm": spec.rhythm,
        "every_years": spec.every_years,
        "first_year": spec.first_year,
        "event_dates": normal_event_dates(events),
    }


def _series(
    text: str,
    unit: Unit,
    districts: list[str],
    today: date,
    error: Callable[..., None],
    computation: Computation = Computation.TYPED,
) -> list[ValueRow]:
    """``[Bezirk@]JJJJ-MM-TT[ [merkmal=ausprägung, …]]=Wert`` entries separated by ``;``."""
    out: list[ValueRow] = []
    seen: set[tuple[str, date, str]] = set()
    for part in (p.strip() for p in _ENTRIES.split(text)):
        if not part:
            continue
        match = _ENTRY.match(part)
        where, shown = (match["where"], match["shown"]) if match else ("", "")
        district, _, day_text = where.strip().rpartition("@")
        survey = parse_date(day_text.strip())
        if match is None or survey is None:
            error("werte", "row.value_form", part=part)
            continue
        try:
            cell = cell_from_text(match["cell"]) if match["cell"] is not None else TOTAL
        except ValueError:
            error("werte", "row.value_cell_form", part=part)
            continue
        if survey > today:
            error("werte", "row.value_in_future", part=part)
            continue
        if district and district not in districts:
            error("werte", "row.value_district_unknown", part=part, district=district)
            continue
        if (district, survey, cell) in seen:
            error("werte", "row.value_duplicate", part=part)
            continue
        seen.add((district, survey, cell))
        if computation == Computation.TYPED or unit in (Unit.TEXT, Unit.SCALE):
            entry = _entry(district, shown.strip(), unit)
            entry = replace(entry, cell=cell) if isinstance(entry, Entry) else entry
        else:
            entry = _computed(district, cell, shown.strip(), unit, computation)
        if isinstance(entry, str):
            error("werte", "row.value_invalid", part=part, problem=entry)
            continue
        out.append(ValueRow(district, survey, entry))
    return sorted(out, key=lambda r: (r.survey_date, r.district, r.entry.cell))


# ";" separates entries, except inside the brackets of a cell.
_ENTRIES = re.compile(r";(?![^\[\]]*\])")
_ENTRY = re.compile(r"^(?P<where>[^=\[]*?)\s*(?:\[(?P<cell>[^\]]*)\])?\s*=(?P<shown>.*)$", re.S)
_BASE = re.compile(r"^(?P<num>[^/@]+)/(?P<den>[^/@]+)(?:@(?P<share>[^/@]+))?$")


def _computed(
    district: str, cell: str, shown: str, unit: Unit, computation: Computation
) -> Entry | str:
    """An entry computed from ``Zähler/Nenner[@Anteil]``, or the code of what is wrong."""
    match = _BASE.match(shown.replace(" ", ""))
    if match is None:
        return "value.base_form"
    figures: list[float | None] = []
    for text in (match["num"], match["den"], match["share"]):
        number = parse_number(text) if text is not None else None
        if text is not None and number is None:
            return "value.number_invalid"
        figures.append(float(number) if number is not None else None)
    entry, key = computed_entry(computation, unit, district, cell, figures)
    if key is not None or entry is None:
        return _PROBLEMS.get(key or "", "value.invalid")
    return entry


# validation.py's message keys → the codes of workflow/messages.py
_PROBLEMS = {
    "data.error.number_invalid": "value.number_invalid",
    "data.error.percent_range": "value.percent_range",
    "data.error.count_integer": "value.count_integer",
    "data.error.not_negative": "value.not_negative",
    "data.error.currency_cents": "value.currency_cents",
    "data.error.survey_empty": "value.survey_empty",
    "data.error.base_required": "value.base_required",
    "data.error.denominator_zero": "value.denominator_zero",
    "data.error.population_share_required": "value.population_share_required",
}


def _entry(district: str, shown: str, unit: Unit) -> Entry | str:
    """The entry, or the code of what is wrong with it."""
    if unit == Unit.TEXT:
        return Entry(district, report=shown) if shown else "value.report_missing"
    if unit == Unit.SCALE:
        parts = shown.split("/")
        if len(parts) != 5:
            return "value.scale_counts"
        counts, errors = check_counts(parts)
        if errors:
            return _PROBLEMS.get(errors[0][1], "value.invalid")
        return Entry(district, counts=counts)
    number, key = check_number(unit, shown)
    return _PROBLEMS.get(key, "value.invalid") if key else Entry(district, value=number)


# -- importing ----------------------------------------------------------------------------


def import_indicators(
    *, session: Session, organisation_id: int, path: Path, now: datetime, today: date
) -> ImportReport:
    """Raises IndicatorsInvalid with every row error; writes nothing then."""
    raw = read_rows(path)
    rows: list[IndicatorRow] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    for line, values in raw:
        row, row_errors = check_row(line, values, today)
        errors += row_errors
        code = values["kennzahl_code"]
        if code and code in first_line:
            errors.append(
                RowError(
                    line,
                    "kennzahl_code",
                    "row.duplicate_code",
                    {"code": code, "first_line": first_line[code]},
                )
            )
        first_line.setdefault(code, line)
        if row is not None:
            rows.append(row)
    goals = _by_code(session, Goal, organisation_id)
    measures = _by_code(session, Measure, organisation_id)
    kept = ensure_standard_dimensions(session, organisation_id, now)
    errors += [e for row in rows for e in _cell_errors(row, kept)]
    for row in rows:
        for code in row.goal_codes:
            if code not in goals:
                errors.append(RowError(row.line, "ziele", "row.unknown_goal", {"code": code}))
        for code in row.measure_codes:
            if code not in measures:
                errors.append(
                    RowError(row.line, "massnahmen", "row.unknown_measure", {"code": code})
                )
    if errors:
        raise IndicatorsInvalid(sorted(errors, key=lambda e: (e.line, e.column)))
    report = ImportReport(rows=len(rows))
    existing = {
        i.code: i
        for i in session.scalars(
            select(Indicator).where(Indicator.organisation_id == organisation_id)
        )
    }
    for row in rows:
        contact_id = _contact(session, organisation_id, row, report)
        indicator, changed = save_indicator(
            session,
            organisation_id=organisation_id,
            code=row.code,
            values={**row.values, "source_contact_id": contact_id},
            goal_ids=[goals[c] for c in row.goal_codes],
            measure_ids=[measures[c] for c in row.measure_codes],
            now=now,
            indicator=existing.get(row.code),
        )
        if row.code not in existing:
            report.count(report.created, "Kennzahlen")
        elif changed:
            report.count(report.updated, "Kennzahlen")
        for value in row.series:
            recorded = record_value(
                session,
                indicator=indicator,
                survey_date=value.survey_date,
                entry=value.entry,
                comment="",
                actor=IMPORT_ACTOR,
                actor_name="Import",
                now=now,
            )
            if recorded.outcome == "created":
                report.count(report.created, "Werte")
            elif recorded.outcome == "corrected":
                report.count(report.updated, "Werte")
    session.flush()
    return report


def _cell_errors(row: IndicatorRow, kept: list[IndicatorDimension]) -> list[RowError]:
    """Dimensions the organisation does not keep, and cells outside the row's breakdowns."""
    codes = list(row.values["dimensions"])  # type: ignore[call-overload]
    known = {d.code for d in kept}
    errors = [
        RowError(row.line, "merkmale", "row.dimension_unknown", {"code": c, "known": sorted(known)})
        for c in codes
        if c not in known
    ]
    breakdowns = indicator_dimensions(kept, codes)
    for value in row.series:
        if not is_cell_of(value.entry.cell, breakdowns):
            errors.append(
                RowError(row.line, "werte", "row.value_cell_unknown", {"cell": value.entry.cell})
            )
    return errors


def _by_code(session: Session, model: type[Goal] | type[Measure], org_id: int) -> dict[str, int]:
    return {
        code: ident
        for code, ident in session.execute(
            select(model.code, model.id).where(model.organisation_id == org_id)
        )
    }


def _contact(session: Session, org_id: int, row: IndicatorRow, report: ImportReport) -> int | None:
    if not row.contact_email:
        return None
    contact = session.scalars(
        select(Contact).where(
            Contact.organisation_id == org_id, func.lower(Contact.email) == row.contact_email
        )
    ).first()
    if contact is not None:
        return contact.id
    department_id = None
    if row.department:
        department = session.scalars(
            select(Department).where(
                Department.organisation_id == org_id, Department.name == row.department
            )
        ).first()
        if department is None:
            department = Department(organisation_id=org_id, name=row.department)
            session.add(department)
            session.flush()
            report.count(report.created, "departments")
        department_id = department.id
    contact = Contact(
        organisation_id=org_id,
        department_id=department_id,
        name=row.contact_name,
        email=row.contact_email,
    )
    session.add(contact)
    session.flush()
    report.count(report.created, "contacts")
    return contact.id
