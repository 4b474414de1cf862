"""/api/v1/status-checks: start, list, read with parts and answers, close; roles, tenants, the
one error shape with the German sentence of each refusal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.dashboard_seed import Seed, bearer, seed
from workflow.accounts import Role
from workflow.db import unit_of_work
from workflow.orgs import resolve_organisation
from workflow.runtime import Runtime
from workflow.status_checks.models import StatusCheck, StatusCheckItem

URL = "/api/v1/status-checks"


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"] and set(error) == {"code", "message", "details"}
    return error


def _setup(rt: Runtime) -> tuple[TestClient, Seed, dict[str, str]]:
    s = seed(rt)
    return TestClient(create_app()), s, bearer(s, Role.COORDINATOR)


def _due(rt: Runtime, days: int = 21) -> str:
    return (rt.clock.now().date() + timedelta(days=days)).isoformat()


def test_start_list_read_and_close_a_check(rt: Runtime) -> None:
    client, s, coordinator = _setup(rt)
    created = client.post(
        URL,
        json={"goal": "B1", "due_on": _due(rt), "title": "Sprachkurse Frühjahr"},
        headers=coordinator,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["title"] == "Sprachkurse Frühjahr" and body["selection"]["goal"] == "B1"
    assert body["selection_label"] == "Ziel B1"
    assert (body["origin"], body["origin_label"], body["closed"]) == ("manual", "von Hand", False)
    assert (body["contacts_total"], body["measures_total"], body["contacts_answered"]) == (2, 3, 0)
    by_contact = {p["contact_name"]: p for p in body["parts"]}
    assert sorted(by_contact) == ["Daniel Wolff", "Katharina Schäfer"]
    assert [i["measure_code"] for i in by_contact["Daniel Wolff"]["items"]] == ["B1.2", "B1.3"]
    first = body["parts"][0]["items"]
    assert all(i["stand"] == "" and i["stand_label"] == "noch offen" for i in first)

    # An answer, as the contact's form stores it, shows in the detail with its label.
    with unit_of_work(rt.sessions) as session:
        item = session.scalars(
            select(StatusCheckItem)
            .where(StatusCheckItem.status_check_id == body["id"])
            .order_by(StatusCheckItem.id)
        ).first()
        assert item is not None
        item.stand, item.note, item.answered_at = "delayed", "Raum fehlt", rt.clock.now()
        item.indicator_values, item.revision = {"K1": "12"}, 1
    reader = bearer(s, Role.STEERING)
    detail = client.get(f"{URL}/{body['id']}", headers=reader)
    assert detail.status_code == 200
    items = [i for p in detail.json()["parts"] for i in p["items"] if i["stand"]]
    assert [(i["stand"], i["stand_label"], i["note"]) for i in items] == [
        ("delayed", "verzögert", "Raum fehlt")
    ]
    assert items[0]["indicator_values"] == {"K1": "12"}
    assert detail.json()["measures_answered"] == 1

    listed = client.get(URL, headers=reader).json()
    assert [c["id"] for c in listed] == [body["id"]]
    assert client.get(URL, params={"state": "closed"}, headers=reader).json() == []

    closed = client.post(f"{URL}/{body['id']}/close", headers=coordinator)
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed"] is True and closed.json()["closed_at"]
    now_closed = client.get(URL, params={"state": "closed"}, headers=reader).json()
    assert [c["id"] for c in now_closed] == [body["id"]]
    assert client.get(URL, params={"state": "open"}, headers=reader).json() == []
    again = _error(client.post(f"{URL}/{body['id']}/close", headers=coordinator), 422, "closed")
    assert again["message"] == "Diese Sachstandsabfrage ist bereits abgeschlossen."


def test_refusals_are_422_with_code_and_german_sentence(rt_sqlite: Runtime) -> None:
    client, _s, coordinator = _setup(rt_sqlite)

    def start(payload: dict[str, Any]) -> Any:
        return client.post(URL, json=payload, headers=coordinator)

    past = _error(start({"due_on": _due(rt_sqlite, -1)}), 422, "due_in_past")
    assert past["message"].startswith("Die Frist darf nicht in der Vergangenheit liegen.")
    assert past["details"]["field"] == "due_on"
    far = _error(start({"due_on": _due(rt_sqlite, 400)}), 422, "due_too_far")
    assert "höchstens ein Jahr" in far["message"] and "{" not in far["message"]
    unknown = _error(
        start({"measure_codes": ["Z9.9"], "due_on": _due(rt_sqlite)}), 422, "unknown_measure"
    )
    assert unknown["message"] == "Die Maßnahme „Z9.9“ gibt es nicht."
    field = _error(start({"field": "Q", "due_on": _due(rt_sqlite)}), 422, "unknown_field")
    assert field["message"] == "Das Handlungsfeld „Q“ gibt es nicht."
    no_cycle = _error(start({"due_on": _due(rt_sqlite), "cycle_year": 2031}), 422, "no_cycle")
    assert "Zyklus" in no_cycle["message"]
    _error(start({"due_on": "morgen"}), 422, "validation_error")
    with rt_sqlite.sessions() as session:
        assert session.scalars(select(StatusCheck)).all() == []


def test_only_coordinators_start_and_another_organisations_check_is_not_found(
    rt_sqlite: Runtime,
) -> None:
    client, s, coordinator = _setup(rt_sqlite)
    steering = bearer(s, Role.STEERING)
    assert client.post(URL, json={"due_on": _due(rt_sqlite)}, headers=steering).status_code == 403
    created = client.post(
        URL,
        json={"department": "Amt für Schule und Bildung", "due_on": _due(rt_sqlite)},
        headers=coordinator,
    )
    assert created.status_code == 201, created.text
    check_id = created.json()["id"]
    assert client.post(f"{URL}/{check_id}/close", headers=steering).status_code == 403
    with unit_of_work(rt_sqlite.sessions) as session:
        other = resolve_organisation(session, "nachbarstadt", create=True)
        check = session.get(StatusCheck, check_id)
        assert check is not None
        check.organisation_id = other.id
    _error(client.get(f"{URL}/{check_id}", headers=coordinator), 404, "not_found")
    _error(client.post(f"{URL}/{check_id}/close", headers=coordinator), 404, "not_found")
    assert client.get(URL, headers=coordinator).json() == []
    _error(client.get(f"{URL}/999999", headers=coordinator), 404, "not_found")
