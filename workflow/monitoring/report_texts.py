"""The texts only the monitoring report shows: Annahmen per Handlungsfeld and the statistics
office's statement per year. The page and the CLI call these; the caller owns the transaction.

A refusal is ``TextRefused`` with a key of ``api/locales/monitoring.*.json`` and its values,
so each edge words it in its reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Field
from workflow.monitoring.models import StatisticsStatement

# Long enough for several pages of prose; a pasted document beyond this is a mistake.
MAX_TEXT = 20_000
MAX_AUTHOR = 200
FIRST_YEAR, LAST_YEAR = 2000, 2100


class TextRefused(Exception):
    """Not a frozen dataclass: a context manager sets ``__traceback__`` on the way out."""

    def __init__(self, key: str, values: dict[str, object] | None = None) -> None:
        super().__init__(key)
        self.key = key  # monitoring.error.*
        self.values: dict[str, object] = values or {}


def refusal_values(exc: TextRefused, lang: str) -> dict[str, object]:
    """The refusal's values for its sentence: a limit grouped as the reader writes numbers."""
    limit = exc.values.get("limit")
    if not isinstance(limit, int):
        return exc.values
    grouped = f"{limit:,}"
    return {**exc.values, "limit": grouped.replace(",", ".") if lang == "de" else grouped}


@dataclass(frozen=True)
class StatementView:
    year: int
    text: str
    author: str
    updated_by: str
    updated_at: datetime | None


def clean(text: str) -> str:
    """Line ends as one kind and no trailing blanks, so the same text is stored the same way."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def _checked_text(text: str) -> str:
    cleaned = clean(text)
    if len(cleaned) > MAX_TEXT:
        raise TextRefused("monitoring.error.too_long", {"limit": MAX_TEXT})
    return cleaned


def find_field(session: Session, organisation_id: int, code: str) -> Field:
    """The organisation's field of that code (as typed, else ignoring case)."""
    fields = session.scalars(select(Field).where(Field.organisation_id == organisation_id)).all()
    wanted = code.strip()
    for match in (
        [f for f in fields if f.code == wanted],
        [f for f in fields if f.code.casefold() == wanted.casefold()],
    ):
        if match:
            return match[0]
    raise TextRefused("monitoring.error.unknown_field", {"code": wanted})


def set_assumptions(session: Session, *, organisation_id: int, field_code: str, text: str) -> Field:
    found = find_field(session, organisation_id, field_code)
    found.assumptions = _checked_text(text)
    session.flush()
    return found


def check_year(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise TextRefused("monitoring.error.year", {"first": FIRST_YEAR, "last": LAST_YEAR})
    return year


def statement_row(
    session: Session, *, organisation_id: int, year: int
) -> StatisticsStatement | None:
    """The year's stored statement, if anyone wrote one."""
    return session.scalars(
        select(StatisticsStatement).where(
            StatisticsStatement.organisation_id == organisation_id,
            StatisticsStatement.year == year,
        )
    ).first()


def statement_of(session: Session, *, organisation_id: int, year: int) -> StatementView:
    row = statement_row(session, organisation_id=organisation_id, year=year)
    if row is None:
        return StatementView(year, "", "", "", None)
    return StatementView(year, row.text, row.author, row.updated_by, row.updated_at)


def set_statement(
    session: Session,
    *,
    organisation_id: int,
    year: int,
    text: str,
    author: str,
    by: str,
    at: datetime,
) -> StatisticsStatement:
    """Creates or replaces the year's statement; ``by`` and ``at`` record who saved it."""
    check_year(year)
    cleaned = _checked_text(text)
    author = " ".join(author.split())
    if len(author) > MAX_AUTHOR:
        raise TextRefused("monitoring.error.author_too_long", {"limit": MAX_AUTHOR})
    row = statement_row(session, organisation_id=organisation_id, year=year)
    if row is None:
        row = StatisticsStatement(organisation_id=organisation_id, year=year)
        session.add(row)
    row.text = cleaned
    row.author = author
    row.updated_by = by[:200]
    row.updated_at = at
    session.flush()
    return row
