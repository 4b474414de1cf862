"""``python -m bench``: runs every benchmark, one subprocess each, and writes bench/RESULTS.md.

Options are passed through to each benchmark (``--quick``, ``--results-dir``,
``--pg-database``); ``--only NAME`` runs a subset. A failing benchmark is reported, and
the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import BENCH_DIR, PG_ADMIN_URL, RESULTS_DIR, load_average
from bench.report import ORDER, write_report

ATTEMPTS = 3  # per benchmark; see wait_for_postgres


# What marks a process as other work on the project: tests, workers, servers, benchmarks.
_BUSY_WORDS = ("pytest", "celery", "bench", "zielflow", "uvicorn")


def _parents() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The command name in field 2 may hold spaces; the fields after ")" do not.
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            parents[int(entry.name)] = int(stat[1])
    return parents


def _own_processes(parents: dict[int, int]) -> set[int]:
    """This process, the ones that started it, and every process it started."""
    mine = {os.getpid()}
    grown = mine
    while grown:
        grown = {child for child, parent in parents.items() if parent in grown} - mine
        mine |= grown
    pid = parents.get(os.getpid(), 1)
    while pid > 1:
        mine.add(pid)
        pid = parents.get(pid, 1)
    return mine


def other_busy_processes() -> list[str]:
    """Test runs, workers, servers and benchmarks on this machine that this command did not
    start, as a sign that it is shared."""
    parents = _parents()
    own = _own_processes(parents)
    seen = []
    for pid in parents.keys() - own:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        program = Path(cmdline.split(" ", 1)[0]).name
        # Database servers and their sessions (named after the database user) are not work.
        if not program.startswith("postgres") and any(word in cmdline for word in _BUSY_WORDS):
            seen.append(cmdline.strip()[:120])
    return sorted(set(seen))


def wait_for_postgres(seconds: float = 120.0) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN_URL)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                return True
            except Exception:
                time.sleep(2)
        return False
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--results-dir", type=Path, default=None)
    parser.add_argument("--pg-database", default=None)
    parser.add_argument("--only", action="append", choices=ORDER, default=None)
    parser.add_argument("--report", type=Path, default=None, help="default bench/RESULTS.md")
    parser.add_argument(
        "--note", action="append", default=[], help="a sentence about this run for the report"
    )
    args = parser.parse_args(argv)
    results_dir = args.results_dir or (RESULTS_DIR / "quick" if args.quick else RESULTS_DIR)
    report = args.report or (
        results_dir / "RESULTS-quick.md" if args.quick else BENCH_DIR / "RESULTS.md"
    )
    passthrough = ["--results-dir", str(results_dir)]
    if args.quick:
        passthrough.append("--quick")
    if args.pg_database:
        passthrough += ["--pg-database", args.pg_database]
    run = {
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "quick": args.quick,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_before": load_average(),
        "other_processes": other_busy_processes(),
        "failed": [],
        "retried": [],
        "notes": args.note,
    }
    started = time.perf_counter()
    for name in args.only or ORDER:
        for attempt in range(1, ATTEMPTS + 1):
            print(f"== bench.{name}", flush=True)
            command = [sys.executable, "-m", f"bench.{name}", *passthrough]
            done = subprocess.run(command, check=False)
            if done.returncode == 0:
                break
            # Other people's fault-injection tests restart the shared PostgreSQL now and then:
            # wait for it and try once more rather than lose the whole benchmark.
            run["retried"].append(f"{name} (exit {done.returncode})")
            if attempt == ATTEMPTS or not wait_for_postgres():
                run["failed"].append(f"{name} (exit {done.returncode})")
                break
    run["duration_s"] = round(time.perf_counter() - started, 1)
    run["load_after"] = load_average()
    run["other_processes"] = sorted(set(run["other_processes"]) | set(other_busy_processes()))
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    print(f"wrote {write_report(results_dir, report, run)}")
    return 1 if run["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
