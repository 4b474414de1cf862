"""The sender's held mark connection: one UPDATE per mark, and a lost connection survived.

The pool's ping used to find a connection the database had dropped (the fault suite restarts
PostgreSQL); the held connection has no ping, so a mark that finds its connection dead runs
once more on a new one. Any other database error is the caller's, at once.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DBAPIError

from notifications.mark_connection import MarkConnection
from workflow.db import make_engine

pytestmark = pytest.mark.postgres


def test_a_mark_is_one_statement_and_survives_a_dropped_connection(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE marked (id integer PRIMARY KEY, n integer)"))
        conn.execute(text("INSERT INTO marked VALUES (1, 0)"))
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: sent.append(a[2].split()[0]))
    held = MarkConnection(engine)
    assert held.holds
    bump = text("UPDATE marked SET n = n + 1 WHERE id = 1")
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    held.execute(bump)
    with admin.connect() as conn:  # committed by itself, while the connection stays open
        assert conn.execute(text("SELECT n FROM marked")).scalar_one() == 1
    held.execute(bump)
    assert sent == ["UPDATE", "UPDATE"]  # the statements of the marks and nothing else
    assert held.connection is not None
    pid = held.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    held.execute(bump)  # the dead connection is replaced, the UPDATE runs once
    with admin.connect() as conn:
        assert conn.execute(text("SELECT n FROM marked")).scalar_one() == 3
    with pytest.raises(DBAPIError, match="no_such_table"):
        held.execute(text("UPDATE no_such_table SET n = 1"))
    assert held.connection is None  # closed after the error; the next mark opens a new one
    held.execute(bump)
    held.close()
    with admin.connect() as conn:
        assert conn.execute(text("SELECT n FROM marked")).scalar_one() == 4
    admin.dispose()
    engine.dispose()


def test_sqlite_marks_keep_their_unit_of_work(sqlite_url: str) -> None:
    assert not MarkConnection(make_engine(sqlite_url)).holds
