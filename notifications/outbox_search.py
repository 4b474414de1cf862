"""Conditions on the outbox that its indexes can serve, on PostgreSQL and SQLite alike.

The outbox grows by every email of every year, so a condition that reads all of it is paid
again by every email that asks it. Two kinds of question were such conditions:

- Rows by the parts of their dedupe key (``sc:12:`` … ``:reminder:``). SQLite's LIKE ignores
  case and so cannot use the key's index; its GLOB compares exactly and can. PostgreSQL's LIKE
  uses an index only if the index compares bytes: ``ix_outbox_message_dedupe_key_pattern``
  (revision 0015) does, whatever the database's collation.
- Rows still to be sent. The partial index ``ix_outbox_message_pending`` holds only them, but
  a planner takes it only when the query repeats its condition word for word: a bound
  ``status = ?`` is not enough for SQLite, nor for a generic plan of PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from notifications.models import OutboxMessage, OutboxStatus

# The partial index's own condition; ``status IN ('pending', 'sending')`` in the SQL.
NOT_YET_SENT: ColumnElement[bool] = OutboxMessage.status.in_(
    [
        literal_column(f"'{OutboxStatus.PENDING.value}'"),
        literal_column(f"'{OutboxStatus.SENDING.value}'"),
    ]
)


def key_matches(column: Any, *parts: str) -> ColumnElement[bool]:
    """``column`` starts with ``parts[0]`` and holds each further part after the one before,
    anything in between; an empty last part leaves the end open. So
    ``key_matches(OutboxMessage.dedupe_key, "sc:12:", ":reminder:", "")`` is LIKE
    ``'sc:12:%:reminder:%'``, with the parts taken literally (``_`` and ``%`` included)."""
    if not parts or not parts[0]:
        raise ValueError("a key is searched by its beginning; the first part must not be empty")
    like = "%".join(_like_literal(part) for part in parts)
    glob = "*".join(_glob_literal(part) for part in parts)
    return _PerDialect(column.op("GLOB", is_comparison=True)(glob), column.like(like, escape="\\"))


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _glob_literal(text: str) -> str:
    # In a GLOB pattern a character class of one character stands for that character.
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


class _PerDialect(ColumnElement[bool]):
    """One condition written two ways: ``sqlite`` for SQLite, ``other`` for every other."""

    inherit_cache = True
    _traverse_internals = [
        ("sqlite", InternalTraversal.dp_clauseelement),
        ("other", InternalTraversal.dp_clauseelement),
    ]
    type = Boolean()

    def __init__(self, sqlite: ColumnElement[bool], other: ColumnElement[bool]) -> None:
        self.sqlite = sqlite
        self.other = other

    def self_group(self, against: Any = None) -> ColumnElement[Any]:
        # Either form is a comparison already: without this, SQLite's rendering of a boolean
        # in WHERE would add ``= 1``, and the planner no longer sees the GLOB.
        return self

    def _negate(self) -> ColumnElement[Any]:
        return _PerDialect(~self.sqlite, ~self.other)


@compiles(_PerDialect)
def _compile_other(element: _PerDialect, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.other, **kw))


@compiles(_PerDialect, "sqlite")
def _compile_sqlite(element: _PerDialect, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.sqlite, **kw))
