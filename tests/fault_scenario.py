"""One seeded fault run from seeding to verdict, shared by the pytest suite and ``python -m bench.faults``.

``run_scenario`` seeds a fresh database on the private cluster, lets workers work it off while
the plan's faults strike, waits until the engine settles by itself and judges the outcome
(``tests.fault_check``); ``assert_recovered`` holds the suite's assertions, so the test and the
command fail a run for exactly the same reasons. Servers come from ``private_cluster``,
``redis`` and ``faulty_sink``: the pytest fixtures and the command start them the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.e2e import Processes, wait_for, worker_env
from tests.fault_check import Verdict, judge, settled
from tests.fault_plan import Plan, make_plan
from tests.fault_run import RunLog, Runner
from tests.fault_servers import PrivateCluster, start_private_cluster
from tests.fault_sink import FaultySink, start_faulty_sink
from tests.fault_world import Answer, answer_fields, seed_world, start_answers
from tests.live import RedisServer, free_port
from workflow.migrate import upgrade

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


@dataclass
class Outcome:
    """What one run did and found; ``verdict.violations`` empty means nothing lost or doubled."""

    index: int
    plan: Plan
    verdict: Verdict
    log: RunLog
    sink: FaultySink
    answers: list[Answer]
    injected: list[str]
    seconds: float
    logs: str  # the workers' last log lines, for a failure message

    def row(self) -> list[str]:
        v = self.verdict
        return [
            str(self.index),
            str(self.plan.seed),
            "; ".join(self.injected),
            "; ".join(self.log.kill_points) or "-",
            str(v.rows_due),
            str(v.emails_sent),
            str(v.delivered),
            str(v.duplicated),
            f"{v.dead} / {v.dead_letters}",
            f"{v.answers_kept}/{v.answers}"
            + (" (1 across the outage)" if self.plan.answer_in_outage else ""),
            f"{self.seconds:.0f}",
        ]

    def lost(self) -> int:
        """Rows never queued, rows left unfinished and emails marked sent that never arrived."""
        return self.verdict.lost

    def duplicates_outside(self) -> int:
        """Extra copies no fault window explains (again under the same or another Message-ID)."""
        return self.verdict.duplicated_outside


@contextmanager
def private_cluster() -> Iterator[PrivateCluster | None]:
    """A cluster of the suite's own with a migrated template; None without the server binaries."""
    found = start_private_cluster(free_port())
    if found is None:
        yield None
        return
    try:
        upgrade(found.create_database(TEMPLATE))
        yield found
    finally:
        found.destroy()


@contextmanager
def redis(workdir: Path) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def faulty_sink() -> Iterator[tuple[int, FaultySink]]:
    port = free_port()
    controller, handler = start_faulty_sink(port)
    try:
        yield port, handler
    finally:
        controller.stop()


def _script_sink(sink: FaultySink, plan: Plan) -> None:
    if plan.refuse:
        sink.refuse_once.add(plan.refuse)
    if plan.hang:
        sink.hang_once.add(plan.hang)
    if plan.fail:
        sink.fail_always.add(plan.fail)


def run_scenario(
    index: int,
    seed: int,
    redis_server: RedisServer,
    sink_port: int,
    sink: FaultySink,
    cluster: PrivateCluster,
    workdir: Path,
) -> Outcome:
    """Seed, inject the plan of run ``index`` (drawn from ``seed``), settle and judge.

    Raises (e.g. AssertionError from ``wait_for``) when the engine does not settle in time.
    """
    began = time.monotonic()
    cluster.ensure_up()  # whatever an earlier run did
    postgres_url = cluster.create_database(f"zf_run_{index}", template=TEMPLATE)
    rt, world = seed_world(
        postgres_url, workdir, fresh=FRESH, stale=STALE, answering=ANSWERING, tag=str(index)
    )
    plan = make_plan(index, seed, world.contacts(), ANSWERING)
    _script_sink(sink, plan)
    env = worker_env(
        postgres_url,
        redis_server.url,
        sink_port,
        workdir / "var",
        ZIELFLOW_SEND_LEASE_SECONDS=LEASE_SECONDS,
        PYTHONUNBUFFERED="1",  # a killed process's last log lines are the interesting ones
    )
    procs = Processes(env, workdir)
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
    rt.dispose()
    injected = [f for f in plan.faults() if not f.startswith("smtp")]
    injected += [f"{k} x{n}" for k, n in sorted(sink.injected.items())]
    # A worker that exits by itself (kombu cannot always reconnect to a restarted Redis) is
    # started again, as docker-compose does: counted, shown, not a failure.
    injected += [f"restarted: {r}" for r in runner.log.restarts]
    seconds = time.monotonic() - began
    return Outcome(index, plan, verdict, runner.log, sink, answers, injected, seconds, procs.logs())


def assert_recovered(outcome: Outcome) -> None:
    """The suite's verdict on one run: raises AssertionError naming what went wrong."""
    plan, log, sink, verdict = outcome.plan, outcome.log, outcome.sink, outcome.verdict
    assert log.errors == [], log.errors
    assert verdict.violations == [], "\n".join(
        [*verdict.violations, f"plan: {outcome.injected}", *log.notes, outcome.logs]
    )
    # The faults the plan promised did strike.
    kills_planned = len(plan.random_kills) + bool(plan.hold_kill) + bool(plan.kill_after_copy)
    struck = len(log.kill_points)
    # A planned kill that found no worker alive (all work done) is preempted, not missed.
    assert struck + len(log.preempted) == kills_planned, (log, plan)
    for fault, recipient in (("smtp 4xx", plan.refuse), ("smtp hang", plan.hang)):
        assert sink.injected[fault] == (1 if recipient else 0), sink.injected
    assert (verdict.dead > 0) == bool(plan.fail), (verdict.dead, plan.fail)
    assert verdict.dead_letters == verdict.dead, (verdict.dead_letters, verdict.dead)
    if plan.answer_in_outage:
        assert outcome.answers[0].database_errors > 0, "the answer did not meet the outage"
