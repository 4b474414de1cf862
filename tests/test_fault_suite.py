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

``ZIELFLOW_FAULT_RUNS`` (default 8) and ``ZIELFLOW_FAULT_SEED`` choose the runs.
"""

from __future__ import annotations

import os
import threading
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
from tests.fault_check import judge, settled
from tests.fault_plan import make_plan
from tests.fault_report import record, table
from tests.fault_run import Runner
from tests.fault_servers import PrivateCluster, start_private_cluster
from tests.fault_sink import FaultySink, start_faulty_sink
from tests.fault_world import Answer, answer_fields, give_answer, seed_world, start_answers
from tests.live import RedisServer, free_port
from tests.test_sweep import seed
from workflow import runtime
from workflow.clock import FrozenClock
from workflow.migrate import upgrade

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

RUNS = int(os.environ.get("ZIELFLOW_FAULT_RUNS", "8"))
BASE_SEED = int(os.environ.get("ZIELFLOW_FAULT_SEED", "7000"))
LEASE_SECONDS = "10"
FRESH, STALE, ANSWERING = 12, 2, 3
SETTLE_TIMEOUT = 180.0
TEMPLATE = "zf_fault_template"
HEADER = [
    "run",
    "seed",
    "faults injected",
    "kill points",
    "rows due",
    "emails sent (DB)",
    "delivered",
    "duplicated (window)",
    "dead / notices",
    "answers kept",
    "seconds",
]
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
    found = start_private_cluster(free_port())
    if found is None:
        if IN_CI:
            pytest.fail("the fault suite needs the PostgreSQL server binaries (initdb, pg_ctl)")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed")
    try:
        upgrade(found.create_database(TEMPLATE))
        yield found
    finally:
        found.destroy()


@pytest.fixture
def faulty_sink() -> Iterator[tuple[int, FaultySink]]:
    port = free_port()
    controller, handler = start_faulty_sink(port)
    yield port, handler
    controller.stop()


@pytest.mark.parametrize("index", range(RUNS))
def test_the_engine_recovers_from_faults_without_losing_or_doubling(
    index: int,
    redis_server: RedisServer,
    faulty_sink: tuple[int, FaultySink],
    cluster: PrivateCluster,
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    cluster.ensure_up()  # whatever an earlier run did
    postgres_url = cluster.create_database(f"zf_run_{index}", template=TEMPLATE)
    sink_port, sink = faulty_sink
    rt, world = seed_world(
        postgres_url, tmp_path, fresh=FRESH, stale=STALE, answering=ANSWERING, tag=str(index)
    )
    plan = make_plan(index, BASE_SEED + index, world.contacts(), ANSWERING)
    if plan.refuse:
        sink.refuse_once.add(plan.refuse)
    if plan.hang:
        sink.hang_once.add(plan.hang)
    if plan.fail:
        sink.fail_always.add(plan.fail)
    env = worker_env(
        postgres_url,
        redis_server.url,
        sink_port,
        tmp_path / "var",
        ZIELFLOW_SEND_LEASE_SECONDS=LEASE_SECONDS,
        PYTHONUNBUFFERED="1",  # a killed process's last log lines are the interesting ones
    )
    procs = Processes(env, tmp_path)
    pg_down = threading.Event()
    answers = [
        Answer(item, answer_fields(item.mc_id, str(index)), not_before=0.0)
        for item in world.answering
    ]
    if plan.answer_in_outage:
        answers[0].gate = pg_down
    runner = Runner(plan, procs, sink, sink_port, redis_server, cluster, pg_down)
    try:
        runner.start()
        for answer, at in zip(answers, plan.answer_at, strict=True):
            answer.not_before = 0.0 if answer.gate else runner.t0 + at
        threads = start_answers(postgres_url, answers)
        runner.run_faults()
        for t in threads:
            t.join(timeout=150)

        def done() -> bool:
            return settled(rt, world, plan.fail, {c.message_id for c in sink.snapshot()})

        wait_for(done, SETTLE_TIMEOUT, "the engine to finish by itself", procs.logs)
        time.sleep(3)  # more sweeps and sends from every beat: nothing may change any more
    finally:
        runner.stop()
        procs.stop_all()
        cluster.ensure_up()
    verdict = judge(rt, world, plan.fail, sink.snapshot(), runner.log.windows, answers)
    injected = [f for f in plan.faults() if not f.startswith("smtp")]
    injected += [f"{k} x{n}" for k, n in sorted(sink.injected.items())]
    # A worker that exits by itself (kombu cannot always reconnect to a restarted Redis) is
    # started again, as docker-compose does: counted, shown, not a failure.
    injected += [f"restarted: {r}" for r in runner.log.restarts]
    RESULTS.append(
        [
            str(index),
            str(plan.seed),
            "; ".join(injected),
            "; ".join(runner.log.kill_points) or "-",
            str(verdict.rows_due),
            str(verdict.emails_sent),
            str(verdict.delivered),
            str(verdict.duplicated),
            f"{verdict.dead} / {verdict.dead_letters}",
            f"{verdict.answers_kept}/{verdict.answers}"
            + (" (1 across the outage)" if plan.answer_in_outage else ""),
            f"{time.monotonic() - began:.0f}",
        ]
    )
    rt.dispose()
    assert runner.log.errors == [], runner.log.errors
    assert verdict.violations == [], "\n".join(
        [*verdict.violations, f"plan: {injected}", *runner.log.notes, procs.logs()]
    )
    # The faults the plan promised did strike.
    kills_planned = len(plan.random_kills) + bool(plan.hold_kill) + bool(plan.kill_after_copy)
    struck = len(runner.log.kill_points)
    assert struck >= 1 if kills_planned else struck == 0, (runner.log, plan)
    assert struck + len(runner.log.preempted) == kills_planned, (runner.log, plan)
    for fault, recipient in (("smtp 4xx", plan.refuse), ("smtp hang", plan.hang)):
        assert sink.injected[fault] == (1 if recipient else 0), sink.injected
    assert (verdict.dead > 0) == bool(plan.fail), (verdict.dead, plan.fail)
    assert verdict.dead_letters == verdict.dead
    if plan.answer_in_outage:
        assert answers[0].database_errors > 0, "the answer did not meet the outage"


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
