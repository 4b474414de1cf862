"""End to end: a real Redis broker, real Celery worker and beat processes, a real SMTP server."""

from __future__ import annotations

import re
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

EXPECTED = Counter(
    {
        ("invitation_agreement", "mkontakt0@stadt.example.org"): 1,
        ("invitation_agreement", "mkontakt1@stadt.example.org"): 1,
        ("reminder", "mkontakt0@stadt.example.org"): 1,
        ("final_reminder", "mkontakt1@stadt.example.org"): 1,
        ("escalation_head", "mleitung@stadt.example.org"): 1,
        ("digest", "sommer.m@stadt.example.org"): 1,
    }
)


def _received(sink: CapturingHandler) -> Counter[tuple[str, str]]:
    return Counter(
        (str(m["X-Zielflow-Kind"]), m["To"].addresses[0].addr_spec) for m in sink.messages
    )


def test_due_items_are_mailed_once_by_worker_and_two_beats(
    postgres_url: str,
    redis_server: RedisServer,
    smtp_sink: tuple[int, CapturingHandler],
    tmp_path: Path,
) -> None:
    port, sink = smtp_sink
    rt = seed_due_now(postgres_url, tmp_path)
    procs = Processes(worker_env(postgres_url, redis_server.url, port, tmp_path / "var"), tmp_path)
    try:
        procs.start("worker", "--beat", "--concurrency=2")
        # A second scheduler by mistake, on another machine: must change nothing.
        procs.start("beat", ZIELFLOW_VAR_DIR=str(tmp_path / "var-second-beat"))
        wait_for(
            lambda: sum(_received(sink).values()) >= sum(EXPECTED.values()),
            120,
            "the due emails",
            procs.logs,
        )
        time.sleep(8)  # several more sweeps from two beats
    finally:
        procs.stop_all()
    assert _received(sink) == EXPECTED, procs.logs()
    reminder = next(m for m in sink.messages if m["X-Zielflow-Kind"] == "reminder")
    text = reminder.get_body(preferencelist=("plain",)).get_content()
    assert "Erinnerung" in str(reminder["Subject"])
    assert re.search(r"https://zielflow\.stadt\.example\.org/f/[A-Za-z0-9_-]{43}", text)
    digest = next(m for m in sink.messages if m["X-Zielflow-Kind"] == "digest")
    assert "M0002" in digest.get_body(preferencelist=("plain",)).get_content()
    with rt.sessions() as s:
        statuses = Counter(s.scalars(select(OutboxMessage.status)))
    assert statuses == Counter({"sent": 6, "included": 1})  # the digest item went into the digest
    rt.dispose()
