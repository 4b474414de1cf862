"""Reading the statements a piece of code sends, and the databases' plans for them.

On PostgreSQL a sequential scan is turned off for the question, so the plan shows whether an
index *can* serve the statement at all: a small test table would otherwise be read whole,
rightly, by either form.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

# The plan nodes that read a table; a bitmap heap scan reads what its index scans found.
SCANS = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Index Scan"}


@contextmanager
def statements(s: Session) -> Iterator[list[tuple[str, Any]]]:
    """The statements the session sends meanwhile, with their parameters."""
    seen: list[tuple[str, Any]] = []
    connection = s.connection()

    def record(_c: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", record)


def sqlite_plan(s: Session, statement: str, parameters: Any) -> list[str]:
    """The lines of SQLite's ``EXPLAIN QUERY PLAN``."""
    rows = s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return [str(row[3]) for row in rows]


def postgresql_plan(s: Session, statement: str, parameters: Any) -> list[dict[str, Any]]:
    """Every node of PostgreSQL's plan, with sequential scans turned off for the
    transaction."""
    connection = s.connection()
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plan: Any = connection.exec_driver_sql(
        "EXPLAIN (FORMAT JSON) " + statement, parameters
    ).scalar_one()
    nodes: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        nodes.append(node)
        for child in node.get("Plans", []):
            walk(child)

    walk((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
    return nodes
