"""``python -m bench.replanning``: 800 simulated days, then two promises of issue 12 checked.

1. No measure waited in Neuplanung longer than the policy's ``replanning_days`` plus the
   time to the next sweep: the reminder goes out on the due day, the simulated coordinator
   opens the cycle it asks for, and the measure is carried the same day.
2. Nothing fell out of every cycle: each measure carried forward has a stay in a later
   cycle, and each active measure has a stay in the newest cycle or an open one in an
   earlier cycle.

A result, not a test: the run takes minutes on SQLite (a test must stay under 40 s). Writes
JSON to stdout and to ``bench/results/replanning.json``; exit status 1 if a promise broke.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.common import RESULTS_DIR
from bench.data import write_catalogue
from workflow.deadlines import BusinessCalendar, DeadlinePolicy
from workflow.simulate import run_simulation

START = date(2026, 1, 5)
TERMINAL = ("carried_forward", "deferred", "dropped", "completed")
# The afternoon sweep of the day the reminder goes: by then the coordinator opened the cycle.
LAST_SWEEP_HOUR = 17

STAYS_IN_REPLANNING = """
    SELECT a.measure_cycle_id, a.at,
           (SELECT MIN(b.at) FROM audit_event b
             WHERE b.measure_cycle_id = a.measure_cycle_id AND b.at >= a.at
               AND b.from_state = 'replanning' AND b.to_state <> 'replanning') AS left_at,
           c.policy
    FROM audit_event a
    JOIN measure_cycle mc ON mc.id = a.measure_cycle_id
    JOIN cycle c ON c.id = mc.cycle_id
    WHERE a.to_state = 'replanning' AND (a.from_state IS NULL OR a.from_state <> 'replanning')
"""
CARRIED_WITHOUT_SUCCESSOR = """
    SELECT COUNT(*) FROM measure_cycle mc JOIN cycle c ON c.id = mc.cycle_id
    WHERE mc.state = 'carried_forward' AND NOT EXISTS (
        SELECT 1 FROM measure_cycle n JOIN cycle nc ON nc.id = n.cycle_id
        WHERE n.measure_id = mc.measure_id AND nc.year > c.year)
"""
ACTIVE_WITHOUT_PLACE = f"""
    SELECT COUNT(*) FROM measure m
    WHERE m.status = 'active'
      AND NOT EXISTS (SELECT 1 FROM measure_cycle mc
                      WHERE mc.measure_id = m.id
                        AND (mc.cycle_id = (SELECT c.id FROM cycle c
                                            WHERE c.organisation_id = m.organisation_id
                                            ORDER BY c.year DESC LIMIT 1)
                             OR mc.state NOT IN {TERMINAL}))
"""


def _aware(moment: Any) -> datetime:
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def check(url: str, end: datetime, cal: BusinessCalendar) -> dict[str, Any]:
    engine = create_engine(url)
    longest, late = 0.0, []
    with engine.connect() as c:
        for mc_id, entered, left, policy in c.execute(text(STAYS_IN_REPLANNING)):
            entered, left = _aware(entered), _aware(left) if left else end
            raw = policy if isinstance(policy, dict) else json.loads(policy)
            days = DeadlinePolicy.model_validate(raw).replanning_days
            due = cal.roll_forward(cal.local_date(entered) + timedelta(days=days))
            waited = (left - entered).total_seconds() / 86400
            longest = max(longest, waited)
            if left > cal.at_local(due, LAST_SWEEP_HOUR):
                late.append({"measure_cycle_id": mc_id, "days": round(waited, 1)})
        carried_lost = int(c.execute(text(CARRIED_WITHOUT_SUCCESSOR)).scalar_one())
        active_lost = int(c.execute(text(ACTIVE_WITHOUT_PLACE)).scalar_one())
    engine.dispose()
    return {
        "longest_wait_in_replanning_days": round(longest, 1),
        "waited_too_long": late,
        "carried_without_successor": carried_lost,
        "active_without_place": active_lost,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=800)
    parser.add_argument("--measures", type=int, default=12)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        catalogue = Path(folder) / "catalogue.csv"
        write_catalogue(catalogue, measures=args.measures, departments=4, contacts=6)
        url = f"sqlite:///{Path(folder) / 'replanning.sqlite3'}"
        began = time.monotonic()
        summary = run_simulation(
            database_url=url,
            start=START,
            days=args.days,
            seed=args.seed,
            catalogue=catalogue,
            var_dir=Path(folder) / "var",
        )
        seconds = time.monotonic() - began
        cal = BusinessCalendar()
        end = cal.at_local(START + timedelta(days=args.days), 0)
        result = {
            "benchmark": "replanning",
            "days": args.days,
            "measures": args.measures,
            "seed": args.seed,
            "seconds": round(seconds, 1),
            "states_at_end": summary["states_at_end"],
            "open_cycle_reminders": summary["emails"].get("open_cycle_reminder", 0),
            **check(url, end, cal),
        }
    broken = bool(
        result["waited_too_long"]
        or result["carried_without_successor"]
        or result["active_without_place"]
    )
    result["ok"] = not broken
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "replanning.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
