"""Seeded fault runs with real processes: the engine recovers by itself, loses and doubles nothing.

Each run seeds a fresh PostgreSQL database with measures that owe reminders, one that is
escalated to the department head and the steering group, and contacts who answer their
target agreement during the run. A worker with beat (sometimes a second worker, sometimes a
second beat) then works it off while the run kills workers (SIGKILL at random moments, a few
milliseconds after a "250", or while the SMTP server holds a message before or after storing
it), restarts or crashes Redis, restarts or crashes PostgreSQL (a cluster of the suite's
own, so other processes keep theirs), and makes the SMTP server refuse (4xx), fail (5xx) and
hang. At the end the database and the sink must agree: every expected outbox row exists and
is sent (or dead after a 5xx, with a dead-letter notice sent), no email arrived twice unless
a fault struck between the server's "250" and the commit (same Message-ID, the one documented
window), and every answer is stored and moved its measure exactly once. The table of all
runs is printed in pytest's summary and kept in ``test-output/fault-table.txt``.

``ZIELFLOW_FAULT_RUNS`` (default 8) and ``ZIELFLOW_FAULT_SEED`` choose the runs. One run is
``tests.fault_scenario.run_scenario``; ``python -m bench.faults --runs N`` runs the same
scenario N times outside pytest and writes its table into bench/RESULTS.md.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from notifications.models import OutboxMessage
from notifications.sender import backoff, message_id, send_pending
from notifications.sink import start_sink
from tests.conftest import IN_CI, make_runtime
from tests.e2e import Processes, wait_for, worker_env
from tests.fault_report import record, table
from tests.fault_scenario import (
    HEADER,
    LEASE_SECONDS,
    assert_recovered,
    private_cluster,
    run_scenario,
)
from tests.fault_scenario import faulty_sink as scenario_sink
from tests.fault_servers import PrivateCluster
from tests.fault_sink import FaultySink
from tests.fault_world import Answer, answer_fields, give_answer, seed_world
from tests.live import RedisServer, free_port
from tests.test_sweep import seed
from workflow import runtime
from workflow.clock import FrozenClock

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

RUNS = int(os.environ.get("ZIELFLOW_FAULT_RUNS", "8"))
BASE_SEED = int(os.environ.get("ZIELFLOW_FAULT_SEED", "7000"))
RESULTS: list[list[str]] = []


@pytest.fixture(scope="module", autouse=True)
def fault_table(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if RESULTS:
        record(
            request.config,
            f"fault suite: {len(RESULTS)} runs",
            table(HEADER, RESULTS),
            file="fault-table.txt",
        )


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    """A PostgreSQL cluster of this module's own, with a migrated template database.

    Restarting the shared server would cut every other process's connections; this one
    belongs to the fault suite alone. Required in CI, skipped where the binaries are missing.
    """
    with private_cluster() as found:
        if found is None:
            if IN_CI:
                pytest.fail("the fault suite needs the PostgreSQL server binaries (initdb, pg_ctl)")
            pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed")
        yield found


@pytest.fixture
def faulty_sink() -> Iterator[tuple[int, FaultySink]]:
    with scenario_sink() as found:
        yield found


@pytest.mark.parametrize("index", range(RUNS))
def test_the_engine_recovers_from_faults_without_losing_or_doubling(
    index: int,
    redis_server: RedisServer,
    faulty_sink: tuple[int, FaultySink],
    cluster: PrivateCluster,
    tmp_path: Path,
) -> None:
    sink_port, sink = faulty_sink
    outcome = run_scenario(
        index, BASE_SEED + index, redis_server, sink_port, sink, cluster, tmp_path
    )
    RESULTS.append(outcome.row())
    assert_recovered(outcome)


# -- what the suite found (now fixed), pinned on its own --


def test_a_resent_copy_keeps_its_message_id_when_new_rows_join_its_group(
    postgres_url: str,
    redis_server: RedisServer,
    faulty_sink: tuple[int, FaultySink],
    tmp_path: Path,
) -> None:
    """A worker dies in the window (stored, not marked); meanwhile the same contact answers a
    second measure; the next worker must resend the first confirmation alone, under its old
    Message-ID, not merged with the new one (it once was: a copy nobody could recognise)."""
    sink_port, sink = faulty_sink
    rt, world = seed_world(
        postgres_url, tmp_path, fresh=0, stale=0, answering=2, tag="regroup", contacts=1
    )
    first, second = (
        Answer(item, answer_fields(item.mc_id, "regroup"), not_before=0.0)
        for item in world.answering
    )
    env = worker_env(
        postgres_url, redis_server.url, sink_port, tmp_path / "var",
        ZIELFLOW_SEND_LEASE_SECONDS=LEASE_SECONDS,
    )  # fmt: skip
    procs = Processes(env, tmp_path)
    try:
        worker = procs.start("worker", "--beat", "--concurrency=1")
        wait_for(lambda: len(sink.messages) == 1, 60, "the invitation", procs.logs)
        sink.arm_hold("stored")
        give_answer(postgres_url, first)
        wait_for(sink.held.is_set, 60, "the confirmation to be stored", procs.logs)
        procs.kill(worker)  # after the server stored it, before the row was marked sent
        give_answer(postgres_url, second)  # the same contact answers the next measure
        time.sleep(int(LEASE_SECONDS) + 1)  # the worker comes back after the lease
        procs.start("worker", "--beat", "--concurrency=1")
        wait_for(lambda: len(sink.messages) >= 3, 60, "the confirmations", procs.logs)
        time.sleep(3)
    finally:
        procs.stop_all()
    with rt.sessions() as s:
        row = s.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == "confirmation_agreement",
                OutboxMessage.measure_cycle_id == first.item.mc_id,
            )
        ).one()
    rt.dispose()
    assert (first.outcome, second.outcome) == ("moved", "moved")
    first_copy = message_id([row.id], env["ZIELFLOW_MAIL_FROM"])
    arrived = [str(m["Message-ID"]) for m in sink.messages]
    assert first_copy in arrived  # stored before the kill: the documented window
    assert row.status == "sent"
    # The copy sent after the lease must be recognisable as the same message.
    assert row.message_id == first_copy, (row.message_id, arrived)


def test_a_copy_after_a_late_250_keeps_its_message_id(
    sqlite_url: str, clock: FrozenClock, tmp_path: Path
) -> None:
    port = free_port()
    rt = make_runtime(
        sqlite_url, clock, tmp_path, smtp_port=port, smtp_timeout_seconds=1.0,
        send_lease_seconds=10, mail_from="zielflow@stadt.example.org",
    )  # fmt: skip
    seed(rt, clock, measures=2, contacts=1)  # two invitations to one contact
    # The second is due a little later, so that the first goes out alone (a claim takes all
    # of a recipient's due rows).
    with rt.sessions() as s:
        second = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert second is not None and second.kind == "invitation_agreement"
        second.not_before = clock.now() + timedelta(seconds=30)
        s.commit()
    controller, sink = start_sink("127.0.0.1", port)
    sink.after_store_delay_seconds = 2.0  # stored, but the "250" comes after our timeout
    try:
        assert send_pending(rt, limit=1).retried == 1  # the first row alone, "failed"
        sink.after_store_delay_seconds = 0
        clock.advance(backoff(1) + timedelta(seconds=1))
        assert send_pending(rt).emails_sent >= 1
    finally:
        controller.stop()
    with rt.sessions() as s:
        first = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
    rt.dispose()
    runtime.install(None)
    assert first is not None and first.status == "sent"
    stored_first = message_id([first.id], "zielflow@stadt.example.org")
    assert str(sink.messages[0]["Message-ID"]) == stored_first  # the server did take it
    assert first.message_id == stored_first, [str(m["Message-ID"]) for m in sink.messages]
