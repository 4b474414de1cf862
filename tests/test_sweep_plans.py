"""Two passes of the sweep that usually find nothing find it through an index: the carrying of
Neuplanung stays into a later cycle and the milestones' catch-up. Both run every few minutes,
so a read of every stay would grow with all stays of all years (on SQLite it did: 12 and
9 ms at 100,000 stays).

The plans are read with the planners' own EXPLAIN (tests/query_plans.py), on PostgreSQL with
sequential scans turned off, so the plan shows whether an index can serve the statement at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests import factories
from tests.query_plans import SCANS, postgresql_plan, sqlite_plan, statements
from workflow.clock import FrozenClock
from workflow.cycles.carry import _claim_carriable
from workflow.cycles.service import open_cycle
from workflow.db import unit_of_work
from workflow.milestones.sync import backfill
from workflow.runtime import Runtime

# The partial indexes that hold only the stays each pass looks for.
PARTIAL = ("ix_measure_cycle_replanning", "ix_measure_cycle_implementation")


def _walks_every_stay(detail: str) -> bool:
    """An SQLite plan line that reads the stays from one end (a scan, or a range of the key
    from its first value) other than through a partial index."""
    whole = detail == "SCAN measure_cycle" or detail.startswith("SCAN measure_cycle ")
    key_range = detail.startswith("SEARCH measure_cycle ") and "(rowid>?)" in detail
    return (whole or key_range) and not any(index in detail for index in PARTIAL)


def _reads_of_every_stay(s: Session, statement: str, parameters: Any) -> list[str]:
    """The parts of the plan that walk the stays without a condition or a partial index."""
    if s.connection().dialect.name == "sqlite":
        return [line for line in sqlite_plan(s, statement, parameters) if _walks_every_stay(line)]
    bad = []
    for node in postgresql_plan(s, statement, parameters):
        index = node.get("Index Name", "")
        if node.get("Relation Name") != "measure_cycle" or node["Node Type"] not in SCANS:
            continue
        if node["Node Type"] == "Seq Scan":
            bad.append("Seq Scan on measure_cycle")
        elif index not in PARTIAL and "Index Cond" not in node:
            bad.append(f"{node['Node Type']} using {index} without a condition")
        elif index == "measure_cycle_pkey" and "id >" in node.get("Index Cond", ""):
            bad.append(f"{node['Node Type']} using {index} over every stay from the first")
    return bad


# SQLite's statistics after ANALYZE of the sweep benchmark's database with 100,000 stays of
# one organisation (bench/sweep.py): SQLite plans by them, and at 300 stays it plans
# otherwise than at 100,000.
LARGE = (
    ("measure", "ix_measure_contact_id", "100000 334"),
    ("measure", "ix_measure_department_id", "100000 3334"),
    ("measure", "ix_measure_goal_id", "100000 5000"),
    ("measure", "ix_measure_organisation_id", "100000 100000"),
    ("measure", "sqlite_autoindex_measure_1", "100000 100000 1"),
    ("measure_cycle", "ix_measure_cycle_cycle_id", "100000 100000"),
    ("measure_cycle", "ix_measure_cycle_measure_id", "100000 1"),
    ("measure_cycle", "ix_measure_cycle_next_action_at", "100000 5883"),
    ("measure_cycle", "ix_measure_cycle_org_code", "100000 100000 1 1"),
    ("measure_cycle", "ix_measure_cycle_org_state", "100000 100000 100000"),
    ("measure_cycle", "sqlite_autoindex_measure_cycle_1", "100000 100000 1"),
)


def _statistics_of_a_large_installation(s: Session) -> None:
    connection = s.connection()
    connection.exec_driver_sql("ANALYZE")
    if connection.dialect.name != "sqlite":
        return
    connection.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl IN ('measure', 'measure_cycle')")
    for row in LARGE:
        connection.exec_driver_sql(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", row
        )
    connection.exec_driver_sql("ANALYZE sqlite_schema")  # reads the statistics anew


PASSES: dict[str, Callable[[Session, FrozenClock], object]] = {
    "carrying Neuplanung stays": lambda s, _clock: _claim_carriable(s, 500),
    "the milestones' catch-up": lambda s, clock: backfill(s, now=clock.now()),
}


@pytest.mark.parametrize("sweep_pass", list(PASSES))
def test_a_pass_that_finds_nothing_does_not_read_every_stay(
    rt: Runtime, clock: FrozenClock, sweep_pass: str
) -> None:
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        factories.measures(s, org, 300)
        open_cycle(session=s, clock=clock, organisation_id=org.id, year=clock.now().year)
    with rt.sessions() as s:
        _statistics_of_a_large_installation(s)
        with statements(s) as seen:
            PASSES[sweep_pass](s, clock)
        reads = [(q, p) for q, p in seen if "measure_cycle" in q]
        assert reads
        for statement, parameters in reads:
            assert _reads_of_every_stay(s, statement, parameters) == [], statement
        s.rollback()


def _agreement_reads(s: Session, statement: str, parameters: Any) -> list[str]:
    """How the plan reads the agreements: SQLite's lines, or PostgreSQL's scan nodes."""
    if s.connection().dialect.name == "sqlite":
        return [
            line for line in sqlite_plan(s, statement, parameters) if "target_agreement" in line
        ]
    return [
        f"{node['Node Type']} using {node.get('Index Name', '')}"
        for node in postgresql_plan(s, statement, parameters)
        if node.get("Relation Name") == "target_agreement" and node["Node Type"] in SCANS
    ]


@pytest.mark.parametrize("state", ["implementation", "review"])
def test_the_catch_up_reads_only_the_agreements_not_yet_synced(
    rt: Runtime, clock: FrozenClock, state: str
) -> None:
    """Every stay in Umsetzung (or past it) with an agreement the catch-up owes nothing: it
    finds nothing, through the partial index of the unmarked agreements, not the stays."""
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        factories.measures(s, org, 300)
        open_cycle(session=s, clock=clock, organisation_id=org.id, year=clock.now().year)
        connection = s.connection()
        connection.exec_driver_sql(f"UPDATE measure_cycle SET state = '{state}'")
        connection.exec_driver_sql(
            "INSERT INTO target_agreement (measure_cycle_id, decision, reason, targets,"
            " milestones, indicator_targets, responsible, resources, submitted_by,"
            " milestones_synced)"
            " SELECT id, 'implement', '', '', '[]', '{}', '', '', '', "
            + ("1" if connection.dialect.name == "sqlite" else "true")
            + " FROM measure_cycle"
        )
    with rt.sessions() as s:
        s.connection().exec_driver_sql("ANALYZE")
        with statements(s) as seen:
            assert backfill(s, now=clock.now()) == 0
        reads = [(q, p) for q, p in seen if "target_agreement" in q]
        assert len(reads) == 1  # the page of unmarked agreements, found empty
        for statement, parameters in reads:
            plan = _agreement_reads(s, statement, parameters)
            assert plan, statement
            assert all("ix_target_agreement_milestones_unsynced" in line for line in plan), plan
        s.rollback()
