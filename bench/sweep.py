"""Benchmark of one full sweep (workflow.sweep.run_sweep) against hand-written SQL doing the same work.

Every repetition starts from the same state: the due rows get their first-reminder schedule
back and the outbox is emptied. Only scratch databases are touched.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

from bench.common import (
    Figure,
    Options,
    Recorder,
    database_kind,
    interleaved,
    postgres_database,
    run_benchmark,
    sqlite_database,
)
from bench.data import Shape, Slot, populate, vacuum_tables
from workflow import runtime
from workflow.clock import FrozenClock
from workflow.config import Settings
from workflow.db import UTCDateTime
from workflow.deadlines import BusinessCalendar, DeadlinePolicy, action_plan
from workflow.machine import State
from workflow.sweep import run_sweep

CAL = BusinessCalendar("NW", "Europe/Berlin")
POLICY = DeadlinePolicy()
# Monday 30 March 2026, 08:05 in Berlin: the first reminder of agreements due Mon 13 April.
NOW = CAL.at_local(date(2026, 3, 30), 8) + timedelta(minutes=5)
ENTERED = CAL.at_local(date(2026, 3, 2), 10)
DUE_ON = date(2026, 4, 13)
VARIANTS = 20


def first_step_at(due: date) -> datetime:
    return action_plan(State.TARGET_AGREEMENT, due, POLICY, CAL)[0].at


def waiting_slots() -> list[Slot]:
    """Agreements due in late April and May: their first reminder lies after NOW."""
    slots = []
    for v in range(VARIANTS):
        due = CAL.roll_forward(date(2026, 4, 20) + timedelta(days=2 * v))
        slots.append(
            Slot("target_agreement", ENTERED, due, first_step_at(due), interviewed_at=ENTERED)
        )
    assert all(s.next_action_at is not None and s.next_action_at > NOW for s in slots)
    return slots


DUE_AT = first_step_at(DUE_ON)
assert DUE_AT <= NOW


class SweepData:
    """One scratch database with ``total`` measures-in-cycle; ``every``-th row is due."""

    def __init__(self, url: str, total: int) -> None:
        from workflow.db import make_engine

        self.url = url
        self.kind = database_kind(url)
        self.engine: Engine = make_engine(url)
        self.total = total
        self.every: int | None = None
        settings = Settings(database_url=url, environment="test")
        self.rt = runtime.build(settings, FrozenClock(NOW))
        runtime.install(self.rt)

    def load(self) -> dict[str, int]:
        shape = Shape(organisations=1, measures_per_org=self.total)
        return populate(self.engine, shape, waiting_slots(), opened_at=ENTERED)

    def make_due(self, every: int) -> int:
        """Puts the first reminder of every ``every``-th row at NOW; returns how many are due."""
        if self.every is not None and self.every != every:
            self._restore(self.every)
        self.every = every
        self.reset()
        return self.total // every

    def reset(self) -> None:
        assert self.every is not None
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE measure_cycle SET due_on = :due, next_action_at = :at, action_step = 0,"
                    f" escalation_level = 0 WHERE id % {int(self.every)} = 0"
                ).bindparams(bindparam("at", DUE_AT, type_=UTCDateTime()), due=DUE_ON)
            )
            conn.execute(text("DELETE FROM outbox_message"))
        vacuum_tables(self.engine, "measure_cycle", "outbox_message")

    def _restore(self, every: int) -> None:
        with self.engine.begin() as conn:
            for column in ("due_on", "next_action_at", "action_step"):
                conn.execute(
                    text(
                        f"UPDATE measure_cycle SET {column} = (SELECT b.{column} FROM"
                        f" bench_schedule b WHERE b.k = measure_cycle.id % {VARIANTS})"
                        f" WHERE id % {int(every)} = 0"
                    )
                )
            conn.execute(
                text(f"UPDATE measure_cycle SET escalation_level = 0 WHERE id % {every} = 0")
            )

    # -- the two contestants ---------------------------------------------------------------

    def subject(self) -> object:
        return run_sweep(
            sessions=self.rt.sessions,
            clock=self.rt.clock,
            batch_size=self.rt.settings.sweep_batch_size,
        )

    def reference(self) -> object:
        with self.engine.begin() as conn:
            conn.execute(
                text(REFERENCE_INSERT[self.kind]).bindparams(
                    bindparam("now", NOW, type_=UTCDateTime())
                )
            )
            conn.execute(
                text(REFERENCE_UPDATE[self.kind]).bindparams(
                    bindparam("now", NOW, type_=UTCDateTime())
                )
            )
        return None

    # -- checks ----------------------------------------------------------------------------

    def outbox(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT dedupe_key, kind, recipient_email, context FROM outbox_message"
                    " ORDER BY dedupe_key"
                )
            ).all()
        return [
            (key, kind, email, ctx if isinstance(ctx, dict) else json.loads(ctx))
            for key, kind, email, ctx in rows
        ]

    def still_due(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT COUNT(*) FROM measure_cycle WHERE next_action_at <= :now"
                    ).bindparams(bindparam("now", NOW, type_=UTCDateTime()))
                ).scalar_one()
            )

    def check(self, expected: int) -> None:
        queued = len(self.outbox())
        left = self.still_due()
        if queued != expected or left != 0:
            raise AssertionError(f"sweep did {queued} of {expected} reminders, {left} still due")

    def same_work(self) -> None:
        """One untimed round each: both must queue the very same messages."""
        self.reset()
        self.subject()
        mine = self.outbox()
        self.reset()
        self.reference()
        theirs = self.outbox()
        if mine != theirs:
            raise AssertionError(f"reference differs from sweep: {mine[:1]} vs {theirs[:1]}")
        if len(mine) != self.total // (self.every or 1):
            raise AssertionError(
                f"{len(mine)} reminders queued, expected {self.total // (self.every or 1)}"
            )

    def close(self) -> None:
        runtime.install(None)
        self.engine.dispose()


# The minimal pair a person would hand-write for exactly this work: the first reminder of
# every due agreement, with the sweep's dedupe key and context, then the next step's time.
_CONTEXT_FIELDS = (
    "'measure_cycle_id', mc.id, 'cycle_id', mc.cycle_id, 'measure_code', m.code,"
    " 'measure_title', m.title, 'goal_code', g.code, 'goal_name', g.name,"
    " 'field_code', f.code, 'field_name', f.name, 'state', mc.state, 'due_on', mc.due_on,"
    " 'contact_id', c.id, 'step', mc.action_step"
)
_INSERT = """
INSERT INTO outbox_message (organisation_id, dedupe_key, channel, kind, recipient_email,
    recipient_name, language, measure_cycle_id, context, status, created_at, not_before,
    attempts, last_error)
SELECT mc.organisation_id, 'mc:' || mc.id || ':' || mc.stay || ':reminder:' || mc.action_step,
       'email', 'reminder', c.email, c.name, c.language, mc.id, {context},
       'pending', :now, :now, 0, ''
FROM measure_cycle mc
JOIN measure m ON m.id = mc.measure_id
JOIN goal g ON g.id = m.goal_id
JOIN field f ON f.id = g.field_id
JOIN contact c ON c.id = m.contact_id
WHERE mc.next_action_at <= :now
ON CONFLICT (dedupe_key) DO NOTHING
"""
REFERENCE_INSERT = {
    "postgresql": _INSERT.format(context=f"json_build_object({_CONTEXT_FIELDS})"),
    "sqlite": _INSERT.format(context=f"json_object({_CONTEXT_FIELDS})"),
}
# The next step is the reminder 3 days before the due date at 08:00 Berlin (CEST, UTC+2).
REFERENCE_UPDATE = {
    "postgresql": """
UPDATE measure_cycle SET action_step = action_step + 1,
    next_action_at = ((due_on - 3) + time '08:00') AT TIME ZONE 'Europe/Berlin'
WHERE next_action_at <= :now
""",
    "sqlite": """
UPDATE measure_cycle SET action_step = action_step + 1,
    next_action_at = strftime('%Y-%m-%d %H:%M:%S', due_on, '-3 days', '+6 hours') || '.000000'
WHERE next_action_at <= :now
""",
}


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def measure(
    rec: Recorder, data: SweepData, every: int, runs: int, *, title: str, **target: Any
) -> Figure:
    due = data.make_due(every)
    data.same_work()
    subject, reference = interleaved(
        runs,
        data.subject,
        data.reference,
        before=data.reset,
        check=lambda _side, _outcome: data.check(due),
    )
    return rec.add(
        Figure(
            name=title,
            unit="s",
            runs=subject,
            reference_name="hand-written INSERT…SELECT + UPDATE, one transaction",
            reference_runs=reference,
            notes=f"{due} due of {data.total}",
            **target,
        )
    )


def run(opts: Options, rec: Recorder) -> None:
    sizes = [1_000, 2_000] if opts.quick else [10_000, 100_000, 1_000_000]
    fixed_due = 20 if opts.quick else 1_000
    rec.sizes = {
        "measures_in_cycle": sizes,
        "due_share": "1%",
        "fixed_due": fixed_due,
        "fixed_due_totals": [sizes[0], sizes[-1]],
        "organisations": 1,
        "departments": 30,
        "contacts": 300,
        "sweep_batch_size": Settings(environment="test").sweep_batch_size,
    }
    fixed: dict[str, dict[int, Figure]] = {}
    for kind in ("postgresql", "sqlite"):
        for total in sizes:
            runs = 2 if opts.quick else 3 if total >= 1_000_000 else 5
            database = (
                postgres_database(opts) if kind == "postgresql" else sqlite_database(opts, "sweep")
            )
            with database as url:
                data = SweepData(url, total)
                try:
                    seconds_load = _timed_load(data)
                    rec.extra.setdefault("load_seconds", {})[f"{kind} {_label(total)}"] = (
                        seconds_load
                    )
                    measure(
                        rec,
                        data,
                        100,
                        runs,
                        title=f"sweep {kind}, {_label(total)} in cycle, 1% due",
                        target="within 2x of the hand-written SQL",
                        target_ratio_max=2.0,
                    )
                    if total in (sizes[0], sizes[-1]):
                        fig = measure(
                            rec,
                            data,
                            total // fixed_due,
                            runs,
                            title=f"sweep {kind}, {_label(total)} in cycle, {fixed_due} due",
                        )
                        fixed.setdefault(kind, {})[total] = fig
                finally:
                    data.close()
        small, large = fixed[kind][sizes[0]], fixed[kind][sizes[-1]]
        rec.add(
            Figure(
                name=f"flatness {kind}: {fixed_due} due in {_label(sizes[-1])} vs in {_label(sizes[0])}",
                unit="s",
                runs=large.runs,
                reference_name=f"the same sweep with {fixed_due} due in {_label(sizes[0])}",
                reference_runs=small.runs,
                target="flat in the total size (ratio at most 1.3)",
                target_ratio_max=1.3,
            )
        )


def _timed_load(data: SweepData) -> float:
    import time

    start = time.perf_counter()
    counts = data.load()
    seconds = round(time.perf_counter() - start, 1)
    print(
        f"[sweep] loaded {counts['measure_cycles']} rows into {data.kind} in {seconds} s",
        flush=True,
    )
    return seconds


def main(argv: list[str] | None = None) -> int:
    return run_benchmark("sweep", __doc__ or "", run, argv)


if __name__ == "__main__":
    sys.exit(main())
