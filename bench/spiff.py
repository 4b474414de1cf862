"""The SpiffWorkflow reference of bench.transitions: bench/cycle.bpmn run by SpiffWorkflow 3, state in the DB.

Writes only its own table ``bench_spiff_state`` in a scratch database; knows nothing of
zielflow's tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.serializer.workflow import (
    BpmnWorkflowSerializer,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import text
from sqlalchemy.engine import Engine

BPMN = Path(__file__).resolve().parent / "cycle.bpmn"
PROCESS_ID = "zielvereinbarungszyklus"


class SpiffCycle:
    """Runs the BPMN cycle of many measures; each completed user task is stored at once."""

    def __init__(self, engine: Engine) -> None:
        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec = parser.get_spec(PROCESS_ID)
        self.serializer = BpmnWorkflowSerializer()
        self.engine = engine
        self.kind = engine.dialect.name
        self.workflows: dict[int, Any] = {}
        column = "JSON" if self.kind == "postgresql" else "TEXT"
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS bench_spiff_state"))
            conn.execute(
                text(
                    f"CREATE TABLE bench_spiff_state (id INTEGER PRIMARY KEY, state {column} NOT NULL)"
                )
            )

    def _state_param(self) -> str:
        return "CAST(:state AS JSON)" if self.kind == "postgresql" else ":state"

    def _state_text(self) -> str:
        # The raw JSON text, as a stateless server would read it: psycopg would parse a json
        # column itself, and Spiff wants the string.
        return "CAST(state AS TEXT)" if self.kind == "postgresql" else "state"

    def reset(self, ids: list[int]) -> None:
        """A fresh workflow per id, waiting in its first user task (Erstgespräch)."""
        self.workflows = {}
        rows = []
        for i in ids:
            workflow = BpmnWorkflow(self.spec)
            workflow.do_engine_steps()
            self.workflows[i] = workflow
            rows.append({"id": i, "state": self.serializer.serialize_json(workflow)})
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM bench_spiff_state"))
            conn.execute(
                text(
                    f"INSERT INTO bench_spiff_state (id, state) VALUES (:id, {self._state_param()})"
                ),
                rows,
            )

    def _step(self, workflow: Any, decision: str, expected_task: str) -> None:
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        if task is None or task.task_spec.bpmn_id != expected_task:
            found = None if task is None else task.task_spec.bpmn_id
            raise AssertionError(f"expected user task {expected_task}, found {found}")
        task.data["decision"] = decision
        task.run()
        workflow.do_engine_steps()

    def complete_in_memory(self, workflow_id: int, decision: str, expected_task: str) -> None:
        """The workflow stays in memory; its serialized state is written after the task."""
        workflow = self.workflows[workflow_id]
        self._step(workflow, decision, expected_task)
        state = self.serializer.serialize_json(workflow)
        with self.engine.begin() as conn:
            conn.execute(
                text(f"UPDATE bench_spiff_state SET state = {self._state_param()} WHERE id = :id"),
                {"id": workflow_id, "state": state},
            )

    def complete_stateless(self, workflow_id: int, decision: str, expected_task: str) -> None:
        """Like a stateless web request: lock and load the state, run the task, store it."""
        lock = " FOR UPDATE" if self.kind == "postgresql" else ""
        with self.engine.begin() as conn:
            raw = conn.execute(
                text(f"SELECT {self._state_text()} FROM bench_spiff_state WHERE id = :id{lock}"),
                {"id": workflow_id},
            ).scalar_one()
            workflow = self.serializer.deserialize_json(raw)
            self._step(workflow, decision, expected_task)
            conn.execute(
                text(f"UPDATE bench_spiff_state SET state = {self._state_param()} WHERE id = :id"),
                {"id": workflow_id, "state": self.serializer.serialize_json(workflow)},
            )

    def finished(self, workflow_id: int) -> str | None:
        """The end event the stored workflow reached, or None if it is still running."""
        with self.engine.connect() as conn:
            raw = conn.execute(
                text(f"SELECT {self._state_text()} FROM bench_spiff_state WHERE id = :id"),
                {"id": workflow_id},
            ).scalar_one()
        workflow = self.serializer.deserialize_json(raw)
        if not workflow.is_completed():
            return None
        ends = [
            t.task_spec.bpmn_id
            for t in workflow.get_tasks(state=TaskState.COMPLETED)
            if t.task_spec.bpmn_id and t.task_spec.bpmn_id.startswith("end_")
        ]
        return ends[0] if ends else None
