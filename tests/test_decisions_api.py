"""/api/v1/decisions: record, read, filter, change the status, apply; roles, tenants, error shape."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.dashboard_seed import bearer, csrf_headers, login
from tests.decision_support import EARLIER, World, add_meeting, build
from workflow.accounts import Role
from workflow.bodies.service import create_body
from workflow.catalogue.models import Contact, Measure
from workflow.catalogue.service import ensure_organisation
from workflow.cycles.models import MeasureCycle
from workflow.db import unit_of_work
from workflow.decisions import service
from workflow.decisions.models import Decision
from workflow.runtime import Runtime


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"] and set(error) == {"code", "message", "details"}
    return error


def _setup(rt: Runtime) -> tuple[TestClient, World]:
    return TestClient(create_app()), build(rt)


def test_a_coordinator_records_a_drop_and_everyone_signed_in_reads_it(rt: Runtime) -> None:
    client, world = _setup(rt)
    coordinator = bearer(world.seed, Role.COORDINATOR)
    item = world.seed.item_ids[0]
    created = client.post(
        "/api/v1/decisions",
        json={
            "meeting_id": world.meeting_id,
            "kind": "resolution",
            "action": "drop_measure",
            "measure_cycle_id": item,
            "agenda_item_id": world.agenda_item_id,
            "text": "Die Maßnahme wird verworfen.",
        },
        headers=coordinator,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["kind_label"], body["status"], body["status_label"]) == (
        "Beschluss",
        "done",
        "erledigt",
    )
    assert (body["body_name"], body["held_on"], body["agenda_title"]) == (
        "Steuerungsgruppe Integration",
        EARLIER.isoformat(),
        "Streichungsvorschläge",
    )
    assert body["measure_cycle_id"] == item and body["applied_at"] is not None
    with rt.sessions() as s:
        assert s.get(MeasureCycle, item).state == "dropped"  # type: ignore[union-attr]

    steering = bearer(world.seed, Role.STEERING)
    listed = client.get("/api/v1/decisions", headers=steering)
    assert listed.status_code == 200 and [d["id"] for d in listed.json()] == [body["id"]]
    one = client.get(f"/api/v1/decisions/{body['id']}", headers=steering)
    assert one.json() == body
    assert client.get("/api/v1/decisions?kind=assignment", headers=steering).json() == []
    assert client.get("/api/v1/decisions?year=2025", headers=steering).json() == []
    assert len(client.get("/api/v1/decisions?status=done", headers=steering).json()) == 1


def test_roles_steering_reads_only_and_anonymous_is_refused(rt: Runtime) -> None:
    client, world = _setup(rt)
    steering = bearer(world.seed, Role.STEERING)
    payload = {"meeting_id": world.meeting_id, "kind": "resolution", "text": "Nur gelesen."}
    _error(client.post("/api/v1/decisions", json=payload, headers=steering), 403, "forbidden")
    _error(client.get("/api/v1/decisions"), 401, "unauthenticated")
    with unit_of_work(rt.sessions) as s:
        decision_id = service.record_decision(
            session=s, clock=rt.clock, meeting_id=world.meeting_id, kind="resolution",
            text="Offen.", actor="test",
        ).id  # fmt: skip
    _error(
        client.patch(f"/api/v1/decisions/{decision_id}", json={"status": "done"}, headers=steering),
        403,
        "forbidden",
    )
    # A signed-in browser session must echo the CSRF token on a change.
    browser = TestClient(create_app())
    login(browser, Role.COORDINATOR)
    assert (
        browser.patch(f"/api/v1/decisions/{decision_id}", json={"status": "done"}).status_code
        == 403
    )
    changed = browser.patch(
        f"/api/v1/decisions/{decision_id}", json={"status": "done"}, headers=csrf_headers(browser)
    )
    assert changed.status_code == 200 and changed.json()["status"] == "done"
    with rt.sessions() as s:
        stored = s.get(Decision, decision_id)
        assert stored is not None and stored.status_changed_by.startswith("user:")


def test_refusals_use_the_error_shape_with_the_domain_code_and_the_input(rt: Runtime) -> None:
    client, world = _setup(rt)
    coordinator = bearer(world.seed, Role.COORDINATOR)
    base = {"meeting_id": world.meeting_id, "text": "Text"}
    error = _error(
        client.post("/api/v1/decisions", json=base | {"kind": "decree"}, headers=coordinator),
        422,
        "validation_error",
    )
    assert error["details"]["errors"][0]["loc"] == ["body", "kind"]
    _error(
        client.post(
            "/api/v1/decisions", json=base | {"kind": "assignment", "x": 1}, headers=coordinator
        ),
        422,
        "validation_error",
    )
    error = _error(
        client.post("/api/v1/decisions", json=base | {"kind": "assignment"}, headers=coordinator),
        422,
        "contact_required",
    )
    assert error["message"] == "Bitte wählen Sie die Ansprechperson, die den Auftrag erhält."
    assert error["details"] == {"field": "contact_id"}
    error = _error(
        client.post(
            "/api/v1/decisions",
            json=base
            | {
                "kind": "resolution",
                "action": "accept_review",
                "measure_cycle_id": world.seed.item_ids[0],
            },
            headers=coordinator,
        ),
        409,
        "move_refused",
    )
    assert "Streichen" in error["message"] and error["details"]["state"] == "initial_interview"
    assert "drop" in error["details"]["allowed"].split(", ")
    _error(
        client.get("/api/v1/decisions/2147483647", headers=coordinator), 404, "decision_not_found"
    )
    _error(client.get("/api/v1/decisions?format=pdf", headers=coordinator), 422, "validation_error")
    with rt.sessions() as s:
        assert s.scalars(select(Decision)).all() == []


def test_a_change_proposal_is_applied_through_the_api(rt: Runtime) -> None:
    client, world = _setup(rt)
    coordinator = bearer(world.seed, Role.COORDINATOR)
    with rt.sessions() as s:
        measure_id = s.get(MeasureCycle, world.seed.item_ids[1]).measure_id  # type: ignore[union-attr]
    created = client.post(
        "/api/v1/decisions",
        json={
            "meeting_id": world.meeting_id,
            "kind": "change_proposal",
            "measure_id": measure_id,
            "text": "Ohne Ansprechperson weiterführen.",
        },
        headers=coordinator,
    ).json()
    url = f"/api/v1/decisions/{created['id']}/apply"
    _error(client.post(url, json={}, headers=coordinator), 422, "changes_empty")
    applied = client.post(
        url, json={"contact_id": None, "title": "Neu gefasst"}, headers=coordinator
    )
    assert applied.status_code == 200, applied.text
    assert applied.json()["status"] == "done" and applied.json()["measure_title"] == "Neu gefasst"
    with rt.sessions() as s:
        measure = s.get(Measure, measure_id)
        assert measure is not None and (measure.title, measure.contact_id) == ("Neu gefasst", None)
    _error(client.post(url, json={"title": "X"}, headers=coordinator), 409, "already_applied")


def test_another_organisations_decisions_and_meetings_stay_apart(rt: Runtime) -> None:
    client, world = _setup(rt)
    coordinator = bearer(world.seed, Role.COORDINATOR)
    with unit_of_work(rt.sessions) as s:
        other = ensure_organisation(s, slug="nachbarstadt", name="Nachbarstadt")
        body = create_body(
            session=s, organisation_id=other.id, name="Fremde Gruppe", kind="steering_group"
        )
        meeting = add_meeting(s, body.id, EARLIER)
        stranger = Contact(organisation_id=other.id, name="Fremd", email="fremd@nachbar.example")
        s.add(stranger)
        s.flush()
        foreign = service.record_decision(
            session=s,
            clock=rt.clock,
            meeting_id=meeting.id,
            kind="recommendation",
            addressee="council",
            text="Geheime Empfehlung",
            actor="test",
        )
        foreign_id, meeting_id, stranger_id = foreign.id, meeting.id, stranger.id
    _error(
        client.get(f"/api/v1/decisions/{foreign_id}", headers=coordinator),
        404,
        "decision_not_found",
    )
    _error(
        client.patch(
            f"/api/v1/decisions/{foreign_id}", json={"status": "done"}, headers=coordinator
        ),
        404,
        "decision_not_found",
    )
    _error(
        client.post(
            "/api/v1/decisions",
            json={"meeting_id": meeting_id, "kind": "resolution", "text": "Eingeschleust"},
            headers=coordinator,
        ),
        404,
        "meeting_not_found",
    )
    # Their contact cannot be given an Auftrag from our meeting.
    _error(
        client.post(
            "/api/v1/decisions",
            json={
                "meeting_id": world.meeting_id,
                "kind": "assignment",
                "text": "Fremder Auftrag",
                "contact_id": stranger_id,
                "due_on": "2026-06-30",
            },
            headers=coordinator,
        ),
        422,
        "contact_not_found",
    )
    assert client.get("/api/v1/decisions", headers=coordinator).json() == []
    assert "Geheime" not in client.get("/api/v1/decisions?format=csv", headers=coordinator).text
    with rt.sessions() as s:
        assert [d.status for d in s.scalars(select(Decision))] == ["open"]
