"""``python -m bench.catch_up``: one pass of the sweep's milestone catch-up with nothing to do.

Every stay of one organisation is in Umsetzung with its target agreement. Every
``--undated-every``-th agreement lists a milestone without a readable date (no rows can come
of it); the others list two dated milestones and have their rows. The first pass does what
there is to do; the command then times ``workflow.milestones.sync.backfill`` nine times, each
in a transaction rolled back, and prints the median. Runs on whatever schema the checkout
migrates to, so the same command measures a checkout before revision 0016 (no mark on the
agreement) and one after it (copied into the other checkout's ``bench/``, it runs against that
checkout's code). Prints one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import inspect, text

from bench.common import PG_ADMIN_URL, Options, postgres_database, scratch, sqlite_database
from bench.data import Shape, Slot, populate
from workflow.db import make_engine, make_session_factory
from workflow.milestones.sync import backfill

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
DATED = [{"text": "Konzept", "date": "2026-06-30"}, {"text": "Start", "date": "2026-09-01"}]
UNDATED = [{"text": "Konzept", "date": "im Sommer"}]
PASSES = 9


def measure(url: str, stays: int, undated_every: int) -> dict[str, object]:
    engine = make_engine(url)
    try:
        populate(
            engine,
            Shape(
                organisations=1, measures_per_org=stays, departments_per_org=10, contacts_per_org=50
            ),
            [Slot("implementation", NOW, date(2027, 3, 1), None)],
            opened_at=NOW,
        )
        marked = "milestones_synced" in {
            c["name"] for c in inspect(engine).get_columns("target_agreement")
        }
        undated = f"id % {undated_every} = 0" if undated_every else "1 = 0"
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO target_agreement (measure_cycle_id, decision, reason, targets,"
                    " milestones, indicator_targets, responsible, resources, submitted_by"
                    + (", milestones_synced" if marked else "")
                    + f") SELECT id, 'implement', '', '', CAST(CASE WHEN {undated} THEN :u"
                    " ELSE :d END AS JSON), '{}', '', '', ''"
                    + (f", NOT ({undated})" if marked else "")
                    + " FROM measure_cycle"
                ),
                {"u": json.dumps(UNDATED), "d": json.dumps(DATED)},
            )
            for position, item in enumerate(DATED):
                conn.execute(
                    text(
                        "INSERT INTO milestone (organisation_id, measure_cycle_id, measure_id,"
                        " position, text, planned_on, due_on, status, moves, asked, answered_by,"
                        " history) SELECT organisation_id, id, measure_id, :position, :text,"
                        " :day, :day, 'open', 0, 0, '', '[]'"
                        f" FROM measure_cycle WHERE NOT ({undated})"
                    ),
                    {
                        "position": position,
                        "text": item["text"],
                        "day": date.fromisoformat(item["date"]),
                    },
                )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            first = backfill(session, now=NOW)
        seconds, found = [], 0
        for _ in range(PASSES):
            with sessions() as session:
                start = time.perf_counter()
                found = backfill(session, now=NOW)
                seconds.append(time.perf_counter() - start)
                session.rollback()
    finally:
        engine.dispose()
    return {
        "database": engine.dialect.name,
        "stays": stays,
        "undated_every": undated_every,
        "agreement_marked": marked,
        "first_pass_synced": first,
        "later_pass_synced": found,
        "median_ms": round(statistics.median(seconds) * 1000, 3),
        "min_ms": round(min(seconds) * 1000, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.catch_up", description=__doc__)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="sqlite")
    parser.add_argument("--stays", type=int, default=100_000)
    parser.add_argument("--undated-every", type=int, default=10, help="0: none undated")
    parser.add_argument("--pg-database", default="zf_bench_catch_up")
    args = parser.parse_args(argv)
    here = Path(tempfile.mkdtemp(prefix="zf-catch-up-"))
    opts = Options(False, here, PG_ADMIN_URL, args.pg_database, here / "scratch")
    with scratch(opts):
        database = (
            postgres_database(opts)
            if args.db == "postgresql"
            else sqlite_database(opts, "catch_up")
        )
        with database as url:
            print(json.dumps(measure(url, args.stays, args.undated_every)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
