"""Generic walks over every table: which rows belong to an organisation, which texts mention someone.

Driven by ``Base.metadata`` rather than a hand-kept list, so a table added later is covered
by export and erasure without anyone remembering to register it here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import JSON, ColumnElement, String, Table, Text, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import Column

from workflow.db import Base

# Hashes of secrets are useless to the person and must never leave the database.
SECRET_SUFFIX = "_hash"
# Deep enough for agenda_item -> meeting -> body -> organisation.
_MAX_HOPS = 4


def tables() -> list[Table]:
    import workflow.models  # noqa: F401  # every table registers itself on import

    return list(Base.metadata.sorted_tables)


def text_columns(table: Table) -> list[Column[Any]]:
    """The columns that can hold a name or an address: strings and JSON, no secret hashes."""
    return [
        c
        for c in table.columns
        if isinstance(c.type, String | Text | JSON) and not c.name.endswith(SECRET_SUFFIX)
    ]


def org_clause(table: Table, organisation_id: int, hops: int = 0) -> ColumnElement[bool] | None:
    """A condition selecting the rows of ``table`` that belong to the organisation, or None.

    Tables without ``organisation_id`` belong to it through a foreign key (a meeting through
    its body); the first such path found decides.
    """
    if table.name == "organisation":
        return table.c.id == organisation_id
    # A nullable organisation_id is a choice, not the owner (a session's switcher choice,
    # NULL for the home organisation): such rows belong through their other keys.
    if "organisation_id" in table.c and not table.c.organisation_id.nullable:
        return table.c.organisation_id == organisation_id
    if hops >= _MAX_HOPS:
        return None
    for fk in sorted(table.foreign_keys, key=lambda f: (f.parent.nullable, f.parent.name)):
        parent = fk.column.table
        if parent is table:
            continue
        inner = org_clause(parent, organisation_id, hops + 1)
        if inner is not None:
            return fk.parent.in_(select(fk.column).where(inner))
    return None


def scoped_rows(session: Session, organisation_id: int) -> Iterator[tuple[Table, RowMapping]]:
    """Every row of every table that belongs to the organisation."""
    for table in tables():
        clause = org_clause(table, organisation_id)
        if clause is None:
            continue
        for row in session.execute(select(table).where(clause)).mappings():
            yield table, row


class Needles:
    """Whole-word, case-insensitive matches of a person's address and names in any text."""

    def __init__(self, email: str, names: Iterable[str]) -> None:
        self.email = email.lower()
        full = {n.strip() for n in names if n.strip()}
        self.names = sorted(full | _addressed(full), key=len, reverse=True)
        self._email = _word(self.email, tail=r"(?![\w.-]*\w)")
        self._names = [_word(n) for n in self.names]

    def mentioned(self, value: Any) -> bool:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return any(p.search(text) for p in [self._email, *self._names])

    def replace(self, value: Any, *, name: str, email: str) -> Any:
        """``value`` with every mention replaced; JSON is walked, keys included."""
        if isinstance(value, str):
            value = self._email.sub(email, value)
            for pattern in self._names:
                value = pattern.sub(name, value)
            return value
        if isinstance(value, dict):
            return {
                self.replace(k, name=name, email=email): self.replace(v, name=name, email=email)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.replace(v, name=name, email=email) for v in value]
        return value


def _addressed(names: set[str]) -> set[str]:
    """How a note names someone by surname only: Frau Mustermann, Herrn Mustermann."""
    surnames = {n.split()[-1] for n in names if len(n.split()) > 1}
    return {f"{title} {s}" for s in surnames for title in ("Frau", "Herr", "Herrn")}


def _word(text: str, tail: str = r"(?!\w)") -> re.Pattern[str]:
    # Whole words only: erasing "Anna" must leave "Annahme" alone.
    return re.compile(r"(?<![\w.+-])" + re.escape(text) + tail, re.IGNORECASE)
