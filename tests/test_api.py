"""The JSON API on real databases: filters and pages, moves and their 409s, the error shape."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from api.app import create_app
from notifications.models import OutboxMessage
from tests.dashboard_seed import Seed, bearer, seed
from workflow.accounts import Role
from workflow.clock import FrozenClock
from workflow.cycles.models import MeasureCycle, Review
from workflow.db import unit_of_work
from workflow.runtime import Runtime

HELD_ON = "2026-03-02"  # the Erstgespräch's date, required since issue 13


def _client(rt: Runtime) -> tuple[TestClient, Seed, dict[str, str]]:
    s = seed(rt)
    return TestClient(create_app()), s, bearer(s, Role.COORDINATOR)


def _assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def _move(client: TestClient, h: dict[str, str], item: int, event: str, **payload: Any) -> Any:
    version = client.get(f"/api/v1/measure-cycles/{item}", headers=h).json()["version"]
    return client.post(
        f"/api/v1/measure-cycles/{item}/transitions",
        json={"event": event, "version": version, "payload": payload},
        headers=h,
    )


def test_filters_and_pagination(rt: Runtime, clock: FrozenClock) -> None:
    client, s, h = _client(rt)
    first = client.get("/api/v1/measure-cycles", params={"page_size": 10}, headers=h).json()
    assert (first["total"], len(first["items"]), first["page"]) == (36, 10, 1)
    last = client.get("/api/v1/measure-cycles", params={"page_size": 10, "page": 4}, headers=h)
    assert len(last.json()["items"]) == 6
    every = [
        i["id"]
        for page in range(1, 5)
        for i in client.get(
            "/api/v1/measure-cycles", params={"page_size": 10, "page": page}, headers=h
        ).json()["items"]
    ]
    assert sorted(every) == sorted(s.item_ids)  # no item twice, none missing

    for item in s.item_ids[:3]:
        moved = _move(client, h, item, "record_interview", decision="keep", held_on=HELD_ON)
        assert moved.status_code == 200
    listed = client.get(
        "/api/v1/measure-cycles", params={"state": "target_agreement"}, headers=h
    ).json()
    assert sorted(i["id"] for i in listed["items"]) == s.item_ids[:3]
    both = client.get(
        "/api/v1/measure-cycles",
        params=[("state", "target_agreement"), ("state", "initial_interview")],
        headers=h,
    ).json()
    assert both["total"] == 36

    fields = client.get("/api/v1/fields", headers=h).json()
    field_b = next(f for f in fields if f["code"] == "B")
    in_b = client.get(
        "/api/v1/measure-cycles", params={"field_id": field_b["id"], "page_size": 200}, headers=h
    ).json()
    assert in_b["total"] > 0 and all(i["field_code"] == "B" for i in in_b["items"])
    rank2 = client.get("/api/v1/measure-cycles", params={"goal_rank": 2}, headers=h).json()
    assert all(i["goal_rank"] == 2 for i in rank2["items"])
    dept = first["items"][0]["department_id"]
    by_dept = client.get("/api/v1/measure-cycles", params={"department_id": dept}, headers=h)
    assert all(i["department_id"] == dept for i in by_dept.json()["items"])

    # Nothing is overdue yet. 50 days on, the Zielvereinbarung (42 days) is late and the
    # Erstgespräch (56 days) is not.
    assert (
        client.get("/api/v1/measure-cycles", params={"overdue": True}, headers=h).json()["total"]
        == 0
    )
    clock.advance(timedelta(days=50))
    with unit_of_work(rt.sessions) as session:
        session.execute(
            update(MeasureCycle).where(MeasureCycle.id == s.item_ids[0]).values(escalation_level=2)
        )
    late = client.get("/api/v1/measure-cycles", params={"overdue": True}, headers=h).json()
    assert sorted(i["id"] for i in late["items"]) == s.item_ids[:3]
    assert all(i["overdue"] and i["days_overdue"] > 0 for i in late["items"])
    on_time = client.get("/api/v1/measure-cycles", params={"overdue": False}, headers=h).json()
    assert on_time["total"] == 33
    level2 = client.get(
        "/api/v1/measure-cycles", params={"escalation_level": 2, "overdue": True}, headers=h
    ).json()
    assert [i["id"] for i in level2["items"]] == [s.item_ids[0]]
    pipeline = client.get("/api/v1/pipeline", headers=h).json()
    assert pipeline["overdue_total"] == 3
    assert pipeline["overdue_by_level"] == {"0": 2, "2": 1}


def test_refused_moves_and_version_conflicts_are_409(rt: Runtime) -> None:
    client, s, h = _client(rt)
    item = s.item_ids[0]
    url = f"/api/v1/measure-cycles/{item}/transitions"
    refused = client.post(url, json={"event": "accept_review", "version": 1}, headers=h)
    error = _assert_error(refused, 409, "move_refused")
    assert "record_interview" in error["details"]["allowed_events"]
    assert "nicht erlaubt" in error["message"]
    guard = client.post(url, json={"event": "drop", "version": 1, "payload": {}}, headers=h)
    assert "Grund" in _assert_error(guard, 409, "move_refused")["message"]

    ok = client.post(
        url,
        json={
            "event": "record_interview",
            "version": 1,
            "payload": {"decision": "adapt", "held_on": HELD_ON},
        },
        headers=h,
    )
    assert ok.status_code == 200 and ok.json()["state"] == "target_agreement"
    assert ok.json()["version"] == 2
    stale = client.post(
        url, json={"event": "defer", "version": 1, "payload": {"reason": "später"}}, headers=h
    )
    error = _assert_error(stale, 409, "version_conflict")
    assert error["details"]["current_version"] == 2
    assert "defer" in error["details"]["allowed_events"]
    with rt.sessions() as session:
        mc = session.get(MeasureCycle, item)
        assert mc is not None and (mc.state, mc.version) == ("target_agreement", 2)

    _assert_error(
        client.post(
            "/api/v1/measure-cycles/999999/transitions",
            json={"event": "drop", "version": 1},
            headers=h,
        ),
        404,
        "not_found",
    )
    bad = client.post(url, json={"event": "drop"}, headers=h)
    assert _assert_error(bad, 422, "validation_error")["details"]["errors"]
    broken = client.post(
        url, content=b"{not json", headers={**h, "Content-Type": "application/json"}
    )
    _assert_error(broken, 422, "validation_error")
    payload = client.post(
        f"/api/v1/measure-cycles/{s.item_ids[1]}/transitions",
        json={"event": "record_interview", "version": 1, "payload": {"decision": ["keep"]}},
        headers=h,
    )
    _assert_error(payload, 422, "payload_invalid")


def test_error_shape_for_401_403_404(rt_sqlite: Runtime) -> None:
    client, s, _h = _client(rt_sqlite)
    _assert_error(client.get("/api/v1/pipeline"), 401, "unauthenticated")
    steering = bearer(s, Role.STEERING)
    assert client.get("/api/v1/pipeline", headers=steering).status_code == 200
    forbidden = client.post(
        f"/api/v1/measure-cycles/{s.item_ids[0]}/transitions",
        json={"event": "drop", "version": 1, "payload": {"reason": "x"}},
        headers=steering,
    )
    assert "Berechtigung" in _assert_error(forbidden, 403, "forbidden")["message"]
    _assert_error(client.get("/api/v1/no-such-thing", headers=steering), 404, "not_found")
    _assert_error(client.get("/api/v1/cycles/2030", headers=steering), 404, "cycle_not_found")


def test_accept_review_sets_accepted_at_and_audit_is_listed(
    rt: Runtime, clock: FrozenClock
) -> None:
    client, s, h = _client(rt)
    item = s.item_ids[0]
    moved = _move(client, h, item, "record_interview", decision="keep", held_on=HELD_ON)
    assert moved.status_code == 200
    assert _move(client, h, item, "submit_agreement").status_code == 200
    assert _move(client, h, item, "start_review").status_code == 200
    with unit_of_work(rt.sessions) as session:
        session.add(
            Review(
                measure_cycle_id=item,
                achievement="erreicht",
                proposal="keep",
                submitted_at=clock.now(),
                submitted_by="contact:1",
            )
        )
    assert _move(client, h, item, "submit_review").status_code == 200
    sent_back = _move(client, h, item, "send_back", comment="Bitte Kennzahlen ergänzen")
    assert sent_back.json()["state"] == "review"
    assert _move(client, h, item, "submit_review").status_code == 200
    accepted = _move(client, h, item, "accept_review")
    assert accepted.json()["state"] == "replanning"
    with rt.sessions() as session:
        review = session.scalars(select(Review).where(Review.measure_cycle_id == item)).one()
        assert review.accepted_at == clock.now()
    audit = client.get(f"/api/v1/measure-cycles/{item}/audit", headers=h).json()
    assert [a["event"] for a in audit] == [
        "open_cycle",
        "record_interview",
        "submit_agreement",
        "start_review",
        "submit_review",
        "send_back",
        "submit_review",
        "accept_review",
    ]
    assert audit[5]["payload"]["comment"] == "Bitte Kennzahlen ergänzen"
    assert all(a["actor"] == f"user:{s.user_ids[Role.COORDINATOR]}" for a in audit[1:])


def test_outbox_listing_and_resend(rt: Runtime, clock: FrozenClock) -> None:
    client, s, h = _client(rt)
    _move(client, h, s.item_ids[0], "record_interview", decision="keep", held_on=HELD_ON)
    pending = client.get("/api/v1/outbox", params={"status": "pending"}, headers=h).json()
    assert pending["total"] == 1 and pending["items"][0]["kind"] == "invitation_agreement"
    message_id = pending["items"][0]["id"]
    refused = client.post(f"/api/v1/outbox/{message_id}/resend", headers=h)
    _assert_error(refused, 409, "not_resendable")
    with unit_of_work(rt.sessions) as session:
        session.execute(
            update(OutboxMessage).values(status="dead", attempts=8, last_error="550 nope")
        )
    assert client.get("/api/v1/outbox", params={"status": "dead"}, headers=h).json()["total"] == 1
    clock.advance(timedelta(hours=3))
    resent = client.post(f"/api/v1/outbox/{message_id}/resend", headers=h)
    assert resent.status_code == 200, resent.text
    with rt.sessions() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        assert (row.status, row.attempts, row.not_before) == ("pending", 0, clock.now())
    steering = client.get("/api/v1/outbox", headers=bearer(s, Role.STEERING))
    _assert_error(steering, 403, "forbidden")


def test_catalogue_create_read_update_archive(rt: Runtime) -> None:
    client, _s, h = _client(rt)
    field = client.post("/api/v1/fields", json={"code": "D", "name": "Gesundheit"}, headers=h)
    assert field.status_code == 201, field.text
    fid = field.json()["id"]
    _assert_error(
        client.post("/api/v1/fields", json={"code": "D", "name": "x"}, headers=h), 409, "duplicate"
    )
    goal = client.post(
        "/api/v1/goals",
        json={"field_id": fid, "code": "D1", "name": "Zugang", "rank": 2},
        headers=h,
    )
    assert goal.status_code == 201
    dept = client.post("/api/v1/departments", json={"name": "Gesundheitsamt"}, headers=h).json()
    contact = client.post(
        "/api/v1/contacts",
        json={"department_id": dept["id"], "name": "Dana Doe", "email": "dana@stadt.example.org"},
        headers=h,
    )
    assert contact.status_code == 201, contact.text
    measure = client.post(
        "/api/v1/measures",
        json={
            "goal_id": goal.json()["id"],
            "department_id": dept["id"],
            "contact_id": contact.json()["id"],
            "code": "D1.1",
            "title": "Gesundheitslotsen",
        },
        headers=h,
    )
    assert measure.status_code == 201, measure.text
    mid = measure.json()["id"]
    _assert_error(
        client.post(
            "/api/v1/goals",
            json={"field_id": 999999, "code": "Z", "name": "z", "rank": 1},
            headers=h,
        ),
        422,
        "unknown_reference",
    )
    patched = client.patch(
        f"/api/v1/measures/{mid}", json={"title": "Gesundheitslotsinnen"}, headers=h
    )
    assert patched.json()["title"] == "Gesundheitslotsinnen"
    assert (
        client.get(f"/api/v1/measures/{mid}", headers=h).json()["title"] == "Gesundheitslotsinnen"
    )
    archived = client.post(f"/api/v1/measures/{mid}/archive", headers=h).json()
    assert archived["archived"] and archived["status"] == "archived"
    assert mid not in [m["id"] for m in client.get("/api/v1/measures", headers=h).json()]
    assert mid in [
        m["id"]
        for m in client.get("/api/v1/measures", params={"include_archived": True}, headers=h).json()
    ]
    assert client.post(f"/api/v1/fields/{fid}/archive", headers=h).json()["archived"]
    assert client.post(f"/api/v1/fields/{fid}/archive", headers=h).status_code == 200  # again: same
    assert fid not in [f["id"] for f in client.get("/api/v1/fields", headers=h).json()]
    # Opening the next year leaves the archived measure out.
    opened = client.post("/api/v1/cycles", json={"year": 2027}, headers=h)
    assert opened.status_code == 201
    with rt.sessions() as session:
        count = session.scalar(
            select(func.count())
            .select_from(MeasureCycle)
            .where(
                MeasureCycle.cycle_id == opened.json()["cycle"]["id"],
                MeasureCycle.measure_id == mid,
            )
        )
    assert count == 0


def test_cycle_policy_read_and_update(rt_sqlite: Runtime) -> None:
    client, _s, h = _client(rt_sqlite)
    policy = client.get("/api/v1/cycles/2026/policy", headers=h).json()
    assert policy["agreement_days"] == 42
    policy["agreement_days"] = 30
    updated = client.put("/api/v1/cycles/2026/policy", json=policy, headers=h)
    assert updated.status_code == 200 and updated.json()["agreement_days"] == 30
    assert client.get("/api/v1/cycles/2026", headers=h).json()["policy"]["agreement_days"] == 30
    error = _assert_error(
        client.put("/api/v1/cycles/2026/policy", json={"agreement_days": 0}, headers=h),
        422,
        "policy_invalid",
    )
    assert error["details"]["errors"][0]["loc"] == ["agreement_days"]
    _assert_error(
        client.put("/api/v1/cycles/2026/policy", json={"review_days": 99999}, headers=h),
        422,
        "policy_invalid",
    )
    assert [c["year"] for c in client.get("/api/v1/cycles", headers=h).json()] == [2026]
