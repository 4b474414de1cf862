"""A backup taken while the worker sends, restored into an empty database, resumes cleanly.

Real Redis, real Celery worker and beat, real SMTP sinks, on SQLite (`zielflow db backup`)
and on PostgreSQL (`pg_dump -Fc` / `pg_restore`). After the restore, `zielflow db upgrade`
and one `zielflow sweep` against a fresh sink: what the backup knew as sent never goes out
again, what it knew as pending goes out, and the only repeats are the emails sent after the
backup was taken, each exactly once more and with the Message-ID it had (README "Backups").
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from notifications.models import OutboxMessage
from notifications.sink import CapturingHandler, start_sink
from tests.conftest import IN_CI, PG_URL
from tests.e2e import Processes, seed_due_now, wait_for, worker_env
from tests.live import RedisServer, free_port
from workflow import runtime
from workflow.backup import libpq_url
from workflow.db import make_engine

pytestmark = [pytest.mark.e2e]

# Every due email of seed_due_now: two invitations, two reminders, an escalation, a digest.
DUE_EMAILS = 6
# The sink takes this long per email, so the backup falls between two of them; the SMTP
# timeout must outlast it, and the lease must outlast 8 timeouts (workflow/config.py).
SINK_SECONDS = 0.8
SLOW_SMTP = {"ZIELFLOW_SMTP_TIMEOUT_SECONDS": "2", "ZIELFLOW_SEND_LEASE_SECONDS": "17"}

Backup = Callable[[str, Path, dict[str, str]], Path]
Restore = Callable[[Path], str]


@dataclass(frozen=True)
class Row:
    status: str
    message_id: str | None
    lease_until: datetime | None


def _zielflow(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workflow.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _rows(url: str) -> dict[int, Row]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.status,
                    OutboxMessage.message_id,
                    OutboxMessage.lease_until,
                )
            )
            return {r.id: Row(r.status, r.message_id, r.lease_until) for r in found}
    finally:
        engine.dispose()


def _mid(message: EmailMessage) -> str:
    return str(message["Message-ID"])


def _ids(sink: CapturingHandler) -> Counter[str]:
    return Counter(_mid(m) for m in sink.messages)


def _wait_for_leases(rows: dict[int, Row]) -> None:
    """An email claimed when the backup was taken waits for its lease, as after a crash."""
    leases = [r.lease_until for r in rows.values() if r.status == "sending" and r.lease_until]
    if leases:
        time.sleep(max(0.0, (max(leases) - datetime.now(UTC)).total_seconds()) + 0.5)


def _backup_restore_resume(
    url: str, redis: RedisServer, tmp_path: Path, backup: Backup, restore: Restore
) -> None:
    rt = seed_due_now(url, tmp_path)
    rt.dispose()
    runtime.install(None)
    first_port = free_port()
    first, sink = start_sink("127.0.0.1", first_port)
    sink.delay_seconds = SINK_SECONDS
    env = worker_env(url, redis.url, first_port, tmp_path / "var", **SLOW_SMTP)
    procs = Processes(env, tmp_path)
    try:
        worker = procs.start("worker", "--beat", "--concurrency=2")
        # Every due row is queued and the worker is sending them: the backup falls in between.
        wait_for(
            lambda: len(sink.messages) >= 1 and len(_rows(url)) > DUE_EMAILS,
            60,
            "the first email",
            procs.logs,
        )
        dump = backup(url, tmp_path, env)
        after_backup = len(sink.messages)
        # One more email is stored after the backup was complete: the documented window.
        wait_for(lambda: len(sink.messages) > after_backup, 30, "one more email", procs.logs)
        procs.kill(worker)  # the machine is gone; what it had claimed stays claimed
    finally:
        procs.stop_all()
        first.stop()
    restored = restore(dump)
    restored_env = {**env, "ZIELFLOW_DATABASE_URL": restored}
    upgraded = _zielflow(restored_env, tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    in_backup = _rows(restored)
    _wait_for_leases(in_backup)
    second_port = free_port()
    second, fresh = start_sink("127.0.0.1", second_port)
    try:
        swept = _zielflow(
            {**restored_env, "ZIELFLOW_SMTP_PORT": str(second_port)}, tmp_path, "sweep"
        )
    finally:
        second.stop()
    assert swept.returncode == 0, swept.stderr
    _assert_resumed(in_backup, _rows(restored), _ids(sink), _ids(fresh))


def _assert_resumed(
    in_backup: dict[int, Row], after: dict[int, Row], before: Counter[str], again: Counter[str]
) -> None:
    sent_in_backup = {r.message_id for r in in_backup.values() if r.status == "sent"}
    pending_in_backup = {i for i, r in in_backup.items() if r.status in ("pending", "sending")}
    assert sent_in_backup and pending_in_backup, "the backup must fall between two emails"
    assert set(before).issuperset(sent_in_backup)
    assert max(before.values()) == max(again.values()) == 1  # once per sink
    assert not set(again) & sent_in_backup  # sent in the backup: never again
    # Pending in the backup: sent now, each under the Message-ID the fresh sink received.
    assert {after[i].status for i in pending_in_backup} == {"sent"}
    assert {after[i].message_id for i in pending_in_backup} == set(again)
    # The window: exactly what went out after the backup repeats, and it repeats the same.
    window = set(before) - sent_in_backup
    assert window, "one email was sent after the backup"
    assert set(before) & set(again) == window
    # Nothing lost: every due email reached one sink or the other.
    sent_after = {r.message_id for r in after.values() if r.status == "sent"}
    assert len(sent_after) == DUE_EMAILS
    assert set(before) | set(again) == sent_after


def test_sqlite_backup_while_the_worker_sends(
    sqlite_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    def backup(url: str, cwd: Path, env: dict[str, str]) -> Path:
        target = cwd / "sicherung" / "zielflow.sqlite3"
        target.parent.mkdir()
        made = _zielflow(env, cwd, "db", "backup", str(target))
        assert made.returncode == 0, made.stderr
        assert str(target) in made.stdout
        return target

    def restore(dump: Path) -> str:
        # An empty place: a folder with no database in it.
        target = tmp_path / "wiederhergestellt" / "zielflow.sqlite3"
        target.parent.mkdir()
        shutil.copy(dump, target)
        return f"sqlite:///{target}"

    _backup_restore_resume(sqlite_url, redis_server, tmp_path, backup, restore)


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/lib/postgresql/15/bin")
    if found is None:
        if IN_CI:
            pytest.fail(f"{name} is required in CI (Debian package 'postgresql-client')")
        pytest.skip(f"{name} not installed")
    return found


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A database that exists and holds nothing: where a dump is restored."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"zf_restore_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_postgres_backup_while_the_worker_sends(
    postgres_url: str, empty_postgres: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    pg_dump, pg_restore = _pg_tool("pg_dump"), _pg_tool("pg_restore")

    def backup(url: str, cwd: Path, env: dict[str, str]) -> Path:
        target = cwd / "zielflow.dump"
        subprocess.run(
            [pg_dump, "-Fc", f"--file={target}", f"--dbname={libpq_url(url, password=True)}"],
            check=True,
            timeout=60,
        )
        return target

    def restore(dump: Path) -> str:
        subprocess.run(
            [
                pg_restore,
                "--no-owner",
                "--exit-on-error",
                f"--dbname={libpq_url(empty_postgres, password=True)}",
                str(dump),
            ],
            check=True,
            timeout=60,
        )
        return empty_postgres

    _backup_restore_resume(postgres_url, redis_server, tmp_path, backup, restore)


def test_backup_refuses_to_overwrite_and_names_pg_dump_for_postgres(
    sqlite_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIELFLOW_")}
    env["ZIELFLOW_VAR_DIR"] = str(tmp_path / "var")
    target = tmp_path / "sicherung.sqlite3"
    made = _zielflow(
        {**env, "ZIELFLOW_DATABASE_URL": sqlite_url}, tmp_path, "db", "backup", str(target)
    )
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    again = _zielflow(
        {**env, "ZIELFLOW_DATABASE_URL": sqlite_url}, tmp_path, "db", "backup", str(target)
    )
    assert again.returncode == 1 and again.stderr.count("\n") == 1
    assert "gibt es schon" in again.stderr
    postgres = "postgresql+psycopg://zielflow:geheim@db.stadt.example.org:5432/zielflow"
    refused = _zielflow(
        {**env, "ZIELFLOW_DATABASE_URL": postgres}, tmp_path, "db", "backup", "x.dump"
    )
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "pg_dump --format=custom --file=x.dump" in refused.stderr
    assert "postgresql://zielflow@db.stadt.example.org:5432/zielflow" in refused.stderr
    assert "geheim" not in refused.stderr
    missing = _zielflow(
        {**env, "ZIELFLOW_DATABASE_URL": sqlite_url}, tmp_path, "db", "backup", "fehlt/x.sqlite3"
    )
    assert missing.returncode == 1 and "Den Ordner fehlt gibt es nicht" in missing.stderr
