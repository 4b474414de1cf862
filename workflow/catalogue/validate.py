"""Checks catalogue rows, alone and against each other, and reports every problem by line. Pure.

A problem is a code and parameters (``RowError``); workflow/messages.py words it in the
reader's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from workflow import messages
from workflow.catalogue.rows import REQUIRED, RawRow

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# C0 control characters other than tab, line feed and carriage return: PostgreSQL refuses
# NUL, and XLSX cannot hold the others, nor the noncharacters U+FFFE and U+FFFF.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Every column but the description is one line: a line break in a name or an address would
# reach a mail header (and make every email to that contact fail) or split a CSV row.
_LINE_BREAK = re.compile(r"[\t\n\r\x7f-\x9f\u2028\u2029]")
MULTI_LINE = {"beschreibung"}
# The columns' sizes in the database (workflow/catalogue/models.py).
LIMITS = {
    "handlungsfeld_code": 16,
    "handlungsfeld": 300,
    "ziel_code": 16,
    "ziel": 500,
    "massnahme_code": 32,
    "massnahme": 500,
    "fachbereich": 200,
    "kontakt_name": 200,
    "kontakt_email": 320,
}



@dataclass(frozen=True)
class RowError:
    """A problem of one cell: ``code`` (e.g. "row.rank_invalid") and its ``params``.

    ``text(lang)`` is the whole line a person reads ("Zeile 3, Spalte ziel_rang: …");
    ``str()`` and ``message`` are German, for logs and callers without a reader.
    """

    line: int
    column: str
    code: str
    params: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def message(self) -> str:
        return self.problem("de")

    def problem(self, lang: str) -> str:
        return messages.message(self.code, lang, column=self.column, **self.params)

    def text(self, lang: str) -> str:
        return messages.message(
            "row.at", lang, line=self.line, column=self.column, problem=self.problem(lang)
        )

    def __str__(self) -> str:
        return self.text("de")


@dataclass(frozen=True)
class CatalogueRow:
    line: int
    field_code: str
    field_name: str
    goal_code: str
    goal_name: str
    goal_rank: int
    measure_code: str
    measure_title: str
    description: str
    department: str
    contact_name: str
    contact_email: str


def validate(rows: list[RawRow]) -> tuple[list[CatalogueRow], list[RowError]]:
    good: list[CatalogueRow] = []
    errors: list[RowError] = []
    for raw in rows:
        row, row_errors = _one(raw)
        errors += row_errors
        if row is not None:
            good.append(row)
    errors += _consistency(good)
    return good, sorted(errors, key=lambda e: (e.line, e.column))


def _one(raw: RawRow) -> tuple[CatalogueRow | None, list[RowError]]:
    v = raw.values
    errors = [RowError(raw.line, col, "row.required") for col in REQUIRED if not v[col]]
    rank = 0
    if v["ziel_rang"]:
        try:
            rank = int(float(v["ziel_rang"]))
            if not 1 <= rank <= 4 or float(v["ziel_rang"]) != rank:
                raise ValueError
        except (ValueError, OverflowError):  # "abc", and "inf" / "1e400" alike
            errors.append(
                RowError(raw.line, "ziel_rang", "row.rank_invalid", {"value": v["ziel_rang"]})
            )
    email = v["kontakt_email"].lower()
    if email and not _EMAIL.match(email):
        errors.append(
            RowError(raw.line, "kontakt_email", "row.email_invalid", {"value": v["kontakt_email"]})
        )
    if v["kontakt_name"] and not email:
        errors.append(RowError(raw.line, "kontakt_email", "row.contact_email_missing"))
    for col, limit in LIMITS.items():
        if len(v[col]) > limit:
            errors.append(
                RowError(raw.line, col, "row.too_long", {"limit": limit, "length": len(v[col])})
            )
    for col, value in v.items():
        if _CONTROL.search(value):
            errors.append(RowError(raw.line, col, "row.control_character"))
        elif col not in MULTI_LINE and _LINE_BREAK.search(value):
            errors.append(RowError(raw.line, col, "row.line_break"))
    if errors:
        return None, errors
    return CatalogueRow(
        line=raw.line,
        field_code=v["handlungsfeld_code"],
        field_name=v["handlungsfeld"],
        goal_code=v["ziel_code"],
        goal_name=v["ziel"],
        goal_rank=rank,
        measure_code=v["massnahme_code"],
        measure_title=v["massnahme"],
        description=v["beschreibung"],
        department=v["fachbereich"],
        contact_name=v["kontakt_name"] or email,
        contact_email=email,
    ), []


def _consistency(rows: list[CatalogueRow]) -> list[RowError]:
    """The same code must mean the same thing on every line that uses it."""
    errors: list[RowError] = []
    first_measure: dict[str, int] = {}
    first_goal: dict[str, CatalogueRow] = {}
    first_field: dict[str, CatalogueRow] = {}
    first_contact: dict[str, CatalogueRow] = {}
    for r in rows:
        if r.measure_code in first_measure:
            errors.append(
                RowError(
                    r.line,
                    "massnahme_code",
                    "row.duplicate_code",
                    {"code": r.measure_code, "first_line": first_measure[r.measure_code]},
                )
            )
        else:
            first_measure[r.measure_code] = r.line
        f = first_field.setdefault(r.field_code, r)
        if f.field_name != r.field_name:
            errors.append(
                RowError(
                    r.line,
                    "handlungsfeld",
                    "row.field_differs",
                    {"code": r.field_code, "first_line": f.line, "name": f.field_name},
                )
            )
        g = first_goal.setdefault(r.goal_code, r)
        if (g.goal_name, g.goal_rank, g.field_code) != (r.goal_name, r.goal_rank, r.field_code):
            errors.append(
                RowError(
                    r.line,
                    "ziel_code",
                    "row.goal_differs",
                    {
                        "code": r.goal_code,
                        "first_line": g.line,
                        "name": g.goal_name,
                        "rank": g.goal_rank,
                        "field": g.field_code,
                    },
                )
            )
        if r.contact_email:
            c = first_contact.setdefault(r.contact_email, r)
            if (c.contact_name, c.department) != (r.contact_name, r.department):
                errors.append(
                    RowError(
                        r.line,
                        "kontakt_email",
                        "row.contact_differs",
                        {
                            "email": r.contact_email,
                            "first_line": c.line,
                            "name": c.contact_name,
                            "department": c.department,
                        },
                    )
                )
    return errors
