"""A move's statements on the driver's cursor: the same SQL, values and rows as SQLAlchemy's own
execution, SQLAlchemy's exceptions, and a dead connection taken out of the pool."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from tests.test_move_read import stays_of_one_cycle
from workflow.clock import FrozenClock
from workflow.cycles.locked_stay import read_locked
from workflow.db import make_engine, write_transaction
from workflow.deadlines import DeadlinePolicy
from workflow.driver_statement import DriverStatement
from workflow.machine import Event
from workflow.runtime import Runtime
from workflow.transitions import move_on


def _sent(connection: Connection, run: Any) -> list[tuple[str, Any]]:
    """The statements and values the driver received while ``run`` ran, rolled back after."""
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append((statement, parameters))

    transaction = connection.begin()
    event.listen(connection, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(connection, "before_cursor_execute", record)
        transaction.rollback()
    return seen


@pytest.fixture
def recorded(
    rt: Runtime, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[tuple[DriverStatement, dict[str, Any]]]]:
    """Every driver statement with its values, over moves that queue messages, extend a
    deadline (a date in the payload) and end a measure (its status)."""
    calls: list[tuple[DriverStatement, dict[str, Any]]] = []
    original = DriverStatement.run

    def recording(self: DriverStatement, connection: Connection, values: Any) -> Any:
        calls.append((self, dict(values)))
        return original(self, connection, values)

    first, second = stays_of_one_cycle(rt, clock, 2)
    moves = [
        (first, Event.RECORD_INTERVIEW, {"decision": "keep"}),
        (second, Event.EXTEND_DEADLINE, {"due_on": "2026-06-30", "reason": "Urlaub"}),
        (second, Event.DROP, {"reason": "Im Erstgespräch gestrichen"}),
    ]
    for mc_id, move_event, payload in moves:
        with write_transaction(rt.engine) as connection:
            # Inside the transaction: its BEGIN is the connection's, not the move's.
            monkeypatch.setattr(DriverStatement, "run", recording)
            move_on(
                connection,
                clock=clock,
                measure_cycle_id=mc_id,
                event=move_event,
                expected_version=None,
                actor="user:1",
                payload=payload,
            )
            monkeypatch.undo()
    yield calls


def test_the_driver_receives_what_sqlalchemy_would_send(
    rt: Runtime, recorded: list[tuple[DriverStatement, dict[str, Any]]]
) -> None:
    """Same SQL, same values after the type processors (UTC timestamps, JSON, dates), for
    every statement of the moves; each compared inside a transaction rolled back after."""
    statements = {id(statement) for statement, _values in recorded}
    assert len(statements) >= (3 if rt.engine.dialect.name == "postgresql" else 5)
    for statement, values in recorded:
        with rt.engine.connect() as connection:
            ours = _sent(connection, lambda s=statement, v=values: s.run(connection, v))
            theirs = _sent(
                connection,
                lambda s=statement, v=values: connection.execute(s._statement, v),
            )
        assert len(ours) == len(theirs) == 1
        assert ours[0][0] == theirs[0][0]
        assert _comparable(ours[0][1]) == _comparable(theirs[0][1])


def _comparable(parameters: Any) -> Any:
    # psycopg's JSON wrapper has no equality of its own; what it wraps is the value.
    if isinstance(parameters, dict):
        return {key: _comparable(value) for key, value in parameters.items()}
    if isinstance(parameters, tuple):
        return tuple(_comparable(value) for value in parameters)
    return getattr(parameters, "obj", parameters)


def test_rows_come_back_as_sqlalchemy_reads_them(rt: Runtime, clock: FrozenClock) -> None:
    """Timestamps aware in UTC, the policy as a dict, dates as dates: the same tuple."""
    (mc_id,) = stays_of_one_cycle(rt, clock, 1)
    from workflow.cycles.locked_stay import _READ

    with write_transaction(rt.engine) as connection:
        ours = _READ.run(connection, {"measure_cycle_id": mc_id}).first()
        theirs = connection.execute(_READ._statement, {"measure_cycle_id": mc_id}).first()
        stay = read_locked(connection, mc_id)
    assert theirs is not None and ours == tuple(theirs)
    assert stay is not None and stay.entered_state_at.utcoffset() is not None
    assert isinstance(stay.policy, DeadlinePolicy)
    with rt.engine.connect() as connection:
        assert read_locked(connection, 987_654) is None


def test_a_driver_error_is_sqlalchemys_exception(rt: Runtime) -> None:
    statement = DriverStatement(
        text(
            "INSERT INTO audit_event (organisation_id, at, actor, event, from_state, to_state,"
            " payload) VALUES (:org, CURRENT_TIMESTAMP, 'x', 'x', 'x', 'x', '{}')"
        )
    )
    with (
        rt.engine.connect() as connection,
        connection.begin(),
        pytest.raises(IntegrityError) as raised,
    ):
        statement.run(connection, {"org": 987_654})
    assert raised.value.orig is not None
    assert "audit_event" in str(raised.value.statement)


@pytest.mark.postgres
def test_a_connection_found_dead_is_not_handed_out_again(postgres_url: str) -> None:
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    admin = make_engine(postgres_url)
    try:
        probe = DriverStatement(select(func.pg_backend_pid()))
        with engine.connect() as connection:
            pid = probe.run(connection, {}).first()[0]
        with admin.connect() as other, other.begin():
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with engine.connect() as connection:
            with pytest.raises(OperationalError) as raised:
                probe.run(connection, {})
            assert raised.value.connection_invalidated
        with engine.connect() as connection:
            assert probe.run(connection, {}).first()[0] != pid
    finally:
        engine.dispose()
        admin.dispose()
