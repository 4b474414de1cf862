"""/api/v1/bodies: create, read, change bodies and memberships; the error shape; tenants."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.dashboard_seed import Seed, bearer, csrf_headers, login, seed
from tests.test_api_access import app_routes
from workflow.accounts import Role
from workflow.bodies.errors import BodyError, missing_in_request
from workflow.bodies.models import BodyMember
from workflow.bodies.service import create_body
from workflow.catalogue.models import Field
from workflow.catalogue.service import ensure_organisation
from workflow.db import unit_of_work
from workflow.runtime import Runtime


def _client(rt: Runtime) -> tuple[TestClient, Seed]:
    return TestClient(create_app()), seed(rt)


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"] and set(error) == {"code", "message", "details"}
    return error


def test_a_coordinator_sets_up_a_body_with_members_and_history(rt: Runtime) -> None:
    client, s = _client(rt)
    coordinator = bearer(s, Role.COORDINATOR)
    with rt.sessions() as session:
        fields = list(session.scalars(select(Field.id).order_by(Field.code)))
    created = client.post(
        "/api/v1/bodies",
        json={
            "name": "Begleitgremium Integration",
            "kind": "advisory_board",
            "scope": "fields",
            "field_ids": fields[:2],
            "rules": [{"represents": "civil_society", "minimum": 2}],
        },
        headers=coordinator,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body | {"id": 0} == {
        "id": 0,
        "name": "Begleitgremium Integration",
        "kind": "advisory_board",
        "kind_label": "Begleitgremium",
        "scope": "fields",
        "field_ids": sorted(fields[:2]),
        "digest_cadence": "monthly",
        "meetings_per_year": 4,
        "rules": [
            {
                "represents": "civil_society",
                "minimum": 2,
                "text": "mindestens 2 Mitglieder aus der Zivilgesellschaft",
            }
        ],
        "current_members": 0,
        "shortfalls": [
            {
                "represents": "civil_society",
                "minimum": 2,
                "current": 0,
                "text": "mindestens 2 Mitglieder aus der Zivilgesellschaft – derzeit 0",
            }
        ],
    }
    members = f"/api/v1/bodies/{body['id']}/members"
    chair = client.post(
        members,
        json={
            "name": "Ingrid Hoffmann",
            "email": "ingrid.hoffmann@musterstadt.example.org",
            "represents": "civil_society",
            "role": "chair",
            "joined_on": "2025-01-01",
        },
        headers=coordinator,
    )
    assert chair.status_code == 201, chair.text
    deputy = client.post(
        members,
        json={
            "name": "Aylin Demir",
            "email": "aylin.demir@musterstadt.example.org",
            "represents": "civil_society",
            "role": "deputy",
            "deputy_of_id": chair.json()["id"],
            "language": "en",
        },
        headers=coordinator,
    )
    assert deputy.status_code == 201, deputy.text
    assert deputy.json()["deputy_of_id"] == chair.json()["id"]
    assert deputy.json()["joined_on"] == "2026-03-02"  # today, in the organisation's time zone
    # A deputy does not count: one of two is there.
    assert (
        client.get(f"/api/v1/bodies/{body['id']}", headers=coordinator).json()["shortfalls"][0][
            "current"
        ]
        == 1
    )
    promoted = client.patch(
        f"{members}/{deputy.json()['id']}", json={"role": "member"}, headers=coordinator
    )
    assert promoted.status_code == 200, promoted.text
    assert (promoted.json()["role"], promoted.json()["deputy_of_id"]) == ("member", None)
    assert (
        client.get(f"/api/v1/bodies/{body['id']}", headers=coordinator).json()["shortfalls"] == []
    )

    ended = client.post(
        f"{members}/{chair.json()['id']}/end", json={"on": "2026-03-02"}, headers=coordinator
    )
    assert ended.status_code == 200, ended.text
    assert (ended.json()["left_on"], ended.json()["current"]) == ("2026-03-02", False)
    _error(
        client.post(f"{members}/{chair.json()['id']}/end", json={}, headers=coordinator),
        409,
        "member_already_ended",
    )
    current = client.get(members, headers=bearer(s, Role.STEERING)).json()
    assert [m["name"] for m in current] == ["Aylin Demir"]
    history = client.get(f"{members}?history=true", headers=bearer(s, Role.STEERING)).json()
    assert [(m["name"], m["current"]) for m in history] == [
        ("Ingrid Hoffmann", False),
        ("Aylin Demir", True),
    ]
    with rt.sessions() as session:  # never deleted
        assert len(session.scalars(select(BodyMember)).all()) == 2

    changed = client.patch(
        f"/api/v1/bodies/{body['id']}",
        json={"scope": "all", "meetings_per_year": 6, "rules": []},
        headers=coordinator,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["field_ids"], changed.json()["meetings_per_year"]) == ([], 6)
    assert changed.json()["rules"] == [] and changed.json()["shortfalls"] == []


def test_refusals_use_the_error_shape_with_the_domain_code(rt: Runtime) -> None:
    client, s = _client(rt)
    coordinator = bearer(s, Role.COORDINATOR)
    first = client.post(
        "/api/v1/bodies",
        json={"name": "Steuerungsgruppe", "kind": "steering_group"},
        headers=coordinator,
    ).json()
    error = _error(
        client.post(
            "/api/v1/bodies",
            json={"name": "STEUERUNGSGRUPPE", "kind": "other"},
            headers=coordinator,
        ),
        409,
        "body_name_taken",
    )
    assert error["message"] == "Ein Gremium mit dem Namen „STEUERUNGSGRUPPE“ gibt es schon."
    _error(
        client.post(
            "/api/v1/bodies", json={"name": "X", "kind": "stammtisch"}, headers=coordinator
        ),
        422,
        "validation_error",
    )
    _error(
        client.post(
            "/api/v1/bodies",
            json={"name": "X", "kind": "other", "scope": "fields"},
            headers=coordinator,
        ),
        422,
        "fields_required",
    )
    members = f"/api/v1/bodies/{first['id']}/members"
    person = {"name": "Dr. Sommer", "email": "sommer@musterstadt.example.org"}
    assert client.post(members, json=person, headers=coordinator).status_code == 201
    _error(client.post(members, json=person, headers=coordinator), 409, "member_already_current")
    _error(
        client.post(
            members,
            json={**person, "email": "vertretung@musterstadt.example.org", "role": "deputy"},
            headers=coordinator,
        ),
        422,
        "deputy_needs_member",
    )
    _error(
        client.post(
            members, json={**person, "email": "x@y.z", "user_id": 2**31 - 1}, headers=coordinator
        ),
        422,  # a reference in what was sent, not the address: the request is wrong
        "user_not_found",
    )
    _error(client.get("/api/v1/bodies/99999", headers=coordinator), 404, "body_not_found")
    _error(
        client.patch(f"{members}/99999", json={"name": "X"}, headers=coordinator),
        404,
        "member_not_found",
    )
    # Origin, religion and the like have no field; the API refuses what it does not know.
    _error(
        client.post(
            members, json={**person, "email": "y@y.z", "religion": "x"}, headers=coordinator
        ),
        422,
        "validation_error",
    )


def test_another_organisations_body_is_not_found(rt: Runtime) -> None:
    client, s = _client(rt)
    with unit_of_work(rt.sessions) as session:
        other = ensure_organisation(session, slug="nachbarstadt", name="Stadt Nachbarstadt")
        foreign = create_body(
            session=session, organisation_id=other.id, name="Fremde Gruppe", kind="steering_group"
        )
        foreign_id = foreign.id
        session.add(BodyMember(body_id=foreign_id, name="Fremd", email="fremd@nachbar.example.org"))
        session.flush()
        foreign_member = session.scalars(select(BodyMember.id)).one()
    coordinator = bearer(s, Role.COORDINATOR)
    assert client.get("/api/v1/bodies", headers=coordinator).json() == []
    base = f"/api/v1/bodies/{foreign_id}"
    for method, url, payload in [
        ("GET", base, None),
        ("PATCH", base, {"name": "Übernommen"}),
        ("GET", f"{base}/members", None),
        ("POST", f"{base}/members", {"name": "A", "email": "a@b.example.org"}),
        ("PATCH", f"{base}/members/{foreign_member}", {"name": "B"}),
        ("POST", f"{base}/members/{foreign_member}/end", {}),
    ]:
        response = client.request(method, url, json=payload, headers=coordinator)
        _error(response, 404, "body_not_found")
    with rt.sessions() as session:
        assert session.scalars(select(BodyMember.name)).all() == ["Fremd"]


def test_steering_members_read_and_only_coordinators_change(rt: Runtime) -> None:
    client, s = _client(rt)
    assert (
        client.post(
            "/api/v1/bodies",
            json={"name": "Steuerungsgruppe", "kind": "steering_group"},
            headers=bearer(s, Role.STEERING),
        ).status_code
        == 403
    )
    assert client.get("/api/v1/bodies", headers=bearer(s, Role.STEERING)).status_code == 200
    table = {(m, p): r for m, p, r in app_routes()}
    reader = frozenset({"coordinator", "steering", "admin"})
    acting = frozenset({"coordinator", "admin"})
    assert table[("GET", "/api/v1/bodies")] == reader
    assert table[("GET", "/api/v1/bodies/{body_id}/members")] == reader
    assert table[("POST", "/api/v1/bodies")] == acting
    assert table[("PATCH", "/api/v1/bodies/{body_id}")] == acting
    assert table[("POST", "/api/v1/bodies/{body_id}/members")] == acting
    assert table[("PATCH", "/api/v1/bodies/{body_id}/members/{member_id}")] == acting
    assert table[("POST", "/api/v1/bodies/{body_id}/members/{member_id}/end")] == acting
    assert table[("GET", "/gremien")] == reader
    assert table[("GET", "/gremien/{body_id}")] == reader
    for path in (
        "/gremien",
        "/gremien/{body_id}/einstellungen",
        "/gremien/{body_id}/mitglieder",
        "/gremien/{body_id}/mitglieder/{member_id}/beenden",
    ):
        assert table[("POST", path)] == acting


def test_a_signed_in_browser_must_echo_the_csrf_token(rt: Runtime) -> None:
    client, _ = _client(rt)
    login(client, Role.COORDINATOR)
    payload = {"name": "Steuerungsgruppe", "kind": "steering_group"}
    refused = client.post("/api/v1/bodies", json=payload)
    assert refused.status_code == 403
    assert (
        client.post("/api/v1/bodies", json=payload, headers=csrf_headers(client)).status_code == 201
    )


def test_a_missing_row_named_in_what_was_sent_is_a_mistake_not_a_missing_body(
    rt: Runtime,
) -> None:
    """404 says the address names nothing; a field of action named in the body that does not
    exist is a 422 for the body that does (found by the stateful run: a body just created
    looked gone to a client that read the status alone)."""
    client, s = _client(rt)
    coordinator = bearer(s, Role.COORDINATOR)
    created = client.post(
        "/api/v1/bodies", json={"name": "Steuerungsgruppe", "kind": "steering_group"},
        headers=coordinator,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    url = f"/api/v1/bodies/{created.json()['id']}"
    error = _error(
        client.patch(url, json={"scope": "fields", "field_ids": [2**31 - 1]}, headers=coordinator),
        422,
        "field_not_found",
    )
    assert error["details"] == {"ref": str(2**31 - 1)}
    assert client.get(url, headers=coordinator).status_code == 200
    _error(client.patch(f"/api/v1/bodies/{2**31 - 1}", json={"name": "X"}, headers=coordinator),
           404, "body_not_found")  # fmt: skip
    # A member named in the address is missing (404); one named in an attendance list is a
    # mistake in the list (422).
    assert BodyError("member_not_found").not_found
    assert not missing_in_request("member_not_found").not_found
    assert not BodyError("field_not_found").not_found
