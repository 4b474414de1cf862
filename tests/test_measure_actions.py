"""The measure page offers exactly the moves the state machine allows, and each one works.

Derived from ``workflow.machine``: for every state a seeded measure can reach, the page's
action forms equal the machine's allowed events (plus reissuing the link where it applies).
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from tests.dashboard_seed import csrf_headers, login, seed
from workflow.accounts import Role
from workflow.cycles.coordination import can_reissue_link
from workflow.cycles.models import MeasureCycle
from workflow.db import unit_of_work
from workflow.machine import TRANSITIONS, Event, State, allowed_events
from workflow.runtime import Runtime
from workflow.transitions import apply_event

# A payload every guard of the machine accepts.
PASSING = {"decision": "keep", "reason": "Beschluss des Ausschusses", "comment": "Bitte ergänzen"}
_ACTION = re.compile(r'data-action="([a-z_]+)"')


def _paths(start: State) -> dict[State, list[Event]]:
    """The shortest sequence of events from ``start`` to every state reachable from it."""
    paths: dict[State, list[Event]] = {start: []}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for t in TRANSITIONS:
            if t.source is state and t.target not in paths:
                paths[t.target] = [*paths[state], t.event]
                queue.append(t.target)
    return paths


def _move(rt: Runtime, item_id: int, events: list[Event]) -> None:
    with unit_of_work(rt.sessions) as session:
        for event in events:
            payload: dict[str, Any] = dict(PASSING)
            apply_event(
                session=session,
                clock=rt.clock,
                measure_cycle_id=item_id,
                event=event.value,
                expected_version=None,
                actor="user:test",
                payload=payload,
            )


def _state(rt: Runtime, item_id: int) -> State:
    with unit_of_work(rt.sessions) as session:
        row = session.get(MeasureCycle, item_id)
        assert row is not None
        return State(row.state)


def test_page_offers_every_event_the_machine_allows(rt: Runtime) -> None:
    s = seed(rt)
    start = _state(rt, s.item_ids[0])
    targets = list(_paths(start).items())
    assert len(s.item_ids) >= len(targets)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    seen: set[State] = set()
    for item_id, (state, path) in zip(s.item_ids, targets, strict=False):
        assert _state(rt, item_id) is start
        _move(rt, item_id, path)
        assert _state(rt, item_id) is state
        page = client.get(f"/massnahmen/{item_id}")
        assert page.status_code == 200
        expected = {e.value for e in allowed_events(state)}
        if can_reissue_link(state.value):
            expected.add("reissue_link")
        assert set(_ACTION.findall(page.text)) == expected, state
        seen.add(state)
    assert State.IMPLEMENTATION in seen and State.REPLANNING in seen


def _post(client: TestClient, item_id: int, data: dict[str, str]) -> int:
    page = client.get(f"/massnahmen/{item_id}")
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version is not None
    response = client.post(
        f"/massnahmen/{item_id}/aktion",
        data={"version": version[1], **data},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    return response.status_code


def test_newly_offered_events_move_the_measure(rt: Runtime) -> None:
    s = seed(rt)
    start = _state(rt, s.item_ids[0])
    to_implementation = _paths(start)[State.IMPLEMENTATION]
    first, second = s.item_ids[0], s.item_ids[1]
    _move(rt, first, to_implementation)
    _move(rt, second, to_implementation)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)

    assert _post(client, first, {"action": "start_review"}) == 303
    assert _state(rt, first) is State.REVIEW

    # completing needs a reason: without one the page says so and nothing moves
    assert _post(client, second, {"action": "complete"}) == 409
    assert _state(rt, second) is State.IMPLEMENTATION
    assert _post(client, second, {"action": "complete", "reason": "Ziel erreicht"}) == 303
    assert _state(rt, second) is State.COMPLETED
