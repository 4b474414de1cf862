"""Benchmark of the wall time of ``zielflow simulate``: a year of a large catalogue, PostgreSQL and SQLite.

Runs the real command in a subprocess with a generated catalogue (fictional data) in a
scratch directory; the PostgreSQL run fills a scratch database, the SQLite run the default
file under the scratch ``ZIELFLOW_VAR_DIR``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import (
    REPO,
    Figure,
    Options,
    Recorder,
    postgres_database,
    run_benchmark,
)
from bench.data import write_catalogue

START = "2026-01-05"
SQLITE_LIMIT_SECONDS = 20 * 60
FALLBACK_MEASURES = 2_000
FULL_MEASURES = 10_000
FULL_DAYS = 365
TARGET_SECONDS = 60.0


class TooSlow(Exception):
    pass


def simulate(
    *, catalogue: Path, days: int, var_dir: Path, database_url: str | None, limit: float
) -> tuple[float, dict[str, Any]]:
    command = [
        sys.executable,
        "-m",
        "workflow.cli",
        "simulate",
        "--start",
        START,
        "--days",
        str(days),
        "--seed",
        "1",
        "--catalogue",
        str(catalogue),
        "--json",
    ]
    if database_url:
        command += ["--database-url", database_url]
    env = {
        **os.environ,
        "ZIELFLOW_VAR_DIR": str(var_dir),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=limit, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise TooSlow(f"stopped after {limit:.0f} s") from exc
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"zielflow simulate failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout)


def run(opts: Options, rec: Recorder) -> None:
    measures = 20 if opts.quick else FULL_MEASURES
    days = 10 if opts.quick else FULL_DAYS
    fallback = 20 if opts.quick else FALLBACK_MEASURES
    limit = 120.0 if opts.quick else float(SQLITE_LIMIT_SECONDS)
    rec.sizes = {
        "measures": measures,
        "days": days,
        "departments": 30,
        "contacts": 300,
        "start": START,
        "runs": 1,
        "ticks_per_day": 2,
    }
    rec.note(
        "One run per database: a year of 10,000 measures is too heavy to repeat within the "
        "time budget of the full run."
    )
    summaries: dict[str, Any] = {}
    for kind in ("postgresql", "sqlite"):
        var_dir = opts.scratch_dir / f"var-{kind}"
        size = measures
        while True:
            catalogue = opts.scratch_dir / f"catalogue-{size}.csv"
            if not catalogue.exists():
                write_catalogue(catalogue, measures=size)
            try:
                if kind == "postgresql":
                    with postgres_database(opts) as url:
                        seconds, summary = simulate(
                            catalogue=catalogue,
                            days=days,
                            var_dir=var_dir,
                            database_url=url,
                            limit=limit,
                        )
                else:
                    seconds, summary = simulate(
                        catalogue=catalogue,
                        days=days,
                        var_dir=var_dir,
                        database_url=None,
                        limit=limit,
                    )
                break
            except TooSlow as exc:
                if size == fallback:
                    raise
                rec.note(
                    f"{kind}: {size} measures over {days} days {exc} (limit {limit / 60:.0f} min); "
                    f"measured {fallback} measures instead and report that rate."
                )
                size = fallback
        if summary.get("measures") != size:
            raise AssertionError(f"simulated {summary.get('measures')} measures, not {size}")
        summaries[kind] = summary
        rec.add(
            Figure(
                name=f"zielflow simulate {days} days × {size} measures, {kind}",
                unit="s",
                runs=[seconds],
                notes=(
                    f"{size * days / seconds:,.0f} measure-days/s; {summary['transitions']} "
                    f"transitions, {summary['emails_total']} emails"
                ),
                **_target(size, days),
            )
        )
        rec.add(
            Figure(
                name=f"simulated measure-days per second, {kind}",
                unit="1/s",
                better="higher",
                runs=[size * days / seconds],
            )
        )
    rec.extra["summaries"] = summaries


def _target(measures: int, days: int) -> dict[str, Any]:
    """Issue 14's bound, for the full size only: a fallback or quick run has none."""
    if (measures, days) != (FULL_MEASURES, FULL_DAYS):
        return {}
    return {"target": "at most 60 s (issue 14)", "target_value_max": TARGET_SECONDS}


def main(argv: list[str] | None = None) -> int:
    return run_benchmark("simulation", __doc__ or "", run, argv)


if __name__ == "__main__":
    sys.exit(main())
