"""``zielflow db backup``: a consistent copy of the SQLite database, taken while the worker runs.

The database is the only source of truth (the outbox included), so this one file is the
whole backup. PostgreSQL is refused with the ``pg_dump`` line to run instead: pg_dump must
be at least the server's major version, which only the operator's machine can guarantee,
and it wants the password from PGPASSWORD or ~/.pgpass, never from our command line.
Restoring and what happens to emails sent after the backup: README "Backups".
"""

from __future__ import annotations

import errno
import os
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupRefused(Exception):
    """A backup this command does not make; ``key`` and ``params`` word why (cli catalogue)."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def backup(database_url: str, target: Path) -> None:
    """Write a copy of the configured database to ``target``, which must not exist yet."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        raise BackupRefused("db.backup.postgres", path=target, url=libpq_url(database_url))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        raise BackupRefused("db.backup.unsupported", backend=url.get_backend_name())
    backup_sqlite(Path(str(url.database)), target)


def backup_sqlite(source: Path, target: Path) -> None:
    # Refused here rather than by sqlite3, which would create an empty database in its place.
    if not source.is_file():
        raise BackupRefused("db.backup.no_database", path=source)
    if not target.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(target))
    if target.exists():
        raise BackupRefused("db.backup.exists", path=target)
    partial = target.with_name(f".{target.name}.{os.getpid()}.teil")
    try:
        _copy(source, partial)
        os.replace(partial, target)  # a backup under its name is always a whole one
    finally:
        partial.unlink(missing_ok=True)


def _copy(source: Path, partial: Path) -> None:
    # One step (pages=-1) reads a single snapshot; in WAL mode the worker keeps writing.
    with (
        closing(sqlite3.connect(source, timeout=30)) as src,
        closing(sqlite3.connect(partial)) as dst,
    ):
        src.backup(dst, pages=-1)
        # One self-contained file: no -wal beside it that a copy could leave behind.
        dst.execute("PRAGMA journal_mode=DELETE")
        (verdict,) = dst.execute("PRAGMA quick_check").fetchone()
    if verdict != "ok":
        raise BackupRefused("db.backup.damaged", detail=verdict)


def libpq_url(database_url: str, *, password: bool = False) -> str:
    """The SQLAlchemy URL as pg_dump reads it; without the password unless asked for."""
    url = make_url(database_url).set(drivername="postgresql")
    if not password:
        url = url._replace(password=None)  # set(password=None) would keep it
    return url.render_as_string(hide_password=False)
