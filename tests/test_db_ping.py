"""The pool asks PostgreSQL whether a connection lives only when it has been idle a while
(``workflow.db._ping_idle_connections``), and replaces a dead one before anybody uses it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.conftest import _pg_admin_engine
from workflow import db
from workflow.db import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def _count_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_conn: Any) -> bool:
        pings.append(1)
        return ping(dbapi_conn)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_back_within_the_second_is_not_asked(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _count_pings(engine, monkeypatch)
    first = _backend(engine)  # a new connection: alive, not asked
    assert [_backend(engine) for _ in range(5)] == [first] * 5
    assert pings == []


def test_an_idle_connection_is_asked_and_a_dead_one_replaced(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _count_pings(engine, monkeypatch)
    first = _backend(engine)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert _backend(engine) == first  # asked, alive, kept
    assert len(pings) == 1
    admin = _pg_admin_engine()
    try:
        with admin.connect() as conn:
            assert conn.execute(
                text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": first}
            ).scalar()
    finally:
        admin.dispose()
    # The dead connection fails its ping and is replaced: the statement itself succeeds.
    second = _backend(engine)
    assert second != first
    assert len(pings) >= 2
