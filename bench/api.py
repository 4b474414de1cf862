"""Benchmark of API latency and throughput: ``zielflow serve`` on PostgreSQL under a loopback load generator.

The server runs as a subprocess exactly as deployed (one uvicorn process); the load
generator is an async httpx loop with bounded concurrency, bounded in requests and time,
aimed only at 127.0.0.1. Only scratch databases are touched.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    REPO,
    Figure,
    Options,
    Recorder,
    median,
    postgres_database,
    run_benchmark,
)
from bench.data import Shape, Slot, populate
from workflow.accounts import Role, add_or_update_user, create_api_token
from workflow.db import make_engine, make_session_factory, unit_of_work
from workflow.deadlines import BusinessCalendar, DeadlinePolicy, StepKind, action_plan
from workflow.machine import STATES, State

CAL = BusinessCalendar("NW", "Europe/Berlin")
POLICY = DeadlinePolicy()
CONCURRENCY = 8
LIST_PAGES = 20  # pages of the filtered list a person clicks through
LIST_PATH = "/api/v1/measure-cycles?state=target_agreement&overdue=true"
STATE_MIX = (
    State.INITIAL_INTERVIEW,
    State.TARGET_AGREEMENT,
    State.TARGET_AGREEMENT,
    State.IMPLEMENTATION,
    State.IMPLEMENTATION,
    State.IMPLEMENTATION,
    State.REVIEW,
    State.REVIEW,
    State.ASSESSMENT,
    State.REPLANNING,
)


def api_slots(now: datetime) -> list[Slot]:
    """A pipeline in mid-year: every phase, due dates from 60 days ago to 60 days ahead."""
    today = CAL.local_date(now)
    slots = []
    for v in range(40):
        state = STATE_MIX[v % len(STATE_MIX)]
        entered = now - timedelta(days=30 + v)
        if STATES[state].due is None:
            slots.append(Slot(state.value, entered, None, None, interviewed_at=entered))
            continue
        due = CAL.roll_forward(today + timedelta(days=(v * 7) % 120 - 60))
        plan = action_plan(state, due, POLICY, CAL)
        upcoming = [i for i, step in enumerate(plan) if step.at > now]
        step = upcoming[0] if upcoming else len(plan)
        level = max((s.index for s in plan[:step] if s.kind is StepKind.ESCALATION), default=0)
        slots.append(
            Slot(
                state.value,
                entered,
                due,
                plan[step].at if upcoming else None,
                action_step=step,
                escalation_level=level,
                interviewed_at=None if state is State.INITIAL_INTERVIEW else entered,
            )
        )
    return slots


@dataclass(frozen=True)
class Dataset:
    name: str
    shape: Shape


def datasets(quick: bool) -> list[Dataset]:
    if quick:
        return [Dataset("500 rows, one organisation", Shape(1, 500))]
    return [
        Dataset("10k rows, one organisation", Shape(1, 10_000)),
        Dataset("1M rows, one organisation", Shape(1, 1_000_000)),
        Dataset(
            "1M rows, 10,000 organisations of 100 (hosted)",
            Shape(10_000, 100, departments_per_org=5, contacts_per_org=10),
        ),
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """``zielflow serve`` in a subprocess against ``url``, stopped on exit."""

    def __init__(self, url: str, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "ZIELFLOW_DATABASE_URL": url,
            "ZIELFLOW_VAR_DIR": str(log.parent / "var"),
            # Serve the same source tree the benchmark runs from.
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        }
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "workflow.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"zielflow serve exited with {self.process.returncode}; see {log}"
                )
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"zielflow serve did not answer within 60 s; see {log}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def make_token(url: str) -> str:
    engine = make_engine(url)
    try:
        now = datetime.now(UTC)
        with unit_of_work(make_session_factory(engine)) as session:
            user = add_or_update_user(
                session=session,
                organisation_id=1,
                email="bench@k1.example.org",
                role=Role.COORDINATOR,
                password="bench-password-" + os.urandom(8).hex(),
                now=now,
                name="Benchmark",
            )
            _token, raw = create_api_token(session, user, "bench", now)
        return raw
    finally:
        engine.dispose()


@dataclass
class LoadRun:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[index]


async def _load(
    base: str,
    token: str,
    paths: list[str],
    *,
    max_requests: int,
    max_seconds: float,
    concurrency: int,
) -> LoadRun:
    latencies: list[float] = []
    errors = 0
    issued = 0
    stop_at = time.perf_counter() + max_seconds
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=120
    ) as client:

        async def worker() -> None:
            nonlocal issued, errors
            while issued < max_requests and time.perf_counter() < stop_at:
                path = paths[issued % len(paths)]
                issued += 1
                start = time.perf_counter()
                response = await client.get(path)
                elapsed = (time.perf_counter() - start) * 1000
                if response.status_code != 200:
                    errors += 1
                latencies.append(elapsed)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - began
    return LoadRun(len(latencies), errors, seconds, latencies)


def load(base: str, token: str, paths: list[str], **bounds: Any) -> LoadRun:
    return asyncio.run(_load(base, token, paths, **bounds))


def endpoints(server: Server, token: str, seed: int) -> dict[str, list[str]]:
    """The request paths per endpoint; list pages drawn from the first pages that exist."""
    probe = httpx.get(
        f"{server.base}/api/v1/measure-cycles?state=target_agreement&overdue=true&page_size=50",
        headers={"Authorization": f"Bearer {token}"},
        timeout=300,
    )
    probe.raise_for_status()
    total = int(probe.json()["total"])
    pages = max(1, min(LIST_PAGES, -(-total // 50)))
    rng = random.Random(seed)
    return {
        "healthz": ["/healthz"],
        "pipeline": ["/api/v1/pipeline"],
        "list": [f"{LIST_PATH}&page={rng.randint(1, pages)}&page_size=50" for _ in range(200)],
        "_matching_rows": [str(total)],
    }


def run(opts: Options, rec: Recorder) -> None:
    runs = 3
    max_requests = 20 if opts.quick else 400
    max_seconds = 2.0 if opts.quick else 40.0
    warmup = 3 if opts.quick else 20
    rec.sizes = {
        "datasets": [d.name for d in datasets(opts.quick)],
        "concurrency": CONCURRENCY,
        "requests_per_run_at_most": max_requests,
        "seconds_per_run_at_most": max_seconds,
        "runs": runs,
        "list_query": f"{LIST_PATH}, page drawn from the first {LIST_PAGES}, page_size=50",
    }
    rec.note(
        "Load generator and server share the 2 cores: one uvicorn process (`zielflow serve`, "
        "access log on as deployed), PostgreSQL and the httpx client all on this machine."
    )
    details: dict[str, Any] = {}
    for dataset in datasets(opts.quick):
        with postgres_database(opts) as url:
            started = time.perf_counter()
            populate(
                make_engine(url),
                dataset.shape,
                api_slots(datetime.now(UTC)),
                opened_at=datetime.now(UTC),
            )
            print(
                f"[api] loaded {dataset.name} in {time.perf_counter() - started:.1f} s", flush=True
            )
            token = make_token(url)
            server = Server(url, opts.scratch_dir / "serve.log")
            try:
                paths = endpoints(server, token, seed=len(details))
                matching = int(paths.pop("_matching_rows")[0])
                results: dict[str, list[LoadRun]] = {name: [] for name in paths}
                for todo in paths.values():  # warm-up, untimed
                    load(
                        server.base,
                        token,
                        todo,
                        max_requests=warmup,
                        max_seconds=max_seconds / 4,
                        concurrency=CONCURRENCY,
                    )
                for i in range(runs):
                    names = list(paths)
                    for name in names[i % len(names) :] + names[: i % len(names)]:
                        outcome = load(
                            server.base,
                            token,
                            paths[name],
                            max_requests=max_requests,
                            max_seconds=max_seconds,
                            concurrency=CONCURRENCY,
                        )
                        if outcome.errors:
                            raise AssertionError(f"{outcome.errors} failed requests on {name}")
                        results[name].append(outcome)
            finally:
                server.stop()
        details[dataset.name] = {
            name: [
                {
                    "requests": r.requests,
                    "seconds": round(r.seconds, 2),
                    "p50_ms": r.percentile(50),
                    "p99_ms": r.percentile(99),
                    "rps": r.rps,
                }
                for r in runs_
            ]
            for name, runs_ in results.items()
        }
        details[dataset.name]["list_matching_rows"] = matching
        _figures(rec, dataset.name, results)
    rec.extra["runs_detail"] = details


def _figures(rec: Recorder, dataset: str, results: dict[str, list[LoadRun]]) -> None:
    floor = results["healthz"]
    for name, label in (
        ("pipeline", "GET /api/v1/pipeline"),
        ("list", "GET /api/v1/measure-cycles (filtered, paged)"),
    ):
        outcome = results[name]
        rec.add(
            Figure(
                name=f"{label} p99, {dataset}",
                unit="ms",
                runs=[r.percentile(99) for r in outcome],
                reference_name="GET /healthz p99 (HTTP stack and one SELECT 1)",
                reference_runs=[r.percentile(99) for r in floor],
                notes=f"{median([float(r.requests) for r in outcome]):.0f} requests per run",
                # Issue 14: absolute times do not hold on a shared machine; the ratio does.
                target="p99 at most 2× that of /healthz",
                target_ratio_max=2.0,
            )
        )
        rec.add(
            Figure(
                name=f"{label} p50, {dataset}",
                unit="ms",
                runs=[r.percentile(50) for r in outcome],
                reference_name="GET /healthz p50",
                reference_runs=[r.percentile(50) for r in floor],
            )
        )
        rec.add(
            Figure(
                name=f"{label} requests/s, {dataset}",
                unit="1/s",
                better="higher",
                runs=[r.rps for r in outcome],
                reference_name="GET /healthz requests/s",
                reference_runs=[r.rps for r in floor],
            )
        )


def main(argv: list[str] | None = None) -> int:
    return run_benchmark("api", __doc__ or "", run, argv)


if __name__ == "__main__":
    sys.exit(main())
