"""The pipeline's counts table stays equal to a full count of the stays, whatever writes them.

Triggers keep it (revision 0012); these tests change stays every way the product does (open
a cycle, coordinator events, the sweep's escalation, a measure moved to another department
or goal, a cycle deleted) and from several processes at once, and then compare with a full
GROUP BY (``pipeline_store.check``), and the pipeline read from the table with the pipeline
counted from every stay. ``zielflow db check`` finds a damaged count and rebuilds it.
"""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.dashboard_seed import seed
from tests.test_migration_upgrade import empty_url, filled_then_upgraded
from workflow import runtime
from workflow.catalogue.models import Department, Goal, Measure
from workflow.cli import app
from workflow.clock import FrozenClock
from workflow.config import Settings
from workflow.cycles import pipeline_store, queries
from workflow.cycles.coordination import perform
from workflow.cycles.models import Cycle, MeasureCycle, PipelineCount, PipelineCountChange
from workflow.cycles.removal import delete_empty_cycle
from workflow.cycles.service import open_cycle
from workflow.db import unit_of_work
from workflow.sweep import run_sweep

__all__ = ["empty_url"]  # the fixture of the migration tests: an empty database of each kind

BERLIN = ZoneInfo("Europe/Berlin")
HELD_ON = "2026-03-02"
# One step of each kind a coordinator takes; many are refused in the state a stay is in,
# which is part of the load: a refused event must not change a count either.
EVENTS: list[tuple[str, dict[str, object]]] = [
    ("record_interview", {"decision": "keep", "held_on": HELD_ON}),
    ("submit_agreement", {}),
    ("start_review", {}),
    ("submit_review", {}),
    ("accept_review", {}),
    ("send_back", {"reason": "bitte ergänzen"}),
    ("extend_deadline", {"reason": "Urlaubszeit", "due_on": "2026-09-30"}),
    ("defer", {"reason": "Personalwechsel"}),
    ("complete", {"reason": "dauerhaft umgesetzt"}),
]
# What a refused or conflicting event raises; anything else is a defect.
EXPECTED_REFUSALS = {"MoveRefused", "VersionConflict", "PayloadInvalid", "FieldInvalid"}


# Without the ends (zurückstellen, abschließen), so the stays of the concurrent test keep moving.
MOVING = [e for e in EVENTS if e[0] not in ("defer", "complete")]


def _try(
    rt: runtime.Runtime,
    clock: FrozenClock,
    item: int,
    rng: random.Random,
    events: list[tuple[str, dict[str, object]]] = EVENTS,
) -> str:
    event, payload = rng.choice(events)
    try:
        with unit_of_work(rt.sessions) as session:
            perform(
                session=session,
                clock=clock,
                measure_cycle_id=item,
                event=event,
                expected_version=None,
                actor="test",
                payload=payload,
            )
    except Exception as exc:  # classified by the caller
        name = type(exc).__name__
        return name if name in EXPECTED_REFUSALS else f"{name}: {str(exc)[:200]}"
    return "moved"


def _scanned_equals_counted(rt: runtime.Runtime, cycle_id: int, today: date) -> None:
    """The pipeline's groups read from the counts table equal those counted from every stay."""
    with unit_of_work(rt.sessions) as session:
        cycle = session.get_one(Cycle, cycle_id)
        earlier = queries.earlier_cycle_ids(session, cycle)
        department_id = session.scalar(select(func.min(Department.id)))
        field_id = session.scalar(select(func.min(Goal.field_id)))
        filters = [
            queries.ItemFilter(),
            queries.ItemFilter(department_id=department_id),
            queries.ItemFilter(field_id=field_id),
            queries.ItemFilter(goal_rank=1),
            queries.ItemFilter(states=("implementation", "review")),
            queries.ItemFilter(escalation_level=1),
        ]
        for f in filters:
            scanned = Counter[tuple[Any, ...]]()
            for *group, n in session.execute(queries._scanned_groups(cycle_id, f, today)):
                scanned[tuple(group)] += int(n)
            counted = Counter[tuple[Any, ...]]()
            for *group, n in session.execute(queries._counted_groups(cycle_id, f, today, earlier)):
                if int(n):
                    counted[tuple(group)] += int(n)
            assert counted == scanned, f
        assert sum(scanned.values()) > 0
        # A list's total is summed from the table too: equal to counting its rows.
        with_overdue = [
            queries.ItemFilter(overdue=True),
            queries.ItemFilter(overdue=False),
            queries.ItemFilter(states=("target_agreement", "review"), overdue=True),
            queries.ItemFilter(field_id=field_id, goal_rank=1, overdue=False),
            queries.ItemFilter(department_id=department_id, escalation_level=1, overdue=True),
        ]
        for f in [*filters, *with_overdue]:
            rows = session.scalar(
                queries._filtered(
                    queries._joined(select(func.count(MeasureCycle.id))), cycle_id, f, today
                )
            )
            assert queries.count_items(session, cycle_id=cycle_id, today=today, f=f) == rows, f


def test_counts_follow_every_kind_of_change(rt: runtime.Runtime, clock: FrozenClock) -> None:
    s = seed(rt)
    with unit_of_work(rt.sessions) as session:
        assert pipeline_store.check(session) == []  # opening the cycle counted every stay
    rng = random.Random(5)
    outcomes = Counter(_try(rt, clock, rng.choice(s.item_ids), rng) for _ in range(400))
    assert outcomes["moved"] >= 60, outcomes
    assert set(outcomes) - {"moved"} <= EXPECTED_REFUSALS, outcomes
    with unit_of_work(rt.sessions) as session:
        assert pipeline_store.check(session) == []
        # The sweep's escalations change levels; a measure moves to another department and goal.
        session.execute(
            update(MeasureCycle)
            .where(MeasureCycle.id.in_(s.item_ids[:5]))
            .values(escalation_level=MeasureCycle.escalation_level + 1)
        )
        departments = session.scalars(select(Department.id)).all()
        goals = session.scalars(select(Goal.id)).all()
        measure_ids = session.scalars(
            select(MeasureCycle.measure_id).where(MeasureCycle.id.in_(s.item_ids[5:9]))
        ).all()
        for i, measure_id in enumerate(measure_ids):
            session.execute(
                update(Measure)
                .where(Measure.id == measure_id)
                .values(department_id=departments[i % len(departments)], goal_id=goals[-1 - i])
            )
        assert pipeline_store.check(session) == []
        assert (session.scalar(select(func.count()).select_from(PipelineCountChange)) or 0) > 0
    clock.advance(timedelta(days=60))  # deadlines pass: the sweep reminds and escalates
    report = run_sweep(sessions=rt.sessions, clock=clock)
    assert report.escalations + report.reminders > 0
    with unit_of_work(rt.sessions) as session:
        # The sweep folded: no change row is left, the counts table alone holds the numbers.
        assert session.scalar(select(func.count()).select_from(PipelineCountChange)) == 0
        assert session.scalar(select(func.sum(PipelineCount.n))) == len(s.item_ids)
        assert pipeline_store.check(session) == []
        assert (session.scalar(select(func.max(MeasureCycle.escalation_level))) or 0) >= 1
    today = clock.now().astimezone(BERLIN).date()
    _scanned_equals_counted(rt, s.cycle_id, today)
    # A cycle opened by mistake and deleted again leaves no count behind.
    with unit_of_work(rt.sessions) as session:
        opened = open_cycle(
            session=session, clock=clock, organisation_id=s.organisation_id, year=2027
        )
    # The new cycle's view holds its own stays and the open ones of 2026.
    _scanned_equals_counted(rt, opened.cycle_id, today)
    with unit_of_work(rt.sessions) as session:
        assert pipeline_store.check(session) == []
        delete_empty_cycle(session=session, cycle_id=opened.cycle_id, actor="test", now=clock.now())
    with unit_of_work(rt.sessions) as session:
        assert pipeline_store.check(session) == []
        pipeline_store.fold(session)
    with unit_of_work(rt.sessions) as session:
        kept_cycles = set(session.scalars(select(PipelineCount.cycle_id)))
        assert kept_cycles == {s.cycle_id}
        assert pipeline_store.check(session) == []


def test_db_check_names_a_damaged_count_and_repair_rebuilds_it(
    rt: runtime.Runtime, clock: FrozenClock, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = seed(rt)
    monkeypatch.setenv("ZIELFLOW_DATABASE_URL", database_url)
    runner = CliRunner()
    ok = runner.invoke(app, ["db", "check"])
    assert ok.exit_code == 0, ok.output
    assert "Die Zählungen des Verfahrensstands stimmen mit den Maßnahmen überein." in ok.output
    with unit_of_work(rt.sessions) as session:
        pipeline_store.fold(session)
        session.execute(
            text(
                "UPDATE pipeline_count SET n = n + 2 WHERE cycle_id = :c AND goal_id = "
                "(SELECT min(goal_id) FROM pipeline_count WHERE cycle_id = :c)"
            ),
            {"c": s.cycle_id},
        )
        damaged = session.execute(
            select(PipelineCount.goal_id, PipelineCount.due_by, PipelineCount.n).where(
                PipelineCount.goal_id == select(func.min(PipelineCount.goal_id)).scalar_subquery()
            )
        ).first()
    assert damaged is not None
    found = runner.invoke(app, ["db", "check"])
    assert found.exit_code == 1
    assert "weich" in found.output and "von den Maßnahmen ab:" in found.output
    assert f"Ziel-ID {damaged.goal_id}," in found.output
    assert f"geführt {damaged.n}, gezählt {damaged.n - 2}" in found.output
    assert "zielflow db check --repair" in found.output
    repaired = runner.invoke(app, ["db", "check", "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert "richtiggestellt" in repaired.output
    again = runner.invoke(app, ["db", "check"])
    assert again.exit_code == 0 and "stimmen" in again.output
    with unit_of_work(rt.sessions) as session:
        assert session.scalar(select(func.sum(PipelineCount.n))) == len(s.item_ids)
        assert session.scalar(select(func.count()).select_from(PipelineCountChange)) == 0


# -- several processes at once ---------------------------------------------------------------

PROCESSES = 4
STEPS_PER_PROCESS = 120


def _hammer(
    url: str, var_dir: str, items: list[int], measures: list[int], seed_: int
) -> Counter[str]:
    """One process's share: coordinator events, escalations, department moves and folds."""
    clock = FrozenClock(datetime(2026, 3, 20, 10, 0, tzinfo=BERLIN))
    rt = runtime.build(Settings(database_url=url, var_dir=Path(var_dir), environment="test"), clock)
    rng = random.Random(seed_)
    out: Counter[str] = Counter()
    for _ in range(STEPS_PER_PROCESS):
        roll = rng.random()
        try:
            if roll < 0.7:
                out[_try(rt, clock, rng.choice(items), rng, MOVING)] += 1
                continue
            with unit_of_work(rt.sessions) as session:
                if roll < 0.85:
                    session.execute(
                        update(MeasureCycle)
                        .where(MeasureCycle.id == rng.choice(items))
                        .values(escalation_level=rng.randint(0, 2))
                    )
                    out["escalated"] += 1
                elif roll < 0.95:
                    departments = session.scalars(select(Department.id)).all()
                    session.execute(
                        update(Measure)
                        .where(Measure.id == rng.choice(measures))
                        .values(department_id=rng.choice(departments))
                    )
                    out["department"] += 1
                else:
                    pipeline_store.fold(session)
                    out["folded"] += 1
        except OperationalError as exc:  # SQLite: the writer lock was busy too long
            out[f"OperationalError: {str(exc.orig)[:60]}"] += 1
    rt.engine.dispose()
    return out


def test_counts_stay_exact_under_concurrent_writers(
    rt: runtime.Runtime, database_url: str, tmp_path: Path
) -> None:
    s = seed(rt)
    with unit_of_work(rt.sessions) as session:
        measures = list(
            session.scalars(select(MeasureCycle.measure_id).where(MeasureCycle.id.in_(s.item_ids)))
        )
    # Few stays, so processes meet on the same rows and the same counts.
    items = s.item_ids[:12]
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        shares = pool.starmap(
            _hammer,
            [
                (database_url, str(tmp_path / f"var{i}"), items, measures[:12], 100 + i)
                for i in range(PROCESSES)
            ],
        )
    done = sum(shares, Counter[str]())
    assert done["moved"] >= 40, done
    assert done["escalated"] + done["department"] >= 40, done
    unexpected = {
        k: v
        for k, v in done.items()
        if k not in EXPECTED_REFUSALS | {"moved", "escalated", "department", "folded"}
        and not (k.startswith("OperationalError: database is locked") and "sqlite" in database_url)
    }
    assert unexpected == {}, done
    with unit_of_work(rt.sessions) as session:
        assert pipeline_store.check(session) == [], done
        assert session.scalar(select(func.count()).select_from(MeasureCycle).join(Cycle)) == sum(
            session.scalars(select(PipelineCount.n))
        ) + sum(session.scalars(select(PipelineCountChange.n)))


def test_the_revision_counts_the_stays_already_there(empty_url: str) -> None:
    with filled_then_upgraded(empty_url, "0011") as (engine, counts), Session(engine) as session:
        stays = counts["measure_cycle"]
        assert pipeline_store.check(session) == []
        assert stays and session.scalar(select(func.sum(PipelineCount.n))) == stays
