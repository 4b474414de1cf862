"""The indicator JSON API on real databases: CRUD, values by unit, corrections, flags, requests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from tests.dashboard_seed import Seed, bearer, seed
from workflow.accounts import Role
from workflow.catalogue.models import Contact, Goal, Measure
from workflow.clock import FrozenClock
from workflow.runtime import Runtime
from workflow.sweep import run_sweep


def _ids(rt: Runtime) -> dict[str, int]:
    with rt.sessions() as s:
        return {
            "goal": s.scalars(select(Goal.id).where(Goal.code == "B1")).one(),
            "measure": s.scalars(select(Measure.id).where(Measure.code == "B1.1")).one(),
            "contact": s.scalars(select(Contact.id).order_by(Contact.id)).first() or 0,
        }


def _definition(ids: dict[str, int], **changes: Any) -> dict[str, Any]:
    body = {
        "code": "B-K3",
        "statement": "Der Sprachförderbedarf bei der Einschulung sinkt",
        "base_figures": "Schuleingangsuntersuchung",
        "unit": "count",
        "direction": "down",
        "due_months": [3],
        "due_day": 20,
        "district": "Stadtgebiet",
        "districts": ["Nord", "Süd"],
        "source_label": "Gesundheitsamt",
        "source_contact_id": ids["contact"],
        "goal_ids": [ids["goal"]],
        "measure_ids": [ids["measure"]],
    }
    return body | changes


def _client(rt: Runtime) -> tuple[TestClient, Seed]:
    return TestClient(create_app()), seed(rt)


def test_crud_and_values_with_roles(rt: Runtime, clock: FrozenClock) -> None:
    client, s = _client(rt)
    ids = _ids(rt)
    coordinator, steering = bearer(s, Role.COORDINATOR), bearer(s, Role.STEERING)

    refused = client.post("/api/v1/indicators", json=_definition(ids), headers=steering)
    assert refused.status_code == 403
    created = client.post("/api/v1/indicators", json=_definition(ids), headers=coordinator)
    assert created.status_code == 201, created.text
    indicator = created.json()
    assert indicator["kind"] == "quantitative" and indicator["goal_ids"] == [ids["goal"]]
    assert indicator["measure_codes"] == ["B1.1"] and indicator["trend"] == "unklar"
    url = f"/api/v1/indicators/{indicator['id']}"

    duplicate = client.post("/api/v1/indicators", json=_definition(ids), headers=coordinator)
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "duplicate"
    no_target = client.post(
        "/api/v1/indicators",
        json=_definition(ids, code="X", direction="target"),
        headers=coordinator,
    )
    assert no_target.status_code == 422
    assert no_target.json()["error"]["details"]["field"] == "target_value"
    foreign = client.post(
        "/api/v1/indicators",
        json=_definition(ids, code="Y", goal_ids=[999_999]),
        headers=coordinator,
    )
    assert foreign.status_code == 422 and foreign.json()["error"]["code"] == "unknown_reference"

    # Values: checked by unit, corrected on the same date and district, flagged when far off.
    for day, value in (("2023-03-20", 148), ("2024-03-20", 141), ("2025-03-20", 137)):
        added = client.post(
            f"{url}/values", json={"survey_date": day, "value": value}, headers=coordinator
        )
        assert added.status_code == 201 and added.json()["outcome"] == "created", added.text
    fraction = client.post(
        f"{url}/values", json={"survey_date": "2026-01-10", "value": 12.5}, headers=coordinator
    )
    assert fraction.status_code == 422
    assert fraction.json()["error"]["message"] == "Bitte eine ganze Zahl ab 0 eingeben."
    unknown_district = client.post(
        f"{url}/values",
        json={"survey_date": "2026-01-10", "district": "Ost", "value": 3},
        headers=coordinator,
    )
    assert unknown_district.status_code == 422
    future = client.post(
        f"{url}/values", json={"survey_date": "2027-01-01", "value": 3}, headers=coordinator
    )
    assert future.status_code == 422 and "Zukunft" in future.json()["error"]["message"]
    far = client.post(
        f"{url}/values", json={"survey_date": "2026-02-20", "value": 40}, headers=coordinator
    )
    assert far.status_code == 201 and far.json()["flagged"] is True
    corrected = client.post(
        f"{url}/values",
        json={"survey_date": "2026-02-20", "value": 130, "comment": "Tippfehler"},
        headers=coordinator,
    )
    assert corrected.status_code == 200
    body = corrected.json()
    assert (body["outcome"], body["revision"], body["flagged"], body["id"]) == (
        "corrected",
        2,
        False,
        far.json()["id"],
    )
    district = client.post(
        f"{url}/values",
        json={"survey_date": "2026-02-20", "district": "Nord", "value": 61},
        headers=coordinator,
    )
    assert district.status_code == 201

    values = client.get(f"{url}/values", headers=steering).json()
    assert [(v["survey_date"], v["district"], v["value"]) for v in values] == [
        ("2023-03-20", "", 148),
        ("2024-03-20", "", 141),
        ("2025-03-20", "", 137),
        ("2026-02-20", "", 130),
        ("2026-02-20", "Nord", 61),
    ]
    assert values[3]["delivered_by"] == f"user:{s.user_ids[Role.COORDINATOR]}"
    read = client.get(url, headers=steering).json()
    assert (read["last_value"], read["trend"], read["on_track"]) == (130, "fallend", True)

    patched = client.patch(url, json={"statement": "Neu formuliert"}, headers=coordinator)
    assert patched.status_code == 200 and patched.json()["statement"] == "Neu formuliert"
    assert patched.json()["districts"] == ["Nord", "Süd"]  # untouched fields stay
    locked = client.patch(url, json={"unit": "percent"}, headers=coordinator)
    assert locked.status_code == 409 and locked.json()["error"]["code"] == "unit_locked"
    assert client.patch(url, json={"statement": "x"}, headers=steering).status_code == 403

    archived = client.post(f"{url}/archive", headers=coordinator)
    assert archived.status_code == 200 and archived.json()["active"] is False
    listed = client.get("/api/v1/indicators", headers=steering).json()
    assert listed == []
    with_archived = client.get("/api/v1/indicators?include_archived=true", headers=steering)
    assert [i["code"] for i in with_archived.json()] == ["B-K3"]


def test_survey_and_report_values(rt: Runtime) -> None:
    client, s = _client(rt)
    ids = _ids(rt)
    headers = bearer(s, Role.ADMIN)
    survey = client.post(
        "/api/v1/indicators",
        json=_definition(ids, code="W1", unit="scale", direction="up", districts=[]),
        headers=headers,
    ).json()
    bad = client.post(
        f"/api/v1/indicators/{survey['id']}/values",
        json={"survey_date": "2025-11-20", "counts": [1, 2, 3]},
        headers=headers,
    )
    assert bad.status_code == 422
    good = client.post(
        f"/api/v1/indicators/{survey['id']}/values",
        json={"survey_date": "2025-11-20", "counts": [0, 2, 5, 13, 9], "value": 99},
        headers=headers,
    )
    assert good.status_code == 201
    assert good.json()["value"] == (4 + 15 + 52 + 45) / 29  # the mean, whatever was sent
    report = client.post(
        "/api/v1/indicators",
        json=_definition(ids, code="W2", unit="text", direction="up", districts=[]),
        headers=headers,
    ).json()
    assert report["kind"] == "qualitative"
    empty = client.post(
        f"/api/v1/indicators/{report['id']}/values",
        json={"survey_date": "2025-12-10", "report": "  "},
        headers=headers,
    )
    assert empty.status_code == 422


def test_data_requests_listed_and_reminded_once_a_day(rt: Runtime, clock: FrozenClock) -> None:
    client, s = _client(rt)
    ids = _ids(rt)
    headers = bearer(s, Role.COORDINATOR)
    client.post("/api/v1/indicators", json=_definition(ids), headers=headers)
    run_sweep(sessions=rt.sessions, clock=clock)  # 2 March: the 20 March request opens
    (request,) = client.get("/api/v1/data-requests", headers=bearer(s, Role.STEERING)).json()
    assert (request["period"], request["status"], request["due_on"]) == (
        "2026-03",
        "open",
        "2026-03-20",
    )
    for _ in range(2):
        reminded = client.post(f"/api/v1/data-requests/{request['id']}/remind", headers=headers)
        assert reminded.status_code == 200
    with rt.sessions() as session:
        manual = session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like("%:manual:%"))
        ).all()
    assert manual == [f"dr:{request['id']}:1:manual:2026-03-02"]
    assert client.get("/api/v1/data-requests?status=delivered", headers=headers).json() == []
