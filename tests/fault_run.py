"""Carries out one fault plan against real worker, beat, Redis, PostgreSQL and SMTP processes.

The runner only injects faults and records when and where each one struck (the "windows" in
which a duplicate email is legitimate); ``tests.fault_check`` judges the outcome from the
database and the sink. Every stopped server is started again in a ``finally``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.e2e import Processes
from tests.fault_plan import Plan
from tests.fault_servers import PrivateCluster, client_ports
from tests.fault_sink import FaultySink
from tests.live import RedisServer

HOLD_TIMEOUT = 45.0


@dataclass
class Window:
    """A moment a sender may have died between the server's "250" and marking its rows sent."""

    what: str
    start: float  # time.monotonic()
    end: float
    ports: set[int] | None  # SMTP client ports of the victim at that moment; None: any sender
    quota: int  # how many duplicates it can explain at most


@dataclass
class RunLog:
    windows: list[Window] = field(default_factory=list)
    kill_points: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    preempted: list[str] = field(default_factory=list)  # planned kills whose victim was dead
    restarts: list[str] = field(default_factory=list)  # processes that exited by themselves


class Runner:
    def __init__(
        self,
        plan: Plan,
        procs: Processes,
        sink: FaultySink,
        sink_port: int,
        redis: RedisServer,
        cluster: PrivateCluster | None,
        pg_down: threading.Event,  # set while PostgreSQL is down (an answer waits for it)
    ) -> None:
        self.plan = plan
        self.procs = procs
        self.sink = sink
        self.sink_port = sink_port
        self.redis = redis
        self.cluster = cluster
        self.pg_down = pg_down
        self.rng = random.Random(plan.seed * 7919)
        self.workers: list[subprocess.Popen[bytes]] = []
        self.beat_workers: list[subprocess.Popen[bytes]] = []
        self.second_beat: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self.log = RunLog()
        self.t0 = 0.0

    # -- processes ----------------------------------------------------------------------------

    def _start_worker(self, beat: bool) -> None:
        args = ["worker", "--concurrency=1", *(["--beat"] if beat else [])]
        proc = self.procs.start(*args)
        self.workers.append(proc)
        if beat:
            self.beat_workers.append(proc)

    def start(self) -> None:
        if self.plan.hold_kill:
            self.sink.arm_hold(self.plan.hold_kill)
        if self.plan.kill_after_copy:
            self.sink.signal_copy = self.plan.kill_after_copy[0]
        self.t0 = time.monotonic()
        self._start_worker(beat=True)
        for _ in range(self.plan.workers - 1):
            self._start_worker(beat=False)
        if self.plan.second_beat:
            self._start_second_beat()
        self._supervisor.start()

    def _start_second_beat(self) -> None:
        # A second scheduler by mistake, on another machine: must change nothing.
        self.second_beat = self.procs.start(
            "beat", ZIELFLOW_VAR_DIR=str(self.procs.cwd / "var-second-beat")
        )

    def _supervise(self) -> None:
        """What docker-compose's ``restart: unless-stopped`` does: a process that exits by
        itself (not one this runner killed) is started again."""
        while not self._stopping.wait(0.2):
            with self._lock:
                for proc in [w for w in self.workers if w.poll() is not None]:
                    self.workers.remove(proc)
                    self._restarted(proc, "worker")
                    self._start_worker(beat=proc in self.beat_workers)
                if self.second_beat is not None and self.second_beat.poll() is not None:
                    self._restarted(self.second_beat, "beat")
                    self._start_second_beat()

    def _restarted(self, proc: subprocess.Popen[bytes], what: str) -> None:
        at = time.monotonic()
        self.log.restarts.append(f"{what} exited ({proc.returncode}) at {at - self.t0:.1f}s")
        # It may have died between a "250" and its commit like a killed one (when exactly is
        # unknown to within the polling interval and its shutdown).
        self.log.windows.append(Window(f"{what} exited", at - 3.0, at, None, quota=1))

    def stop(self) -> None:
        """Stop supervising, so that stopping the processes does not restart them."""
        self._stopping.set()
        if self._supervisor.is_alive():
            self._supervisor.join(timeout=10)

    def _live(self) -> list[subprocess.Popen[bytes]]:
        return [w for w in self.workers if w.poll() is None]

    def _kill(
        self, victim: subprocess.Popen[bytes], how: str, known_ports: set[int] | None = None
    ) -> None:
        """SIGKILL the worker's process group, note what it held, start its replacement."""
        with self._lock:
            if victim.poll() is not None or victim not in self.workers:
                # Another kill got there first (e.g. a random one): this one struck nothing new.
                self.log.preempted.append(how)
                return
            # Freeze it first, so no connection opens between looking and killing.
            os.killpg(victim.pid, signal.SIGSTOP)
            ports = client_ports(victim.pid, self.sink_port) | (known_ports or set())
            self.procs.kill(victim)
            at = time.monotonic()
            self.workers.remove(victim)
        stage = "while sending" if ports else "no SMTP connection open"
        self.log.kill_points.append(f"{how} at {at - self.t0:.1f}s ({stage})")
        self.log.windows.append(Window(f"kill {how}", at, at, ports, quota=1))
        with self._lock:
            pause = self.rng.uniform(0.2, 2.0)
        time.sleep(pause)
        with self._lock:
            self._start_worker(beat=victim in self.beat_workers)

    def _kill_client(self, port: int | None, how: str, pause: float = 0.0) -> None:
        """Kill, ``pause`` seconds from now, the worker holding the sink connection ``port``."""
        victim = next(
            (w for w in self._live() if port in client_ports(w.pid, self.sink_port)), None
        )
        if victim is None or port is None:
            # Its worker died meanwhile (an earlier kill) or closed the connection: this kill
            # struck nothing new, like one whose victim another kill took first.
            self.log.notes.append(f"{how}: connection {port} had no live worker; nothing killed")
            self.log.preempted.append(how)
            return
        time.sleep(pause)
        self._kill(victim, how, {port})

    def _watch_copy(self) -> None:
        assert self.plan.kill_after_copy is not None
        n, pause = self.plan.kill_after_copy
        if not self.sink.copy_stored.wait(timeout=HOLD_TIMEOUT):
            self.log.notes.append(f"copy #{n} never arrived: no kill after it")
            return
        self._kill_client(self.sink.copy_port, f"{pause * 1000:.0f}ms after copy #{n}", pause)

    # -- servers ------------------------------------------------------------------------------

    def _restart_redis(self, down: float, crash: bool) -> None:
        if crash and self.redis.proc is not None:
            os.kill(self.redis.proc.pid, signal.SIGKILL)
            self.redis.proc.wait(timeout=10)
            self.redis.proc = None
        else:
            self.redis.stop()
        time.sleep(down)
        self.redis.start()

    def _restart_postgres(self, down: float, mode: str) -> None:
        assert self.cluster is not None
        start = time.monotonic()
        try:
            self.cluster.stop(mode)
            self.pg_down.set()
            time.sleep(down)
        finally:
            self.pg_down.set()  # never leave a gated answer waiting for an outage that failed
            self.cluster.ensure_up()
        # Any worker may have been between "250" and its commit while the server was away.
        self.log.windows.append(
            Window("postgres restart", start - 1.0, time.monotonic() + 1.0, None, quota=2)
        )

    # -- the timeline -------------------------------------------------------------------------

    def run_faults(self) -> None:
        """Inject every planned fault at its time; returns once the last one is done."""
        events: list[tuple[float, str, Callable[[], None]]] = []
        for at in self.plan.random_kills:
            events.append((at, "kill", self._random_kill))
        if self.plan.redis_restart:
            r_at, r_down, crash = self.plan.redis_restart
            events.append((r_at, "redis", lambda: self._restart_redis(r_down, crash)))
        if self.plan.pg_restart and self.cluster is not None:
            p_at, p_down, mode = self.plan.pg_restart
            events.append((p_at, "postgres", lambda: self._restart_postgres(p_down, mode)))
        elif self.plan.pg_restart:
            self.log.notes.append("postgres restart skipped: cluster not controllable here")
            self.pg_down.set()
        threads = [
            threading.Thread(target=self._at, args=(at, action), name=name, daemon=True)
            for at, name, action in events
        ]
        if self.plan.kill_after_copy:
            threads.append(threading.Thread(target=self._guard, args=(self._watch_copy,)))
        for t in threads:
            t.start()
        # The hold is watched here, never behind a slow fault: the worker waits only
        # ZIELFLOW_SMTP_TIMEOUT_SECONDS for the "250" before it gives up by itself.
        if self.plan.hold_kill is not None:
            if self.sink.held.wait(timeout=HOLD_TIMEOUT):
                how = "after store" if self.plan.hold_kill == "stored" else "before store"
                self._kill_client(self.sink.held_port, f"held {how}")
            else:
                self.sink.disarm_hold()
                self.log.notes.append("hold never reached: no kill on a sink event")
        for t in threads:
            t.join(timeout=120)
            assert not t.is_alive(), f"fault {t.name} did not finish"

    def _at(self, at: float, action: Callable[[], None]) -> None:
        delay = self.t0 + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._guard(action)

    def _guard(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as exc:  # reported by the test, not lost in a thread
            self.log.errors.append(f"{type(exc).__name__}: {exc}")

    def _random_kill(self) -> None:
        deadline = time.monotonic() + 10
        victim = None
        while victim is None and time.monotonic() < deadline:
            with self._lock:
                live = self._live()
                victim = self.rng.choice(live) if live else None
            if victim is None:
                time.sleep(0.05)  # the previous victim's replacement is on its way
        if victim is None:
            self.log.notes.append("random kill: no live worker")
            self.log.preempted.append("at random")
            return
        self._kill(victim, "at random")
