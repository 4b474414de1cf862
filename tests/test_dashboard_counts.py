"""The dashboard's numbers are the database's: after many moves, API, pages and plain SQL agree."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text, update

from api.app import create_app
from tests.dashboard_seed import login, seed
from workflow import runtime
from workflow.accounts import Role
from workflow.clock import FrozenClock
from workflow.cycles.coordination import perform
from workflow.cycles.models import MeasureCycle
from workflow.cycles.queries import OVERDUE_STATES
from workflow.db import unit_of_work
from workflow.machine import State


def _sql_counts(database_url: str, year: int, today: date) -> dict[str, dict[str, int]]:
    """The same numbers, asked of the database directly in plain SQL."""
    engine = create_engine(database_url)
    base = (
        "FROM measure_cycle mc JOIN cycle c ON c.id = mc.cycle_id "
        "JOIN measure m ON m.id = mc.measure_id JOIN goal g ON g.id = m.goal_id "
        "WHERE c.year = :year"
    )
    states = ", ".join(f"'{s}'" for s in OVERDUE_STATES)
    queries = {
        "state": f"SELECT mc.state, COUNT(*) {base} GROUP BY mc.state",
        "field": f"SELECT g.field_id, COUNT(*) {base} GROUP BY g.field_id",
        "department": f"SELECT m.department_id, COUNT(*) {base} GROUP BY m.department_id",
        "overdue": (
            f"SELECT mc.escalation_level, COUNT(*) {base} AND mc.due_on < :today "
            f"AND mc.state IN ({states}) GROUP BY mc.escalation_level"
        ),
    }
    with engine.connect() as conn:
        out = {
            name: {
                str(k): int(n) for k, n in conn.execute(text(sql), {"year": year, "today": today})
            }
            for name, sql in queries.items()
        }
    engine.dispose()
    return out


# Each path is the list of events that leads a measure to where the test leaves it.
HELD_ON = "2026-03-02"  # the Erstgespräch has a date (required)
PATHS: list[list[tuple[str, dict[str, object]]]] = [
    [],
    [("record_interview", {"decision": "keep", "held_on": HELD_ON})],
    [("record_interview", {"decision": "adapt", "held_on": HELD_ON}), ("submit_agreement", {})],
    [
        ("record_interview", {"decision": "keep", "held_on": HELD_ON}),
        ("submit_agreement", {}),
        ("start_review", {}),
    ],
    [
        ("record_interview", {"decision": "keep", "held_on": HELD_ON}),
        ("submit_agreement", {}),
        ("start_review", {}),
        ("submit_review", {}),
    ],
    [
        ("record_interview", {"decision": "keep", "held_on": HELD_ON}),
        ("submit_agreement", {}),
        ("start_review", {}),
        ("submit_review", {}),
        ("accept_review", {}),
    ],
    [("defer", {"reason": "Personalwechsel"})],
    [("drop", {"reason": "Angebot eingestellt"})],
    [
        ("record_interview", {"decision": "keep", "held_on": HELD_ON}),
        ("submit_agreement", {}),
        ("complete", {"reason": "dauerhaft umgesetzt"}),
    ],
]


def _drive(rt: runtime.Runtime, clock: FrozenClock, item_ids: list[int]) -> None:
    """Moves every measure along a seeded random path, days apart, some escalated."""
    rng = random.Random(11)
    for item in item_ids:
        path = rng.choice(PATHS)
        for event, payload in path:
            clock.advance(timedelta(days=rng.randint(0, 9)))
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
        if rng.random() < 0.3:
            with unit_of_work(rt.sessions) as session:
                session.execute(
                    update(MeasureCycle)
                    .where(MeasureCycle.id == item)
                    .values(escalation_level=rng.randint(1, 2))
                )
    clock.advance(timedelta(days=45))  # long enough for some deadlines to pass


def test_pipeline_counts_equal_a_direct_sql_query(
    rt: runtime.Runtime, clock: FrozenClock, database_url: str
) -> None:
    s = seed(rt)
    _drive(rt, clock, s.item_ids)
    today = clock.now().astimezone(ZoneInfo("Europe/Berlin")).date()
    client = TestClient(create_app())
    login(client, Role.STEERING)
    api = client.get("/api/v1/pipeline").json()
    sql = _sql_counts(database_url, api["year"], today)

    assert {k: v for k, v in api["by_state"].items() if v} == sql["state"]
    assert len(sql["state"]) >= 6, f"the measures should be spread out: {sql['state']}"
    assert {str(g["id"]): g["total"] for g in api["by_field"]} == sql["field"]
    assert {str(g["id"]): g["total"] for g in api["by_department"]} == sql["department"]
    assert api["overdue_by_level"] == sql["overdue"]
    assert len(sql["overdue"]) >= 2, f"overdue on several levels: {sql['overdue']}"
    assert api["overdue_total"] == sum(sql["overdue"].values())
    assert api["total"] == sum(sql["state"].values()) == 36

    page = client.get("/pipeline").text
    shown = re.findall(
        r'data-state="(\w+)">\s*<h2>[^<]*<span class="count" data-count="(\d+)"', page
    )
    assert len(shown) == len(State)
    assert {k: int(v) for k, v in shown if int(v)} == sql["state"]
    assert client.get("/ueberfaellig").text.count('<tr class="level-') == api["overdue_total"]
    listed = client.get("/api/v1/measure-cycles", params={"overdue": True, "page_size": 200}).json()
    assert listed["total"] == api["overdue_total"]
