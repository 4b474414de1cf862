"""The simulated people of ``zielflow simulate`` read once a day and answer in batches: their
reads do not grow with the number of measures, and a day's answers share a transaction while
each still goes through the real service."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from tests.conftest import EXAMPLES
from workflow import runtime
from workflow.clock import FrozenClock
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import AuditEvent, Interview, MeasureCycle
from workflow.cycles.service import open_cycle
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar
from workflow.machine import State
from workflow.simulate import COORDINATOR, People, _act, _set_up
from workflow.simulate_organisations import organisation_plans


def _opened(rt: runtime.Runtime, clock: FrozenClock, tmp_path: Path) -> BusinessCalendar:
    plan = organisation_plans("simulation", 1, EXAMPLES / "catalogue.csv", tmp_path)[0]
    with unit_of_work(rt.sessions) as s:
        org = _set_up(s, plan, "NW")
        cal = calendar_of(org)
        open_cycle(session=s, clock=clock, organisation_id=org.id, year=2026, actor=COORDINATOR)
    return cal


@contextmanager
def _counted() -> Iterator[dict[str, int]]:
    seen = {"reads": 0, "commits": 0}

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        # SQLite's BEGIN is a statement of its own, psycopg's is not: count the reads.
        seen["reads"] += sql.lstrip().upper().startswith("SELECT")

    def commit(*_: Any) -> None:
        seen["commits"] += 1

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", statement)
        event.remove(Engine, "commit", commit)


def _in_interview(rt: runtime.Runtime) -> int:
    with rt.sessions() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(MeasureCycle)
                .where(MeasureCycle.state == State.INITIAL_INTERVIEW.value)
            )
            or 0
        )


def test_a_quiet_day_costs_three_reads_whatever_the_catalogue(
    rt: runtime.Runtime, clock: FrozenClock, tmp_path: Path
) -> None:
    cal = _opened(rt, clock, tmp_path)
    day = cal.local_date(clock.now())
    assert _in_interview(rt) == 36
    # Nobody holds an Erstgespräch on the day the cycle opens: the people only read.
    with _counted() as seen:
        _act(rt, clock, People(random.Random(1)), cal, day)
    assert seen == {"reads": 3, "commits": 0}


def test_a_days_answers_share_one_transaction_through_the_service(
    rt: runtime.Runtime, clock: FrozenClock, tmp_path: Path
) -> None:
    cal = _opened(rt, clock, tmp_path)
    people = People(random.Random(1))
    day = cal.local_date(clock.now())
    _act(rt, clock, people, cal, day)  # draws each stay's interview day
    later = day + timedelta(days=60)  # every Erstgespräch is due by then (3 to 45 days)
    clock.set(cal.at_local(later, 11))
    with _counted() as seen:
        _act(rt, clock, people, cal, later)
    assert _in_interview(rt) == 0
    assert seen["commits"] == 1
    with rt.sessions() as s:
        interviews = s.scalar(select(func.count()).select_from(Interview))
        moves = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.from_state == State.INITIAL_INTERVIEW.value)
        )
    assert interviews == moves == 36
