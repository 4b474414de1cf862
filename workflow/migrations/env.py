"""Alembic environment: the models' metadata, batch mode on SQLite, UTC datetimes as plain types."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import event

from workflow.db import make_engine
from workflow.migrate import compare_type, include_object_on, render_item
from workflow.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _foreign_keys_off)
        with engine.connect() as connection:
            _run(connection)
            if engine.dialect.name == "sqlite":
                _check_foreign_keys(connection)
        engine.dispose()
    else:
        _run(connectable)


def _foreign_keys_off(dbapi_conn: Any, _record: Any) -> None:
    # SQLite's batch mode rebuilds a table (copy, drop, rename); with foreign keys on, the
    # drop fails as soon as another table's rows point at it. The pragma only works outside
    # a transaction, so it is set when the connection opens; _check_foreign_keys then proves
    # that the migrations left every reference intact.
    dbapi_conn.execute("PRAGMA foreign_keys=OFF")


def _check_foreign_keys(connection: Any) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    connection.rollback()
    if broken:
        raise RuntimeError(f"migration left broken references: {broken[:5]}")


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        compare_type=compare_type,
        include_object=include_object_on(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
