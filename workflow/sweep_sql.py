"""SQL pieces the set-based sweep passes share: a table of decisions as a CTE, and the
dialect differences (placeholders, JSON objects, casts) of PostgreSQL and SQLite.

The statements go straight to the driver (``exec_driver_sql``): a batch of 500 decisions has
a few thousand parameters, and compiling a fresh ``text()`` of that size per batch would cost
more than the work it describes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Connection, Dialect

from workflow.db import UTCDateTime

Row = Sequence[Any]
# Rows per statement: 1,000 × 7 parameters stay well below SQLite's 32,766.
CHUNK = 1_000


class Sql:
    """What differs between the two supported databases, for one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect: Dialect = conn.dialect
        self.postgres = self.dialect.name == "postgresql"
        self.mark = "?" if self.dialect.paramstyle == "qmark" else "%s"
        processor = UTCDateTime().bind_processor(self.dialect)
        self._datetime: Callable[[Any], Any] = processor or (lambda v: v)

    def datetime(self, value: datetime | None) -> Any:
        """A datetime as the column stores it (SQLite compares the stored text)."""
        return self._datetime(value)

    def json_object(self, pairs: Sequence[tuple[str, str]]) -> str:
        function = "json_build_object" if self.postgres else "json_object"
        fields = ", ".join(f"'{key}', {expr}" for key, expr in pairs)
        return f"{function}({fields})"

    def timestamp(self, expr: str) -> str:
        # A column of NULLs alone in a VALUES list has no type on PostgreSQL.
        return f"CAST({expr} AS timestamp with time zone)" if self.postgres else expr

    def integer(self, expr: str) -> str:
        return f"CAST({expr} AS INTEGER)"

    def run_values(
        self,
        name: str,
        columns: Sequence[tuple[str, str]],
        rows: Sequence[Row],
        body: str,
        *extra: Any,
    ) -> list[Row]:
        """Runs ``WITH name(columns) AS (…) body`` with ``rows`` as the table ``name``, in
        chunks that stay below SQLite's limit on parameters; returns what the statements
        return. ``columns`` are (name, PostgreSQL type) pairs. ``body`` takes ``extra`` as
        its parameters and ends with ``{ids}``, a condition on the ids of the chunk (each
        row's first value): a join with a VALUES list alone lets PostgreSQL hash it against
        a scan of the whole table (seen with EXPLAIN ANALYZE at 20k and 100k rows).

        On PostgreSQL the rows travel as one JSON array of arrays: the statement's text is
        then the same for every chunk, so the server parses and plans it once per connection
        (psycopg prepares a repeated statement), and a chunk is one parameter instead of
        thousands. JSON rather than one array per column (``unnest``): psycopg writes an
        array's text element by element in Python, 2.5 ms of the client's time for 500 rows
        of five columns against 0.6 ms for the standard library's JSON encoder; ``jsonb``,
        parsed once, rather than ``json``, parsed again for each column (bench/FINDINGS.md)."""
        names = ", ".join(column for column, _type in columns)
        if self.postgres:
            fields = ", ".join(_json_field(i, kind) for i, (_column, kind) in enumerate(columns))
            table = f"SELECT {fields} FROM jsonb_array_elements(CAST({self.mark} AS jsonb)) AS j(v)"
        else:
            one = "(" + ", ".join([self.mark] * len(columns)) + ")"
        out: list[Row] = []
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            ids, id_params = self._among([row[0] for row in chunk])
            params: list[Any]
            if self.postgres:
                params = [json.dumps(chunk, default=_iso, ensure_ascii=False)]
            else:
                table = "VALUES " + ", ".join([one] * len(chunk))
                params = [value for row in chunk for value in row]
            sql = f"WITH {name}({names}) AS ({table}) {body.format(ids=ids)}"
            params.extend(extra)
            params.extend(id_params)
            result = self.conn.exec_driver_sql(sql, tuple(params))
            if result.returns_rows:
                out.extend(result.all())
        return out

    def _among(self, ids: list[int]) -> tuple[str, list[Any]]:
        """``= ANY(array)`` on PostgreSQL; nothing on SQLite, whose planner already walks the
        VALUES list and looks each id up (an ``IN`` list there makes it scan the VALUES list
        once per row instead)."""
        if self.postgres:
            # The array's text written here: psycopg would write it element by element.
            return f"= ANY(CAST({self.mark} AS integer[]))", ["{" + ",".join(map(str, ids)) + "}"]
        return "IS NOT NULL", []


def _json_field(index: int, kind: str) -> str:
    """Column ``index`` of the JSON row ``v`` as the PostgreSQL type ``kind``."""
    value = f"v->>{index}"
    return value if kind == "text" else f"CAST({value} AS {kind})"


def _iso(value: object) -> str:
    """Dates and times in JSON: ISO 8601, with the offset of an aware datetime."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} has no place in a sweep's rows")
