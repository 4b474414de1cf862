"""Shared parts of the benchmarks: options, scratch databases, timing, machine facts, result files.

Touches only the benchmark's own scratch databases and files under bench/; never the
product's database, settings or code.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
PG_ADMIN_URL = os.environ.get(
    "ZIELFLOW_BENCH_POSTGRES_URL",
    "postgresql+psycopg://zielflow:zielflow@127.0.0.1:5432/postgres",
)
LIBRARIES = (
    "sqlalchemy",
    "psycopg",
    "alembic",
    "pydantic",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "jinja2",
    "aiosmtplib",
    "aiosmtpd",
    "holidays",
    "SpiffWorkflow",
)


@dataclass(frozen=True)
class Options:
    quick: bool
    results_dir: Path
    pg_admin_url: str
    pg_database: str
    scratch_dir: Path


def parse_options(name: str, description: str, argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}", description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=None,
        help="where the JSON goes (default bench/results, or bench/results/quick with --quick)",
    )
    parser.add_argument(
        "--pg-database",
        default=os.environ.get("ZIELFLOW_BENCH_DATABASE", "zf_bench"),
        help="scratch PostgreSQL database, created and dropped by the benchmark",
    )
    args = parser.parse_args(argv)
    results = args.results_dir or (RESULTS_DIR / "quick" if args.quick else RESULTS_DIR)
    scratch = results / f".scratch-{name}-{os.getpid()}"
    return Options(args.quick, results, PG_ADMIN_URL, args.pg_database, scratch)


# -- databases ----------------------------------------------------------------------------


def _admin_engine(admin_url: str) -> Any:
    return create_engine(admin_url, isolation_level="AUTOCOMMIT")


def pg_url_for(admin_url: str, database: str) -> str:
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


@contextmanager
def postgres_database(opts: Options, suffix: str = "") -> Iterator[str]:
    """A new, migrated PostgreSQL database, dropped again afterwards (also on failure)."""
    from workflow.migrate import upgrade

    name = opts.pg_database + suffix
    admin = _admin_engine(opts.pg_admin_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_url_for(opts.pg_admin_url, name)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def sqlite_database(opts: Options, name: str) -> Iterator[str]:
    """A new, migrated SQLite file in the scratch directory, deleted afterwards."""
    from workflow.migrate import upgrade

    opts.scratch_dir.mkdir(parents=True, exist_ok=True)
    path = opts.scratch_dir / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    try:
        upgrade(url)
        yield url
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def scratch(opts: Options) -> Iterator[Path]:
    opts.scratch_dir.mkdir(parents=True, exist_ok=True)
    try:
        yield opts.scratch_dir
    finally:
        shutil.rmtree(opts.scratch_dir, ignore_errors=True)


def database_kind(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


# -- timing -------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def timed(work: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    outcome = work()
    return time.perf_counter() - start, outcome


def interleaved(
    runs: int,
    subject: Callable[[], object],
    reference: Callable[[], object],
    *,
    before: Callable[[], None] | None = None,
    check: Callable[[str, object], None] | None = None,
) -> tuple[list[float], list[float]]:
    """Times ``subject`` and ``reference`` alternately (AB, BA, …), resetting with ``before``."""
    times = rotated(runs, {"subject": subject, "reference": reference}, before=before, check=check)
    return times["subject"], times["reference"]


def rotated(
    runs: int,
    contestants: Mapping[str, Callable[[], object]],
    *,
    before: Callable[[], None] | None = None,
    check: Callable[[str, object], None] | None = None,
) -> dict[str, list[float]]:
    """Seconds of each contestant per run; the starting contestant rotates from run to run.

    Rotating the order keeps a slow drift of the shared machine (another process, a cache
    warming up) from landing on one side only.
    """
    names = list(contestants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(runs):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            if before is not None:
                before()
            seconds, outcome = timed(contestants[name])
            if check is not None:
                check(name, outcome)
            times[name].append(seconds)
    return times


# -- figures ------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured number, with its reference measured in the same run and the ratio."""

    name: str
    unit: str
    runs: list[float]
    better: str = "lower"  # "lower" for times, "higher" for rates
    reference_name: str = ""
    reference_runs: list[float] = field(default_factory=list)
    target: str = ""
    target_ratio_max: float | None = None  # for times: subject / reference at most this
    target_ratio_min: float | None = None  # for rates: subject / reference at least this
    target_value_max: float | None = None  # an absolute bound on the median
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["median"] = median(self.runs)
        data["reference_median"] = median(self.reference_runs) if self.reference_runs else None
        data["ratio"] = self.ratio()
        data["meets_target"] = self.meets_target()
        return data

    def ratio(self) -> float | None:
        """Subject over reference (times: how many times slower; rates: what fraction)."""
        if not self.reference_runs:
            return None
        ref = median(self.reference_runs)
        return median(self.runs) / ref if ref else None

    def meets_target(self) -> bool | None:
        ratio = self.ratio()
        verdicts: list[bool] = []
        if self.target_ratio_max is not None and ratio is not None:
            verdicts.append(ratio <= self.target_ratio_max)
        if self.target_ratio_min is not None and ratio is not None:
            verdicts.append(ratio >= self.target_ratio_min)
        if self.target_value_max is not None:
            verdicts.append(median(self.runs) <= self.target_value_max)
        return all(verdicts) if verdicts else None


# -- machine ------------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def _postgres_version(admin_url: str) -> str:
    try:
        engine = _admin_engine(admin_url)
        with engine.connect() as conn:
            version = str(conn.execute(text("SHOW server_version")).scalar())
        engine.dispose()
        return version
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"


def machine_info(admin_url: str = PG_ADMIN_URL) -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "cpu_model": _cpu_model(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": _postgres_version(admin_url),
        "postgresql_at": f"{make_url(admin_url).host}:{make_url(admin_url).port or 5432}",
        "sqlite": sqlite3.sqlite_version,
        "libraries": versions,
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- results ------------------------------------------------------------------------------


class Recorder:
    """Collects one benchmark's sizes, figures and notes, and writes its JSON file."""

    def __init__(self, name: str, opts: Options, argv: list[str] | None = None) -> None:
        self.name = name
        self.opts = opts
        self.started = datetime.now(UTC)
        self.start_clock = time.perf_counter()
        self.load_before = load_average()
        args = sys.argv[1:] if argv is None else argv
        self.command = " ".join(["python -m", f"bench.{name}", *args]).strip()
        self.sizes: dict[str, Any] = {}
        self.figures: list[Figure] = []
        self.notes: list[str] = []
        self.extra: dict[str, Any] = {}

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        shown = f"{median(figure.runs):.4g} {figure.unit}"
        if figure.reference_runs:
            shown += (
                f"  (reference {median(figure.reference_runs):.4g}, ratio {figure.ratio():.3g})"
            )
        print(f"[{self.name}] {figure.name}: {shown}", flush=True)
        return figure

    def note(self, text_: str) -> None:
        self.notes.append(text_)
        print(f"[{self.name}] note: {text_}", flush=True)

    def write(self) -> Path:
        self.opts.results_dir.mkdir(parents=True, exist_ok=True)
        path = self.opts.results_dir / f"{self.name}.json"
        data = {
            "benchmark": self.name,
            "command": self.command,
            "quick": self.opts.quick,
            "started_at": self.started.isoformat(timespec="seconds"),
            "duration_s": round(time.perf_counter() - self.start_clock, 1),
            "machine": machine_info(self.opts.pg_admin_url),
            "load": {"before": self.load_before, "after": load_average()},
            "sizes": self.sizes,
            "figures": [f.as_dict() for f in self.figures],
            "notes": self.notes,
            **self.extra,
        }
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        print(f"[{self.name}] wrote {path}", flush=True)
        return path


def run_benchmark(
    name: str, description: str, run: Callable[[Options, Recorder], None], argv: list[str] | None
) -> int:
    """The one ``main`` of every benchmark module: options, a scratch database, the run, the
    figures written; ``python -m bench.<name>`` and ``python -m bench`` both come here."""
    opts = parse_options(name, description, argv)
    rec = Recorder(name, opts, argv)
    with scratch(opts):
        run(opts, rec)
    rec.write()
    return 0
