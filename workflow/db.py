"""Engine, sessions and the declarative base; owns no business rule and never commits for a caller."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator, create_engine, event, text
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from workflow.driver_statement import DriverStatement

WRITE_INTENT = "zielflow_write_intent"
# On the driver's cursor: SQLAlchemy's execution around a statement without values or rows
# cost a short transaction (a move) more than SQLite's BEGIN itself.
_BEGIN = DriverStatement(text("BEGIN"))
_BEGIN_IMMEDIATE = DriverStatement(text("BEGIN IMMEDIATE"))

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and returns them aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: zielflow stores UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[dict[str, Any]]: JSON(),
    }


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the API read while the worker writes; foreign keys are off by default.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A unit of work takes the write lock at BEGIN, so two writers queue instead of
            # one failing when it upgrades its read snapshot; readers never wait.
            immediate = conn.get_execution_options().get(WRITE_INTENT, False)
            (_BEGIN_IMMEDIATE if immediate else _BEGIN).run(conn, {})

        # pysqlite's own implicit BEGIN must be off for the line above to own the transaction.
        @event.listens_for(engine, "connect")
        def _sqlite_autocommit_off(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        return engine
    engine = create_engine(url, **kwargs)
    _ping_idle_connections(engine)
    return engine


# A connection the pool handed back less than this long ago is taken as alive: asking the
# server first (``pool_pre_ping``) cost every transaction a round trip of its own, the
# sweep's fourteen and every request's one included. An older one is asked; a dead one is
# replaced before anybody uses it. A server that restarts within the second fails the
# statements that meet the dead connection, as it fails those in flight when it goes down.
PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED = "zielflow_returned_at"


def _ping_idle_connections(engine: Engine) -> None:
    """SQLAlchemy's pessimistic disconnect handling, for connections idle a while only."""

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_conn: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED)
        if returned is not None and time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool drops this connection and checks out another (up to three times).
            raise DisconnectionError("no answer to the ping") from exc
        record.info[_RETURNED] = time.monotonic()


_PINNED = "zielflow_pinned_rows"
_Row = TypeVar("_Row")


def pinned_get(session: Session, model: type[_Row], ident: int) -> _Row | None:
    """``session.get`` that keeps the row for the session's lifetime: the identity map holds
    rows only weakly, so a request or a sweep batch would otherwise load the same
    organisation or cycle again each time one of its steps asks for it."""
    pins: dict[tuple[str, int], Any] = session.info.setdefault(_PINNED, {})
    key = (model.__tablename__, ident)  # type: ignore[attr-defined]
    if key not in pins:
        pins[key] = session.get(model, ident)
    return pins[key]


def already_pinned(session: Session, model: type[_Row], ident: int) -> _Row | None:
    """The row ``pinned_get`` keeps, or None if nobody has asked for it yet; never a query."""
    pins: dict[tuple[str, int], Any] = session.info.get(_PINNED, {})
    return pins.get((model.__tablename__, ident))  # type: ignore[attr-defined]


def pin(session: Session, row: Any) -> None:
    """Keep a row loaded elsewhere (with the rows it belongs to) for ``pinned_get``."""
    pins: dict[tuple[str, int], Any] = session.info.setdefault(_PINNED, {})
    pins[(row.__tablename__, row.id)] = row


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed if the block succeeds, rolled back if it raises."""
    with factory() as session, session.begin():
        session.connection(execution_options={WRITE_INTENT: True})
        yield session


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """``unit_of_work`` without the session, for a caller whose statements are all Core ones
    (``transitions.move_on``): the session's bookkeeping costs more than such a transaction's
    statements on SQLite."""
    with engine.connect() as connection:
        connection.execution_options(**{WRITE_INTENT: True})
        with connection.begin():
            yield connection
