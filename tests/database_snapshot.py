"""A database put back to one saved state, for tests that replay many scenarios on the same data.

A stateful property run plays thousands of short request sequences; hypothesis insists that a
sequence drawn twice behaves the same, so every sequence must start from the same rows. On
SQLite the saved state is an in-memory copy written back with the backup API. On PostgreSQL
the rows are copied into a schema of their own; putting them back deletes every table's rows
and inserts the saved ones in one transaction, with triggers and foreign keys held off
(``session_replication_role``), and sets each sequence to its saved value. Creating the
database again from a template took about 370 ms a time with the seeded example data, this
about 35 ms.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from workflow.runtime import Runtime

SAVED = "zf_saved"

_TABLES = text(
    "SELECT c.relname,"
    " string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FILTER (WHERE a.attgenerated = '')"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
    " WHERE n.nspname = 'public' AND c.relkind = 'r' GROUP BY c.relname ORDER BY c.relname"
)
_SEQUENCES = text(
    "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value"
    " FROM pg_sequences WHERE schemaname = 'public'"
)


@dataclass
class DatabaseSnapshot:
    rt: Runtime
    _copy: sqlite3.Connection | None = None
    _tables: list[tuple[str, str]] = field(default_factory=list)  # (table, its stored columns)
    _sequences: list[tuple[str, int | None]] = field(default_factory=list)

    @classmethod
    def take(cls, rt: Runtime) -> DatabaseSnapshot:
        """Saves the database's present state."""
        snapshot = cls(rt)
        url = make_url(rt.settings.database_url)
        if url.get_backend_name() == "sqlite":
            rt.engine.dispose()
            snapshot._copy = sqlite3.connect(":memory:")
            with sqlite3.connect(str(url.database)) as live:
                live.backup(snapshot._copy)
            return snapshot
        with rt.engine.begin() as conn:
            snapshot._tables = [(t, columns) for t, columns in conn.execute(_TABLES)]
            snapshot._sequences = [(name, value) for name, value in conn.execute(_SEQUENCES)]
            conn.execute(text(f"CREATE SCHEMA {SAVED}"))
            for table, _ in snapshot._tables:
                conn.execute(text(f'CREATE TABLE {SAVED}."{table}" AS TABLE public."{table}"'))
        return snapshot

    def restore(self) -> None:
        """Puts the saved state back."""
        if self._copy is not None:
            self.rt.engine.dispose()
            live = sqlite3.connect(str(make_url(self.rt.settings.database_url).database))
            try:
                self._copy.backup(live)
            finally:
                live.close()
            return
        with self.rt.engine.begin() as conn:
            self._put_back(conn)

    def _put_back(self, conn: Connection) -> None:
        # One string of statements: one round trip instead of two per table.
        statements = ["SET LOCAL session_replication_role = replica"]
        for table, columns in self._tables:
            statements.append(f'DELETE FROM public."{table}"')
            statements.append(
                f'INSERT INTO public."{table}" ({columns}) OVERRIDING SYSTEM VALUE'
                f' SELECT {columns} FROM {SAVED}."{table}"'
            )
        for name, value in self._sequences:
            # A sequence never used starts again at its first value.
            statements.append(
                f"ALTER SEQUENCE {name} RESTART"
                if value is None
                else f"SELECT setval('{name}', {int(value)})"
            )
        conn.exec_driver_sql(";\n".join(statements))

    def drop(self) -> None:
        if self._copy is not None:
            self._copy.close()
            return
        with self.rt.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SAVED} CASCADE"))
