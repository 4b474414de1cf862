"""Fault injection with real processes: a worker killed mid-send, Redis restarted mid-run.

After each fault the engine recovers by itself. Every due email arrives; none arrives twice,
except in the one window SMTP leaves open (the server stored the message, the worker died
before it could mark the row sent), where the copy carries the same Message-ID.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from notifications.models import OutboxMessage
from notifications.sink import CapturingHandler
from tests.e2e import Processes, seed_due_now, wait_for, worker_env
from tests.live import RedisServer

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

LEASE = "10"


def _received(sink: CapturingHandler) -> Counter[tuple[str, str]]:
    return Counter(
        (str(m["X-Zielflow-Kind"]), m["To"].addresses[0].addr_spec) for m in sink.messages
    )


def _statuses(rt: object) -> Counter[tuple[str, str, int]]:
    with rt.sessions() as s:  # type: ignore[attr-defined]
        return Counter((r.kind, r.status, r.attempts) for r in s.scalars(select(OutboxMessage)))


def test_worker_killed_before_the_server_took_the_message(
    postgres_url: str,
    redis_server: RedisServer,
    smtp_sink: tuple[int, CapturingHandler],
    tmp_path: Path,
) -> None:
    port, sink = smtp_sink
    rt = seed_due_now(postgres_url, tmp_path, fresh=1, stale=0)
    env = worker_env(
        postgres_url, redis_server.url, port, tmp_path / "var", ZIELFLOW_SEND_LEASE_SECONDS=LEASE
    )
    procs = Processes(env, tmp_path)
    sink.rcpt_delay_seconds = 60  # the first delivery stalls inside the SMTP transaction
    try:
        first = procs.start("worker", "--beat", "--concurrency=1")
        wait_for(sink.rcpt_seen.is_set, 90, "the worker to start sending", procs.logs)
        procs.kill(first)
        assert sink.messages == []
        assert {status for _, status, _ in _statuses(rt)} == {"sending"}  # claimed, then orphaned
        sink.rcpt_delay_seconds = 0
        procs.start("worker", "--beat", "--concurrency=1")
        wait_for(lambda: len(sink.messages) >= 2, 90, "redelivery after the lease", procs.logs)
        time.sleep(5)
    finally:
        procs.stop_all()
    assert _received(sink) == Counter(
        {
            ("invitation_agreement", "mkontakt0@stadt.example.org"): 1,
            ("reminder", "mkontakt0@stadt.example.org"): 1,
        }
    ), procs.logs()
    assert {status for _, status, _ in _statuses(rt)} == {"sent"}
    rt.dispose()


def test_worker_killed_after_the_server_took_the_message_duplicates_only_that_one(
    postgres_url: str,
    redis_server: RedisServer,
    smtp_sink: tuple[int, CapturingHandler],
    tmp_path: Path,
) -> None:
    port, sink = smtp_sink
    rt = seed_due_now(postgres_url, tmp_path, fresh=1, stale=0)
    env = worker_env(
        postgres_url, redis_server.url, port, tmp_path / "var", ZIELFLOW_SEND_LEASE_SECONDS=LEASE
    )
    procs = Processes(env, tmp_path)
    sink.after_store_delay_seconds = 60  # stored, but the "250" never reaches the worker
    try:
        first = procs.start("worker", "--beat", "--concurrency=1")
        wait_for(sink.stored.is_set, 90, "the first message to be stored", procs.logs)
        procs.kill(first)
        sink.after_store_delay_seconds = 0
        procs.start("worker", "--beat", "--concurrency=1")
        wait_for(lambda: len(sink.messages) >= 3, 90, "redelivery after the lease", procs.logs)
        time.sleep(5)
    finally:
        procs.stop_all()
    kinds = Counter(str(m["X-Zielflow-Kind"]) for m in sink.messages)
    duplicated = [k for k, n in kinds.items() if n > 1]
    assert len(sink.messages) == 3 and len(duplicated) == 1, kinds
    ids = {str(m["Message-ID"]) for m in sink.messages if m["X-Zielflow-Kind"] == duplicated[0]}
    assert len(ids) == 1  # the copy is recognisable as the same message
    assert {status for _, status, _ in _statuses(rt)} == {"sent"}
    rt.dispose()


def test_redis_restarted_mid_run(
    database_url: str,
    redis_server: RedisServer,
    smtp_sink: tuple[int, CapturingHandler],
    tmp_path: Path,
) -> None:
    """The worker outlives the broker's restart (no Celery retry holds a message across it) on
    either database, and what fell due meanwhile is sent once."""
    port, sink = smtp_sink
    rt = seed_due_now(database_url, tmp_path, fresh=1, stale=0, prefix="M")
    procs = Processes(worker_env(database_url, redis_server.url, port, tmp_path / "var"), tmp_path)
    try:
        worker = procs.start("worker", "--beat", "--concurrency=1")
        wait_for(lambda: len(sink.messages) >= 2, 90, "the first emails", procs.logs)
        redis_server.stop()
        # Work that becomes due while the broker is down lives in the database meanwhile.
        rt2 = seed_due_now(database_url, tmp_path / "second", fresh=1, stale=0, prefix="N")
        time.sleep(3)
        redis_server.start()
        wait_for(lambda: len(sink.messages) >= 4, 120, "the emails after the restart", procs.logs)
        time.sleep(5)
        assert worker.poll() is None, procs.logs()  # the same worker, never restarted
    finally:
        procs.stop_all()
    assert _received(sink) == Counter(
        {
            ("invitation_agreement", "mkontakt0@stadt.example.org"): 1,
            ("reminder", "mkontakt0@stadt.example.org"): 1,
            ("invitation_agreement", "nkontakt0@stadt.example.org"): 1,
            ("reminder", "nkontakt0@stadt.example.org"): 1,
        }
    ), procs.logs()
    rt.dispose()
    rt2.dispose()
