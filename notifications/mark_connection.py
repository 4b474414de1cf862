"""The sender's mark thread's own database connection, held for one claim.

A mark is one UPDATE of the email's rows. Through the pool it cost four round trips on
PostgreSQL (the pool's ping at checkout, psycopg's BEGIN, the UPDATE, the COMMIT); on a
connection held in autocommit it is one, and a single UPDATE is atomic on its own. SQLite
has no round trips to save and keeps its write-intent transaction (``unit_of_work``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Executable
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError


class MarkConnection:
    """Used from one thread only (the mark thread); ``close`` from that thread too."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Connection | None = None

    @property
    def holds(self) -> bool:
        """Whether marks go through the held connection (PostgreSQL) or a unit of work."""
        return self.engine.dialect.name == "postgresql"

    def execute(self, statement: Executable, params: Mapping[str, Any] | None = None) -> None:
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = self.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            try:
                self.connection.execute(statement, params)
                return
            except DBAPIError as exc:
                self.close()
                # A connection lost between two marks (a database restart) is what the pool's
                # ping would have caught: once more on a new one. The UPDATE changes only rows
                # still being sent under this claim, so a second run of it is harmless.
                if attempt == 2 or not exc.connection_invalidated:
                    raise

    def close(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            try:
                connection.close()
            except DBAPIError:
                connection.invalidate()
