"""One meaning of "overdue" in every view: the due day has passed and someone owes the step.

A stay in its twelve months of implementation whose due day has passed (the sweep moves it to
the review on that day) is late for nobody: the pipeline, the overdue list, the district view
and the reports leave it out alike, and count a missing Zielvereinbarung past its day.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from tests.dashboard_seed import seed
from workflow.clock import FrozenClock
from workflow.cycles.coordination import perform
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.cycles.queries import overdue_items
from workflow.db import unit_of_work
from workflow.district.rollup import counts_of
from workflow.machine import State
from workflow.orgs import resolve_organisation
from workflow.reports.pending import late_items
from workflow.runtime import Runtime

HELD_ON = "2026-03-02"


def _move(rt: Runtime, clock: FrozenClock, item: int, events: list[str]) -> None:
    payloads = {"record_interview": {"decision": "keep", "held_on": HELD_ON}}
    for event in events:
        with unit_of_work(rt.sessions) as session:
            perform(
                session=session,
                clock=clock,
                measure_cycle_id=item,
                event=event,
                expected_version=None,
                actor="test",
                payload=payloads.get(event, {}),
            )


def test_implementation_past_its_day_is_overdue_nowhere(rt: Runtime, clock: FrozenClock) -> None:
    s = seed(rt)
    running, asked = s.item_ids[0], s.item_ids[1]
    _move(rt, clock, running, ["record_interview", "submit_agreement"])
    _move(rt, clock, asked, ["record_interview"])
    today = clock.now().date()
    with unit_of_work(rt.sessions) as session:
        rows = session.execute(
            select(MeasureCycle.id, MeasureCycle.state).where(MeasureCycle.id.in_([running, asked]))
        )
        states = {item: state for item, state in rows}
        assert states == {running: State.IMPLEMENTATION.value, asked: State.TARGET_AGREEMENT.value}
        # Both past their day, as before a sweep has run.
        session.execute(
            update(MeasureCycle)
            .where(MeasureCycle.id.in_([running, asked]))
            .values(due_on=today - timedelta(days=3))
        )

    with unit_of_work(rt.sessions) as session:
        cycle = session.get_one(Cycle, s.cycle_id)
        org = resolve_organisation(session, "musterstadt")
        listed = {o.item.id for o in overdue_items(session, cycle_id=s.cycle_id, today=today)}
        late = {item.code for item in late_items(session, cycle, today)}
        code_rows = session.execute(
            select(MeasureCycle.id, MeasureCycle.measure_code).where(
                MeasureCycle.id.in_([running, asked])
            )
        )
        codes = {item: code for item, code in code_rows}
        counts = counts_of(session, org, cycle.year, clock.now())

    assert listed == {asked}
    assert late == {codes[asked]}
    assert counts is not None and counts.overdue_total == 1
