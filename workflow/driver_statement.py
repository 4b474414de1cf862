"""A Core statement compiled once per dialect and run on the driver's own cursor.

For a statement that runs thousands of times a minute with a handful of values (a move's read
and writes), SQLAlchemy's execution around the driver (the cache key, the execution context,
the result object) costs more than SQLite takes to run it. Here the statement is compiled
once; each run binds its values through the same type processors SQLAlchemy applies (UTC
timestamps, JSON), runs on the connection's cursor inside the connection's transaction, and
reads the rows through the same result processors. What stays as SQLAlchemy does it: the
engine's ``before_cursor_execute`` and ``after_cursor_execute`` listeners see each statement,
a driver error is raised as SQLAlchemy's exception for it, and a connection the error shows
to be dead is invalidated, so the pool does not hand it out again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement

Processor = Callable[[Any], Any] | None


@dataclass
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # the names in order, for a positional paramstyle
    fixed: dict[str, Any]  # values the statement binds itself (``version + 1``)
    processors: dict[str, Processor]
    columns: tuple[Any, ...]  # the selected columns' types, for the result processors
    # (position, processor) of the columns that have one; known after the first rows
    results: list[tuple[int, Callable[[Any], Any]]] | None = field(default=None)


class DriverStatement:
    """``statement`` run through ``run(connection, values)``; its rows come back as tuples."""

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def run(self, connection: Connection, values: Mapping[str, Any]) -> _Result:
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _compile(self._statement, dialect)
        bound = dict(compiled.fixed)
        processors = compiled.processors
        for name, value in values.items():
            if name in processors:  # a value the statement does not use is not sent
                processor = processors[name]
                bound[name] = value if processor is None else processor(value)
        params: Any = (
            bound if compiled.order is None else tuple(bound[name] for name in compiled.order)
        )
        fairy = connection.connection
        cursor = fairy.driver_connection.cursor()  # type: ignore[union-attr]
        dispatch = connection.dispatch
        try:
            if dispatch.before_cursor_execute:
                dispatch.before_cursor_execute(
                    connection, cursor, compiled.sql, params, None, False
                )
            cursor.execute(compiled.sql, params)
            if dispatch.after_cursor_execute:
                dispatch.after_cursor_execute(connection, cursor, compiled.sql, params, None, False)
            # Whether rows come is known from the statement: the driver's description is
            # built anew on each access (psycopg), which costs more than a short read.
            rows = cursor.fetchall() if compiled.columns else []
            if rows:
                rows = _processed(compiled, dialect, cursor, rows)
            return _Result(rows, cursor.rowcount)
        except dialect.loaded_dbapi.Error as error:
            raise _wrapped(connection, dialect, compiled.sql, params, error, cursor) from error
        finally:
            cursor.close()


@dataclass(frozen=True, slots=True)
class _Result:
    rows: list[Any]
    rowcount: int

    def first(self) -> Any:
        return self.rows[0] if self.rows else None


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    compiled: Any = statement.compile(dialect=dialect)
    if getattr(compiled, "escaped_bind_names", None):
        raise ValueError("a bound name the driver's paramstyle must escape; rename it")
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    processors = {
        name: bind.type.dialect_impl(dialect).bind_processor(dialect)
        for name, bind in by_name.items()
    }
    fixed: dict[str, Any] = {}
    for name, bind in by_name.items():
        if not bind.required:
            value = bind.effective_value
            processor = processors[name]
            fixed[name] = value if processor is None else processor(value)
    columns = tuple(c.type for c in getattr(statement, "selected_columns", ()))
    order = tuple(compiled.positiontup) if compiled.positional else None
    return _Compiled(compiled.string, order, fixed, processors, columns)


def _processed(
    compiled: _Compiled, dialect: Dialect, cursor: Any, rows: Sequence[Any]
) -> list[Any]:
    if compiled.results is None:
        compiled.results = [
            (index, processor)
            for index, (type_, described) in enumerate(
                zip(compiled.columns, cursor.description, strict=True)
            )
            if (processor := type_.dialect_impl(dialect).result_processor(dialect, described[1]))
            is not None
        ]
    if not compiled.results:
        return list(rows)
    processed = []
    for row in rows:
        values = list(row)
        for index, processor in compiled.results:
            values[index] = processor(values[index])
        processed.append(tuple(values))
    return processed


def _wrapped(
    connection: Connection,
    dialect: Dialect,
    sql: str,
    params: Any,
    error: Any,
    cursor: Any,
) -> exc.StatementError:
    dead = dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor)
    if dead:
        connection.invalidate(error)
    return exc.DBAPIError.instance(
        sql,
        params,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=dead,
        dialect=dialect,
    )
