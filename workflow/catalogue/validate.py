"""Checks catalogue rows, alone and against each other, and reports every problem by line. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from workflow.catalogue.rows import REQUIRED, RawRow

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# C0 control characters other than tab, line feed and carriage return: PostgreSQL refuses
# NUL, and XLSX cannot hold the others.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
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

_LABELS = {
    "handlungsfeld_code": "Handlungsfeld-Code",
    "handlungsfeld": "Handlungsfeld",
    "ziel_code": "Ziel-Code",
    "ziel": "Ziel",
    "ziel_rang": "Ziel-Rang",
    "massnahme_code": "Maßnahmen-Code",
    "massnahme": "Maßnahme",
    "fachbereich": "Fachbereich",
}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"Zeile {self.line}, Spalte {self.column}: {self.message}"


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
    errors = [RowError(raw.line, col, f"{_LABELS[col]} fehlt") for col in REQUIRED if not v[col]]
    rank = 0
    if v["ziel_rang"]:
        try:
            rank = int(float(v["ziel_rang"]))
            if not 1 <= rank <= 4 or float(v["ziel_rang"]) != rank:
                raise ValueError
        except (ValueError, OverflowError):  # "abc", and "inf" / "1e400" alike
            errors.append(
                RowError(
                    raw.line,
                    "ziel_rang",
                    f"Rang muss eine ganze Zahl von 1 bis 4 sein, nicht '{v['ziel_rang']}'",
                )
            )
    email = v["kontakt_email"].lower()
    if email and not _EMAIL.match(email):
        errors.append(
            RowError(raw.line, "kontakt_email", f"'{v['kontakt_email']}' ist keine E-Mail-Adresse")
        )
    if v["kontakt_name"] and not email:
        errors.append(RowError(raw.line, "kontakt_email", "E-Mail-Adresse fehlt zum Kontakt"))
    for col, limit in LIMITS.items():
        if len(v[col]) > limit:
            errors.append(
                RowError(raw.line, col, f"höchstens {limit} Zeichen, nicht {len(v[col])}")
            )
    for col, value in v.items():
        if _CONTROL.search(value):
            errors.append(RowError(raw.line, col, "enthält ein unzulässiges Steuerzeichen"))
        elif col not in MULTI_LINE and _LINE_BREAK.search(value):
            errors.append(
                RowError(
                    raw.line,
                    col,
                    "enthält einen Zeilenumbruch, Tabulator oder ein anderes Steuerzeichen;"
                    " erlaubt ist nur eine Zeile Text",
                )
            )
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
                    f"'{r.measure_code}' steht schon in Zeile {first_measure[r.measure_code]}",
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
                    f"'{r.field_code}' heißt in Zeile {f.line} '{f.field_name}'",
                )
            )
        g = first_goal.setdefault(r.goal_code, r)
        if (g.goal_name, g.goal_rank, g.field_code) != (r.goal_name, r.goal_rank, r.field_code):
            errors.append(
                RowError(
                    r.line,
                    "ziel_code",
                    f"Ziel '{r.goal_code}' ist in Zeile {g.line} anders angegeben "
                    f"('{g.goal_name}', Rang {g.goal_rank}, Feld {g.field_code})",
                )
            )
        if r.contact_email:
            c = first_contact.setdefault(r.contact_email, r)
            if (c.contact_name, c.department) != (r.contact_name, r.department):
                errors.append(
                    RowError(
                        r.line,
                        "kontakt_email",
                        f"'{r.contact_email}' gehört in Zeile {c.line} zu "
                        f"'{c.contact_name}' ({c.department})",
                    )
                )
    return errors
