"""Benchmark of the batch transition service: 50-item batches against 50 single calls.

Both sides move the same measures along the transitions benchmark's path through the same
service call as the API (``coordination.perform``): the single side one transaction per item,
as ``POST /api/v1/measure-cycles/{id}/transitions`` does; the batch side one transaction per
50 items, as ``POST /api/v1/measure-cycles/transitions`` does (``apply_batch``: one locking
read of the 50 rows, then each item).
"""

from __future__ import annotations

import sys
from typing import Any

from sqlalchemy import text

from api.routes.measure_cycle_batch import apply_batch
from api.routes.schemas import BatchItemIn
from bench.common import (
    Figure,
    Options,
    Recorder,
    postgres_database,
    rotated,
    run_benchmark,
    sqlite_database,
)
from bench.transitions import PATH, TransitionData
from workflow.cycles import coordination
from workflow.db import unit_of_work

BATCH = 50
ACTOR = "user:bench"
# perform() asks for the Erstgespräch's date, which apply_event (the other benchmark) does not.
HELD_ON = "2026-03-02"


def _payload(event: str, payload: dict[str, str]) -> dict[str, Any]:
    return {**payload, "held_on": HELD_ON} if event == "record_interview" else dict(payload)


class BatchData:
    def __init__(self, data: TransitionData) -> None:
        self.data = data
        with data.engine.connect() as conn:
            self.organisation_id = conn.execute(
                text("SELECT organisation_id FROM measure_cycle LIMIT 1")
            ).scalar_one()

    def reset(self) -> None:
        with self.data.engine.begin() as conn:
            conn.execute(text("DELETE FROM interview"))
            conn.execute(text("UPDATE measure SET interviewed_at = NULL"))
        self.data.reset()

    def single(self) -> int:
        for step, (event, payload, _task, _decision) in enumerate(PATH):
            for mc_id in self.data.ids:
                with unit_of_work(self.data.rt.sessions) as session:
                    coordination.perform(
                        session=session,
                        clock=self.data.clock,
                        measure_cycle_id=mc_id,
                        event=event,
                        expected_version=1 + step,
                        actor=ACTOR,
                        payload=_payload(event, payload),
                    )
        return len(PATH) * len(self.data.ids)

    def batched(self) -> int:
        ids = self.data.ids
        for step, (event, payload, _task, _decision) in enumerate(PATH):
            for start in range(0, len(ids), BATCH):
                items = [
                    BatchItemIn(
                        id=mc_id,
                        event=event,
                        version=1 + step,
                        payload=_payload(event, payload),
                    )
                    for mc_id in ids[start : start + BATCH]
                ]
                with unit_of_work(self.data.rt.sessions) as session:
                    _moved, refused = apply_batch(
                        session, organisation_id=self.organisation_id, items=items, actor=ACTOR
                    )
                    if refused:
                        raise AssertionError(f"batch refused: {refused[0][2].message}")
        return len(PATH) * len(ids)

    def check(self, _name: str, outcome: object) -> None:
        self.data.check("zielflow", outcome)


def run(opts: Options, rec: Recorder) -> None:
    measures = BATCH if opts.quick else 6 * BATCH
    runs = 2 if opts.quick else 5
    count = measures * len(PATH)
    rec.sizes = {
        "measures": measures,
        "batch_size": BATCH,
        "transitions_per_run": count,
        "path": [event for event, *_ in PATH],
        "runs": runs,
    }
    for kind in ("postgresql", "sqlite"):
        database = (
            postgres_database(opts, "_batch")
            if kind == "postgresql"
            else sqlite_database(opts, "transition_batch")
        )
        with database as url:
            data = BatchData(TransitionData(url, measures))
            try:
                contestants = {"batch": data.batched, "single": data.single}
                data.reset()
                for name, work in contestants.items():  # warm-up, untimed, and checked
                    work()
                    data.check(name, None)
                    data.reset()
                times = rotated(runs, contestants, before=data.reset, check=data.check)
            finally:
                data.data.close()
        rates = {name: [count / s for s in seconds] for name, seconds in times.items()}
        rec.add(
            Figure(
                name=f"transitions/s {kind}, {BATCH}-item batches (apply_batch, one transaction)",
                unit="1/s",
                better="higher",
                runs=rates["batch"],
                reference_name=f"{BATCH} single calls of coordination.perform, one transaction each",
                reference_runs=rates["single"],
                notes="same service call per item; the batch saves the commits and checkouts",
            )
        )


def main(argv: list[str] | None = None) -> int:
    return run_benchmark("transition_batch", __doc__ or "", run, argv)


if __name__ == "__main__":
    sys.exit(main())
