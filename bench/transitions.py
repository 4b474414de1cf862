"""Benchmark of transitions per second through the transition service against SpiffWorkflow.

``move_on`` is the transition service's work (lock, version check, deadlines, audit row, outbox
rows) in a transaction of its own (``write_transaction``); ``move`` is the same work inside a
session's unit of work, for a caller whose transaction holds ORM writes as well.

Both sides drive the same measures along the same path (Erstgespräch → Zielvereinbarung →
Umsetzung → Review → Bewertung → back to Review → Bewertung → accepted) and store every
step in the same scratch database, one transaction per step.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

from bench.common import (
    Figure,
    Options,
    Recorder,
    postgres_database,
    rotated,
    run_benchmark,
    sqlite_database,
)
from bench.data import Shape, Slot, populate
from bench.spiff import SpiffCycle
from workflow import runtime
from workflow.clock import FrozenClock
from workflow.config import Settings
from workflow.db import UTCDateTime, make_engine, unit_of_work, write_transaction
from workflow.deadlines import BusinessCalendar, DeadlinePolicy, due_on
from workflow.machine import State
from workflow.transitions import move, move_on

CAL = BusinessCalendar("NW", "Europe/Berlin")
NOW = CAL.at_local(date(2026, 3, 2), 10)
START_DUE = due_on(State.INITIAL_INTERVIEW, NOW, DeadlinePolicy(), CAL)

# (zielflow event, its payload, the BPMN user task completed, the decision the gateway reads)
PATH: tuple[tuple[str, dict[str, str], str, str], ...] = (
    ("record_interview", {"decision": "keep"}, "erstgespraech", "keep"),
    ("submit_agreement", {}, "zielvereinbarung", "implement"),
    ("start_review", {}, "umsetzung", "review"),
    ("submit_review", {}, "review", "submit"),
    ("send_back", {"comment": "Bitte Zahlen ergänzen"}, "bewertung", "send_back"),
    ("submit_review", {}, "review", "submit"),
    ("accept_review", {}, "bewertung", "accept"),
)


class TransitionData:
    def __init__(self, url: str, measures: int) -> None:
        self.engine: Engine = make_engine(url)
        self.kind = self.engine.dialect.name
        self.measures = measures
        self.clock = FrozenClock(NOW)
        self.rt = runtime.build(Settings(database_url=url, environment="test"), self.clock)
        runtime.install(self.rt)
        populate(
            self.engine,
            Shape(
                organisations=1,
                measures_per_org=measures,
                departments_per_org=10,
                contacts_per_org=50,
            ),
            [Slot("initial_interview", NOW, START_DUE, None)],
            opened_at=NOW,
        )
        self.ids = list(range(1, measures + 1))
        self.spiff = SpiffCycle(self.engine)

    def reset(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE measure_cycle SET state = 'initial_interview', entered_state_at = :now,"
                    " due_on = :due, next_action_at = NULL, action_step = 0, escalation_level = 0,"
                    " stay = 1, version = 1"
                ).bindparams(bindparam("now", NOW, type_=UTCDateTime()), due=START_DUE)
            )
            conn.execute(text("UPDATE measure SET status = 'active'"))
            conn.execute(text("DELETE FROM outbox_message"))
            conn.execute(text("DELETE FROM audit_event"))
        self.spiff.reset(self.ids)
        if self.kind == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(
                    text(
                        "VACUUM ANALYZE measure_cycle, outbox_message, audit_event, bench_spiff_state"
                    )
                )

    def zielflow(self) -> int:
        def one(mc_id: int, event: str, payload: dict[str, str], version: int) -> None:
            with write_transaction(self.engine) as connection:
                move_on(
                    connection,
                    clock=self.clock,
                    measure_cycle_id=mc_id,
                    event=event,
                    expected_version=version,
                    actor="user:bench",
                    payload=payload,
                )

        return self._along_the_path(one)

    def zielflow_session(self) -> int:
        def one(mc_id: int, event: str, payload: dict[str, str], version: int) -> None:
            with unit_of_work(self.rt.sessions) as session:
                move(
                    session=session,
                    clock=self.clock,
                    measure_cycle_id=mc_id,
                    event=event,
                    expected_version=version,
                    actor="user:bench",
                    payload=payload,
                )

        return self._along_the_path(one)

    def _along_the_path(self, one: Callable[[int, str, dict[str, str], int], None]) -> int:
        for step, (event, payload, _task, _decision) in enumerate(PATH):
            for mc_id in self.ids:
                one(mc_id, event, payload, 1 + step)
        return len(PATH) * len(self.ids)

    def spiff_in_memory(self) -> int:
        for _event, _payload, task, decision in PATH:
            for wf_id in self.ids:
                self.spiff.complete_in_memory(wf_id, decision, task)
        return len(PATH) * len(self.ids)

    def spiff_stateless(self) -> int:
        for _event, _payload, task, decision in PATH:
            for wf_id in self.ids:
                self.spiff.complete_stateless(wf_id, decision, task)
        return len(PATH) * len(self.ids)

    def floor(self) -> int:
        """The least durable work per step: bump one row's version and commit."""
        for _step in PATH:
            for mc_id in self.ids:
                with self.engine.begin() as conn:
                    conn.execute(
                        text("UPDATE measure_cycle SET version = version + 1 WHERE id = :id"),
                        {"id": mc_id},
                    )
        return len(PATH) * len(self.ids)

    def check(self, name: str, _outcome: object) -> None:
        if name == "floor":
            with self.engine.connect() as conn:
                versions = conn.execute(
                    text("SELECT version, COUNT(*) FROM measure_cycle GROUP BY version")
                ).all()
            if versions != [(1 + len(PATH), self.measures)]:
                raise AssertionError(f"floor left versions {versions}")
            return
        if name in ("zielflow", "zielflow_session"):
            with self.engine.connect() as conn:
                states = conn.execute(
                    text(
                        "SELECT state, version, COUNT(*) FROM measure_cycle GROUP BY state, version"
                    )
                ).all()
                audits = conn.execute(text("SELECT COUNT(*) FROM audit_event")).scalar_one()
            if (
                states != [("replanning", 1 + len(PATH), self.measures)]
                or audits != len(PATH) * self.measures
            ):
                raise AssertionError(f"zielflow ended in {states} with {audits} audit events")
            return
        for wf_id in self.ids:
            end = self.spiff.finished(wf_id)
            if end != "end_replanning":
                raise AssertionError(f"Spiff workflow {wf_id} ended in {end}")

    def close(self) -> None:
        runtime.install(None)
        self.engine.dispose()


def run(opts: Options, rec: Recorder) -> None:
    measures = 5 if opts.quick else 300
    runs = 2 if opts.quick else 5
    count = measures * len(PATH)
    rec.sizes = {
        "measures": measures,
        "transitions_per_run": count,
        "path": [event for event, *_ in PATH],
        "runs": runs,
    }
    for kind in ("postgresql", "sqlite"):
        database = (
            postgres_database(opts)
            if kind == "postgresql"
            else sqlite_database(opts, "transitions")
        )
        with database as url:
            data = TransitionData(url, measures)
            try:
                contestants = {
                    "zielflow": data.zielflow,
                    "zielflow_session": data.zielflow_session,
                    "spiff": data.spiff_in_memory,
                    "spiff_stateless": data.spiff_stateless,
                    "floor": data.floor,
                }
                data.reset()
                for name, work in contestants.items():  # warm-up, untimed, and checked
                    work()
                    data.check(name, None)
                    data.reset()
                times = rotated(runs, contestants, before=data.reset, check=data.check)
            finally:
                data.close()
        rates = {name: [count / s for s in seconds] for name, seconds in times.items()}
        rec.add(
            Figure(
                name=f"transitions/s {kind}, move_on, one transaction each",
                unit="1/s",
                better="higher",
                runs=rates["zielflow"],
                reference_name="SpiffWorkflow 3, workflow in memory, JSON state stored per task",
                reference_runs=rates["spiff"],
                target="at least 3x SpiffWorkflow's rate",
                target_ratio_min=3.0,
            )
        )
        rec.add(
            Figure(
                name=f"transitions/s {kind}, move in a session's unit of work",
                unit="1/s",
                better="higher",
                runs=rates["zielflow_session"],
                reference_name="SpiffWorkflow 3, workflow in memory, JSON state stored per task",
                reference_runs=rates["spiff"],
                notes="the same work with the session's transaction around it (the API, the sweep)",
            )
        )
        rec.add(
            Figure(
                name=f"transitions/s {kind} vs stateless SpiffWorkflow",
                unit="1/s",
                better="higher",
                runs=rates["zielflow"],
                reference_name="SpiffWorkflow 3, state locked, loaded, run and stored per task",
                reference_runs=rates["spiff_stateless"],
            )
        )
        rec.add(
            Figure(
                name=f"transitions/s {kind} vs the durable-write floor",
                unit="1/s",
                better="higher",
                runs=rates["zielflow"],
                reference_name="one UPDATE … SET version = version + 1 and COMMIT per step",
                reference_runs=rates["floor"],
                notes="what the disk and the database allow for one committed write per step",
            )
        )


def main(argv: list[str] | None = None) -> int:
    return run_benchmark("transitions", __doc__ or "", run, argv)


if __name__ == "__main__":
    sys.exit(main())
