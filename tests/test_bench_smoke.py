"""The benchmarks still run: ``python -m bench --quick`` on tiny sizes writes complete JSON and a report.

No timing assertions: speed is measured by ``python -m bench`` and written to
bench/RESULTS.md, never judged by a test.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import IN_CI, PG_URL

REPO = Path(__file__).resolve().parents[1]
# Each benchmark and a figure name (start) that its JSON must contain.
EXPECTED: dict[str, tuple[str, ...]] = {
    "sweep": ("sweep postgresql", "sweep sqlite", "flatness postgresql", "flatness sqlite"),
    "transitions": ("transitions/s postgresql", "transitions/s sqlite"),
    "email": ("emails/s postgresql", "emails/s sqlite"),
    "api": ("GET /api/v1/pipeline p99", "GET /api/v1/measure-cycles (filtered, paged) p99"),
    "simulation": ("zielflow simulate", "simulated measure-days per second"),
}
MACHINE_KEYS = {"cores", "memory_gib", "cpu_model", "os", "python", "postgresql", "sqlite"}
FIGURE_KEYS = {"name", "unit", "runs", "median", "reference_name", "reference_median", "ratio"}


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def _pg_databases() -> set[str]:
    engine = create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT datname FROM pg_database")).scalars())
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One ``python -m bench --quick`` into a temporary directory, with its own database name."""
    try:
        _pg_databases()
        reachable = True
    except Exception:
        reachable = False
    _require(reachable, f"PostgreSQL not reachable at {PG_URL}")
    _require(
        importlib.util.find_spec("SpiffWorkflow") is not None,
        'SpiffWorkflow missing: pip install -e ".[bench]"',
    )
    out = tmp_path_factory.mktemp("bench")
    database = f"zf_bench_smoke_{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--results-dir",
            str(out),
            "--pg-database",
            database,
        ],
        cwd=REPO,
        env={**os.environ, "ZIELFLOW_BENCH_POSTGRES_URL": PG_URL},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, database


def _result(out: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / f"{name}.json").read_text())
    return data


@pytest.mark.postgres
@pytest.mark.parametrize("name", list(EXPECTED))
def test_quick_mode_writes_every_expected_figure(quick_run: tuple[Path, str], name: str) -> None:
    out, _ = quick_run
    data = _result(out, name)
    assert data["benchmark"] == name and data["quick"] is True
    assert data["command"].startswith(f"python -m bench.{name}")
    assert set(data["machine"]) >= MACHINE_KEYS and data["machine"]["cores"] >= 1
    assert len(data["load"]["before"]) == 3 and len(data["load"]["after"]) == 3
    assert data["sizes"], "the data sizes are part of every result"
    names = [f["name"] for f in data["figures"]]
    for expected in EXPECTED[name]:
        assert any(n.startswith(expected) for n in names), (expected, names)
    for figure in data["figures"]:
        assert set(figure) >= FIGURE_KEYS, figure
        assert figure["runs"] and all(v > 0 for v in figure["runs"]), figure
        if figure["reference_runs"]:
            assert figure["ratio"] is not None and figure["ratio"] > 0


@pytest.mark.postgres
def test_the_run_writes_a_report_and_drops_its_database(quick_run: tuple[Path, str]) -> None:
    out, database = quick_run
    run = json.loads((out / "run.json").read_text())
    assert run["failed"] == []
    report = (out / "RESULTS-quick.md").read_text()
    assert "| benchmark | figure | median |" in report
    for name in EXPECTED:
        assert f"| {name} |" in report
    assert "Python" in report and "PostgreSQL" in report and "SQLite" in report
    assert database not in _pg_databases()
    assert not list(out.glob(".scratch-*")), "scratch files are removed after each benchmark"


def test_the_catch_up_command_counts_what_its_first_pass_did(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench.catch_up import main

    assert main(["--db", "sqlite", "--stays", "50", "--undated-every", "10"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # Five agreements without a readable date are marked once; then nothing is left to do.
    assert (result["first_pass_synced"], result["later_pass_synced"]) == (5, 0)
    assert result["agreement_marked"] is True and result["median_ms"] > 0
