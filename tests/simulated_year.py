"""Simulated years of the example catalogue for tests: the session's cached one, and runs in
a child process.

Owns the SQLite simulation that the report tests copy (500 days, seed 7, bodies without
meetings; simulated once per session) and ``Background``: the same ``run_simulation`` with the
same arguments in a child process, so that a test needing a second simulated year (another
seed, the same year on PostgreSQL) gets it from the CI machine's second core while this
process works on the first. It never changes what a simulation does or what a test asserts.

A test module may also define ``prefetch_simulation(folder, tests) -> Background | None``
(``tests``: the names of its selected tests; None: nothing to do). This plugin (registered in
tests/conftest.py) starts these one at a time from the moment the tests are collected, so each
simulated year is computed beside the tests that run before its module; the ``prefetched``
fixture hands it over. ``python -m tests.simulated_year SPEC_JSON OUT`` is the child's side.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
# The year the report tests were written for: bodies without meetings of their own.
REPORTS_YEAR: dict[str, Any] = {"start": "2026-01-05", "days": 500, "seed": 7, "bodies": False}


def simulate(
    *,
    database_url: str,
    var_dir: Path,
    start: str,
    days: int,
    seed: int,
    bodies: bool = True,
    indicators: bool = False,
) -> dict[str, Any]:
    """``run_simulation`` of the example catalogue (and, if asked, its indicators)."""
    from workflow.simulate import run_simulation

    return run_simulation(
        database_url=database_url,
        start=date.fromisoformat(start),
        days=days,
        seed=seed,
        catalogue=EXAMPLES / "catalogue.csv",
        var_dir=var_dir,
        indicators=EXAMPLES / "indicators.csv" if indicators else None,
        bodies=bodies,
    )


def simulated_database(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A copy of the report tests' simulated year; the simulation runs once per session."""
    cache = tmp_path_factory.getbasetemp() / "simulated-year" / "simulation.sqlite3"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        simulate(database_url=f"sqlite:///{cache}", var_dir=cache.parent / "var", **REPORTS_YEAR)
        with sqlite3.connect(cache) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    target = tmp_path_factory.mktemp(name) / "reports.sqlite3"
    shutil.copy(cache, target)
    return target


class Background:
    """One simulation in a child process, started at once; ``summary()`` waits for it.

    The child gets this process's environment unchanged, so it runs exactly what an
    in-process ``simulate(**spec)`` would run.
    """

    def __init__(self, folder: Path, *, database_url: str, **spec: Any) -> None:
        """``spec``: the arguments of ``simulate``, and ``prepare``, a ``"module:function"``
        called with the database URL before the simulation (to seed what it should find)."""
        folder.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url
        self.cleanups: list[Callable[[], None]] = []  # run by stop(), e.g. drop the database
        self._out = folder / "summary.json"
        self._log = folder / "simulation.log"
        spec = {**spec, "database_url": database_url, "var_dir": str(folder / "var")}
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tests.simulated_year", json.dumps(spec), str(self._out)],
                cwd=REPO,
                env=dict(os.environ),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def summary(self, timeout: float = 1200.0) -> dict[str, Any]:
        code = self._proc.wait(timeout=timeout)
        assert code == 0, self._log.read_text(errors="replace")[-4000:]
        data: dict[str, Any] = json.loads(self._out.read_text())
        return data

    def running(self) -> bool:
        return self._proc.poll() is None

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=30)
        for cleanup in self.cleanups:
            cleanup()
        self.cleanups.clear()


def as_json(summary: dict[str, Any]) -> Any:
    """A summary as it comes back from a child process or the CLI: through JSON."""
    return json.loads(json.dumps(summary))


Prefetch = Callable[[Path, set[str]], "Background | None"]
_QUEUE: list[tuple[str, Prefetch, set[str]]] = []  # prefetches not started yet
_PREFETCHED: dict[str, Background | None] = {}
_FOLDERS: list[Path] = []
_ERRORS: dict[str, str] = {}  # a prefetch that raised: its test fails with this


def _start(name: str, prefetch: Prefetch, tests: set[str]) -> Background | None:
    folder = Path(tempfile.mkdtemp(prefix="zf-prefetch-"))
    _FOLDERS.append(folder)
    try:
        _PREFETCHED[name] = prefetch(folder, tests)
    except Exception as exc:  # a hook must not break the session: the module's test reports it
        _PREFETCHED[name] = None
        _ERRORS[name] = f"prefetch_simulation of {name} failed: {exc!r}"
    return _PREFETCHED[name]


def _start_next_when_idle() -> None:
    """One prefetch at a time: the CI machine has one core to spare, not more."""
    if any(b is not None and b.running() for b in _PREFETCHED.values()):
        return
    while _QUEUE:
        if _start(*_QUEUE.pop(0)) is not None:
            return


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    tests: dict[str, tuple[Any, set[str]]] = {}
    for item in session.items:
        module = getattr(item, "module", None)
        if module is not None:
            tests.setdefault(module.__name__, (module, set()))[1].add(item.name)
    for name, (module, selected) in tests.items():
        prefetch: Prefetch | None = getattr(module, "prefetch_simulation", None)
        if prefetch is not None:
            _QUEUE.append((name, prefetch, selected))
    _start_next_when_idle()


def pytest_runtest_logfinish() -> None:
    _start_next_when_idle()


def pytest_sessionfinish() -> None:
    _QUEUE.clear()
    for background in _PREFETCHED.values():
        if background is not None:
            background.stop()
    _PREFETCHED.clear()
    _ERRORS.clear()
    for folder in _FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)
    _FOLDERS.clear()


@pytest.fixture
def prefetched(request: pytest.FixtureRequest) -> Background | None:
    """The simulation this module's ``prefetch_simulation`` started, started now if it still
    waits in the queue; None where the prefetch could not start (it says why in its test)."""
    name: str = request.module.__name__
    if name not in _PREFETCHED:
        tests = {request.node.name}
        for entry in [entry for entry in _QUEUE if entry[0] == name]:
            _QUEUE.remove(entry)
            tests |= entry[2]
        _start(name, request.module.prefetch_simulation, tests)
    if name in _ERRORS:
        pytest.fail(_ERRORS[name])
    return _PREFETCHED[name]


def _child(spec_json: str, out: str) -> None:
    spec = json.loads(spec_json)
    if prepare := spec.pop("prepare", None):
        module, function = prepare.split(":")
        getattr(importlib.import_module(module), function)(spec["database_url"])
    summary = simulate(**{**spec, "var_dir": Path(spec["var_dir"])})
    Path(out).write_text(json.dumps(summary))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
