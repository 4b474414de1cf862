"""Checks the catalogue's optional salutation columns and reports problems by line. Pure.

``kontakt_anrede`` belongs to the row's contact, ``leitung_anrede`` to its department head;
each is "Frau", "Herr" (any case) or empty. An empty cell says nothing: the person keeps the
salutation stored for them (a new person gets none), as a department that names no head
keeps its head. One address is one person, so every line naming it must agree. Problems are
``RowError`` codes (``row.salutation_*``), worded by workflow/messages.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.catalogue.rows import RawRow
from workflow.catalogue.validate import RowError
from workflow.salutation_entry import file_word, salutation_code

# Which address each salutation column belongs to.
PEOPLE = (("kontakt_anrede", "kontakt_email"), ("leitung_anrede", "leitung_email"))
_SHOWN = 40  # characters of a refused value quoted back


@dataclass(frozen=True)
class _Seen:
    line: int
    code: str


def check_salutations(rows: list[RawRow]) -> tuple[dict[str, str], list[RowError]]:
    """The salutation code the file gives each address (lower case), and every problem."""
    found: dict[str, _Seen] = {}
    errors: list[RowError] = []
    for raw in rows:
        for column, email_column in PEOPLE:
            typed = raw.values.get(column, "")
            if not typed:
                continue
            code = salutation_code(typed)
            email = raw.values.get(email_column, "").strip().lower()
            if code is None:
                errors.append(
                    RowError(raw.line, column, "row.salutation_invalid", {"value": typed[:_SHOWN]})
                )
            elif not email:
                errors.append(RowError(raw.line, email_column, "row.salutation_email_missing"))
            else:
                first = found.setdefault(email, _Seen(raw.line, code))
                if first.code != code:
                    errors.append(
                        RowError(
                            raw.line,
                            column,
                            "row.salutation_differs",
                            {
                                "email": email,
                                "first_line": first.line,
                                "salutation": file_word(first.code),
                            },
                        )
                    )
    return {email: seen.code for email, seen in found.items()}, errors
