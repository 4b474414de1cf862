"""Helpers for end-to-end tests: real Celery worker and beat processes against real servers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from tests import factories
from tests.conftest import make_runtime
from workflow.bodies.models import Body, BodyMember
from workflow.clock import FrozenClock
from workflow.cycles.models import MeasureCycle
from workflow.cycles.service import open_cycle, record_interview
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar, DeadlinePolicy
from workflow.runtime import Runtime


def seed_due_now(
    database_url: str, tmp_path: Path, *, fresh: int = 1, stale: int = 1, prefix: str = "M"
) -> Runtime:
    """Data that is due at the real "now": ``fresh`` measures owe their first reminder,
    ``stale`` ones are 30 days overdue (final reminder, head escalation, steering digest)."""
    now = datetime.now(UTC)
    cal = BusinessCalendar()
    # The digest of this week is due from midnight of today, whatever weekday today is.
    policy = DeadlinePolicy(
        agreement_days=30, send_hour=0, digest_weekday=cal.local_date(now).weekday()
    )
    clock = FrozenClock(now - timedelta(days=60))
    rt = make_runtime(database_url, clock, tmp_path)
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s, slug=f"e2e-{prefix.lower()}")
        factories.measures(s, org, fresh + stale, contacts=fresh + stale, prefix=prefix)
        group = Body(organisation_id=org.id, name="Steuerungsgruppe")
        s.add(group)
        s.flush()
        s.add(
            BodyMember(
                body_id=group.id,
                name="Dr. Sommer",
                email=f"sommer.{prefix.lower()}@stadt.example.org",
            )
        )
        open_cycle(
            session=s, clock=clock, organisation_id=org.id, year=clock.now().year, policy=policy
        )
        ids = list(
            s.scalars(
                select(MeasureCycle.id)
                .where(MeasureCycle.organisation_id == org.id)
                .order_by(MeasureCycle.id)
            )
        )
    for index, mc_id in enumerate(ids):
        # Stale items were interviewed 60 days ago (due 30 days ago); fresh ones 20 days ago
        # (due in 10 days: the 14-days-before reminder is 4 days old).
        clock.set(now - timedelta(days=60 if index >= fresh else 20))
        with unit_of_work(rt.sessions) as s:
            record_interview(
                session=s,
                clock=clock,
                measure_cycle_id=mc_id,
                expected_version=None,
                actor="user:1",
                decision="keep",
            )
    return rt


class Processes:
    """Starts ``zielflow`` worker / beat processes with one environment; stops them all."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        log = (self.cwd / f"{args[0]}-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "workflow.cli", *args],
            env={**self.env, **env},
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL to the whole process group: no warm shutdown, no ack, no cleanup."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.cwd.glob("*.log"))
        )


def worker_env(
    database_url: str, broker_url: str, smtp_port: int, var_dir: Path, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIELFLOW_")}
    env.update(
        {
            "ZIELFLOW_DATABASE_URL": database_url,
            "ZIELFLOW_BROKER_URL": broker_url,
            "ZIELFLOW_SMTP_HOST": "127.0.0.1",
            "ZIELFLOW_SMTP_PORT": str(smtp_port),
            "ZIELFLOW_VAR_DIR": str(var_dir),
            "ZIELFLOW_SWEEP_INTERVAL_SECONDS": "2",
            "ZIELFLOW_SEND_INTERVAL_SECONDS": "2",
            "ZIELFLOW_SMTP_TIMEOUT_SECONDS": "1",
            "ZIELFLOW_BASE_URL": "https://zielflow.stadt.example.org",
            "ZIELFLOW_MAIL_FROM": "zielflow@stadt.example.org",
            **extra,
        }
    )
    return env


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, logs: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{logs()}")
        time.sleep(0.2)
