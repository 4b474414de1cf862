"""Checks the optional catalogue columns (department head, concept) and reports problems by line.

Pure, like validate.py beside it, which checks the eleven required columns (and control
characters in every column): a file without these columns yields nothing here. A department
or field that names no head or concept keeps the one it has.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workflow.catalogue.heads import EMAIL
from workflow.catalogue.rows import RawRow
from workflow.catalogue.validate import RowError

LIMITS = {"leitung_name": 200, "leitung_email": 320, "konzept": 200}


@dataclass(frozen=True)
class Head:
    line: int
    name: str
    email: str


@dataclass
class Extras:
    heads: dict[str, Head] = field(default_factory=dict)  # department name → its head
    concepts: dict[str, str] = field(default_factory=dict)  # field code → concept name


def check_optional(rows: list[RawRow]) -> tuple[Extras, list[RowError]]:
    extras = Extras()
    errors: list[RowError] = []
    concept_line: dict[str, int] = {}
    head_of_email: dict[str, tuple[int, str]] = {}  # head email → (line, department)
    contacts = _contacts(rows)
    for raw in rows:
        v = raw.values
        too_long = [
            RowError(raw.line, col, "row.too_long", {"limit": limit, "length": len(v[col])})
            for col, limit in LIMITS.items()
            if len(v[col]) > limit
        ]
        errors += too_long
        if too_long:
            continue
        department, field_code = v["fachbereich"], v["handlungsfeld_code"]
        head = _head(raw, errors)
        if head is not None and department:
            errors += _check_head(raw.line, department, head, extras, head_of_email, contacts)
        concept = v["konzept"]
        if concept and field_code:
            first = extras.concepts.setdefault(field_code, concept)
            concept_line.setdefault(field_code, raw.line)
            if first != concept:
                errors.append(
                    RowError(
                        raw.line,
                        "konzept",
                        "row.concept_differs",
                        {
                            "field": field_code,
                            "first_line": concept_line[field_code],
                            "concept": first,
                        },
                    )
                )
    return extras, errors


def _head(raw: RawRow, errors: list[RowError]) -> Head | None:
    name, email = raw.values["leitung_name"], raw.values["leitung_email"].lower()
    if not name and not email:
        return None
    if not email:
        errors.append(RowError(raw.line, "leitung_email", "row.head_email_missing"))
        return None
    if not EMAIL.match(email):
        errors.append(
            RowError(
                raw.line,
                "leitung_email",
                "row.email_invalid",
                {"value": raw.values["leitung_email"]},
            )
        )
        return None
    return Head(raw.line, name or email, email)


def _check_head(
    line: int,
    department: str,
    head: Head,
    extras: Extras,
    head_of_email: dict[str, tuple[int, str]],
    contacts: dict[str, tuple[int, str, str]],
) -> list[RowError]:
    """One head per department, one department per head, and a head who is also a contact
    is the same person on every line (one contact row holds both)."""
    first = extras.heads.setdefault(department, head)
    if (first.name, first.email) != (head.name, head.email):
        return [
            RowError(
                line,
                "leitung_email",
                "row.head_differs",
                {
                    "department": department,
                    "first_line": first.line,
                    "name": first.name,
                    "email": first.email,
                },
            )
        ]
    seen_line, seen_department = head_of_email.setdefault(head.email, (line, department))
    if seen_department != department:
        return [
            RowError(
                line,
                "leitung_email",
                "row.head_elsewhere",
                {"email": head.email, "first_line": seen_line, "department": seen_department},
            )
        ]
    contact = contacts.get(head.email)
    if contact is not None and (contact[1], contact[2]) != (head.name, department):
        return [
            RowError(
                line,
                "leitung_email",
                "row.head_is_contact",
                {
                    "email": head.email,
                    "first_line": contact[0],
                    "name": contact[1],
                    "department": contact[2],
                },
            )
        ]
    return []


def _contacts(rows: list[RawRow]) -> dict[str, tuple[int, str, str]]:
    """Each contact email's first line, name (or the email) and department."""
    out: dict[str, tuple[int, str, str]] = {}
    for raw in rows:
        email = raw.values["kontakt_email"].lower()
        if email:
            name = raw.values["kontakt_name"] or email
            out.setdefault(email, (raw.line, name, raw.values["fachbereich"]))
    return out
