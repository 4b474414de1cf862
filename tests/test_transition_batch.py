"""POST /api/v1/measure-cycles/transitions: many moves in one transaction, all or none.

Mounted here after every other route (the worst order) until api/routes/__init__.py has it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import schemathesis
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from sqlalchemy import func, select

from api.app import create_app
from api.deps import organisation_words
from api.routes import measure_cycle_batch
from notifications.models import OutboxMessage
from tests.dashboard_seed import Seed, bearer, seed
from workflow.accounts import Role
from workflow.cycles.models import AuditEvent, Interview, MeasureCycle
from workflow.runtime import Runtime

URL = "/api/v1/measure-cycles/transitions"
HELD_ON = "2026-03-02"
KEEP = {"event": "record_interview", "payload": {"decision": "keep", "held_on": HELD_ON}}


def _app() -> FastAPI:
    app = create_app()
    app.include_router(
        measure_cycle_batch.router,
        dependencies=[Depends(organisation_words, scope="function")],
    )
    return app


def _client(rt: Runtime) -> tuple[TestClient, Seed, dict[str, str]]:
    s = seed(rt)
    return TestClient(_app()), s, bearer(s, Role.COORDINATOR)


def _snapshot(rt: Runtime, ids: list[int]) -> dict[str, Any]:
    with rt.sessions() as session:
        return {
            "items": sorted(
                tuple(row)
                for row in session.execute(
                    select(MeasureCycle.id, MeasureCycle.state, MeasureCycle.version).where(
                        MeasureCycle.id.in_(ids)
                    )
                )
            ),
            "audit": session.scalar(select(func.count(AuditEvent.id))),
            "outbox": session.scalar(select(func.count(OutboxMessage.id))),
            "interviews": session.scalar(select(func.count(Interview.id))),
        }


def _written(rt: Runtime, item: int) -> tuple[list[str], list[str]]:
    """The audit events and outbox kinds of one item, without the cycle's opening."""
    with rt.sessions() as session:
        audit = session.scalars(
            select(AuditEvent.event)
            .where(AuditEvent.measure_cycle_id == item, AuditEvent.event != "open_cycle")
            .order_by(AuditEvent.id)
        ).all()
        kinds = session.scalars(
            select(OutboxMessage.kind)
            .where(OutboxMessage.measure_cycle_id == item)
            .order_by(OutboxMessage.kind)
        ).all()
    return list(audit), list(kinds)


def test_a_good_batch_writes_what_single_calls_write(rt: Runtime) -> None:
    client, s, h = _client(rt)
    batch, single = s.item_ids[:3], s.item_ids[3:6]
    answer = client.post(
        URL, json={"items": [{"id": i, "version": 1, **KEEP} for i in batch]}, headers=h
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"] == [
        {"id": i, "state": "target_agreement", "state_label": "Zielvereinbarung", "version": 2}
        for i in batch
    ]
    for i in single:
        one = client.post(
            f"/api/v1/measure-cycles/{i}/transitions", json={"version": 1, **KEEP}, headers=h
        )
        assert one.status_code == 200, one.text
    for b, o in zip(batch, single, strict=True):
        assert _written(rt, b) == _written(rt, o)
        audit, kinds = _written(rt, b)
        assert audit == ["record_interview"] and kinds
    assert _snapshot(rt, batch)["interviews"] == 6


def test_one_illegal_item_changes_nothing_and_is_named(rt: Runtime) -> None:
    client, s, h = _client(rt)
    ids = s.item_ids[:3]
    before = _snapshot(rt, ids)
    items = [
        {"id": ids[0], "version": 1, **KEEP},
        {"id": ids[1], "version": 1, "event": "accept_review"},
        {"id": ids[2], "version": 1, **KEEP},
        {"id": 999_999, "version": 1, **KEEP},
    ]
    answer = client.post(URL, json={"items": items}, headers=h)
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["code"] == "batch_refused"
    assert "nichts übernommen" in error["message"] and "2 Änderungen" in error["message"]
    illegal, missing = error["details"]["items"]
    assert (illegal["index"], illegal["id"], illegal["status"]) == (1, ids[1], 409)
    assert illegal["code"] == "move_refused" and "nicht erlaubt" in illegal["message"]
    assert "record_interview" in illegal["details"]["allowed_events"]
    assert (missing["index"], missing["id"], missing["code"]) == (3, 999_999, "not_found")
    assert _snapshot(rt, ids) == before

    english = client.post(URL, json={"items": items}, headers={**h, "Accept-Language": "en"})
    assert "not allowed" in english.json()["error"]["details"]["items"][0]["message"]


def test_a_stale_version_refuses_the_batch(rt: Runtime) -> None:
    client, s, h = _client(rt)
    first, second = s.item_ids[:2]
    moved = client.post(
        f"/api/v1/measure-cycles/{first}/transitions", json={"version": 1, **KEEP}, headers=h
    )
    assert moved.status_code == 200
    before = _snapshot(rt, [first, second])
    stale = [
        {"id": second, "version": 1, **KEEP},
        {"id": first, "version": 1, "event": "defer", "payload": {"reason": "später"}},
    ]
    answer = client.post(URL, json={"items": stale}, headers=h)
    assert answer.status_code == 409, answer.text
    [conflict] = answer.json()["error"]["details"]["items"]
    assert (conflict["index"], conflict["code"]) == (1, "version_conflict")
    assert conflict["details"]["current_version"] == 2
    assert "defer" in conflict["details"]["allowed_events"]
    assert _snapshot(rt, [first, second]) == before


def test_malformed_batches_are_422_and_steering_may_not(rt_sqlite: Runtime) -> None:
    client, s, h = _client(rt_sqlite)
    one = {"id": s.item_ids[0], "version": 1, **KEEP}
    before = _snapshot(rt_sqlite, [s.item_ids[0]])
    bodies: list[dict[str, Any]] = [
        {"items": []},
        {"items": [one] * 501},
        {"items": [one, one]},
        {"items": [{**one, "expected": 1}]},
    ]
    for body in bodies:
        answer = client.post(URL, json=body, headers=h)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error"]["code"] == "validation_error"
    steering = client.post(URL, json={"items": [one]}, headers=bearer(s, Role.STEERING))
    assert steering.status_code == 403
    assert _snapshot(rt_sqlite, [s.item_ids[0]]) == before


def test_the_batch_route_has_no_server_error(rt_sqlite: Runtime) -> None:
    s = seed(rt_sqlite)
    headers = bearer(s, Role.ADMIN)
    schema = schemathesis.openapi.from_asgi("/openapi.json", _app())
    mine = {("post", URL), ("get", "/api/v1/measure-cycles")}
    every = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
    operations = [op for op in every if (op.method, op.path) in mine]
    assert len(operations) == 2
    server_errors: list[str] = []
    statuses: Counter[int] = Counter()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=30,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                response = case.call(headers=headers)
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    server_errors.append(f"{case.method} {case.body!r} -> {response.text[:200]}")

            run()
    assert server_errors == []
    assert {200, 422} <= set(statuses)
