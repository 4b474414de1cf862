"""/api/v1/bodies/{id}/meetings and /api/v1/meetings: plan, propose, set the agenda, record;
the error shape; roles; another organisation's meetings are not found."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.conftest import BERLIN
from tests.meeting_world import World, build
from tests.test_api_access import app_routes
from workflow.accounts import Role, add_or_update_user, create_api_token
from workflow.bodies.models import BodyMember, Meeting
from workflow.bodies.service import create_body
from workflow.catalogue.service import ensure_organisation
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.meetings.models import AgendaItem
from workflow.runtime import Runtime

A, B = "AF Bildung und Sprache", "BF Bildung und Sprache"


def _setup(rt: Runtime) -> tuple[TestClient, World, dict[Role, dict[str, str]]]:
    world = build(rt)
    headers = {}
    with unit_of_work(rt.sessions) as s:
        for role in (Role.COORDINATOR, Role.STEERING):
            user = add_or_update_user(
                session=s,
                organisation_id=world.organisation_id,
                email=f"{role.value}@stadt.example.org",
                role=role,
                password="ein langes Passwort 123",
                now=rt.clock.now(),
            )
            token = create_api_token(s, user, "test", rt.clock.now())[1]
            headers[role] = {"Authorization": f"Bearer {token}"}
    return TestClient(create_app()), world, headers


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"] and set(error) == {"code", "message", "details"}
    return error


def test_a_coordinator_plans_a_meeting_and_takes_the_proposed_agenda(rt: Runtime) -> None:
    client, w, h = _setup(rt)
    coordinator = h[Role.COORDINATOR]
    created = client.post(
        f"/api/v1/bodies/{w.bodies['all']}/meetings",
        json={"held_on": "2026-05-06", "starts_at": "17:00", "place": "Rathaus, Raum 101"},
        headers=coordinator,
    )
    assert created.status_code == 201, created.text
    meeting = created.json()
    assert meeting | {"id": 0} == {
        "id": 0,
        "body_id": w.bodies["all"],
        "held_on": "2026-05-06",
        "starts_at": "17:00",
        "place": "Rathaus, Raum 101",
        "title": "",
        "agenda_items": 0,
        "body_name": "Steuerungsgruppe",
        "notes": "",
        "held": False,
        "agenda": [],
        "guests": [],
        "proposed_guests": [],
        "attendance": [
            {
                "member_id": meeting["attendance"][0]["member_id"],
                "name": "Dr. Sommer",
                "present": None,
            }
        ],
    }
    url = f"/api/v1/meetings/{meeting['id']}"
    proposal = client.get(f"{url}/agenda-proposal", headers=h[Role.STEERING])
    assert proposal.status_code == 200, proposal.text
    items = proposal.json()
    assert [(i["kind"], i["title"]) for i in items][:3] == [
        ("open_decision", "Bericht über die Sprachkurse (open)"),
        ("field_report", A),
        ("field_report", B),
    ]
    assert items[1]["kind_label"] == "Bericht aus dem Handlungsfeld"
    assert items[1]["reason_text"].startswith("1 Maßnahme in Umsetzung")
    assert items[1]["key"] == f"field_report:{w.fields['A']}"
    assert not any(i["on_agenda"] for i in items)

    chosen = [items[2], items[1], items[0]]
    body = {
        "items": [
            {
                k: i[k]
                for k in (
                    "kind",
                    "title",
                    "field_id",
                    "measure_cycle_id",
                    "indicator_id",
                    "decision_id",
                )
            }
            for i in chosen
        ]
        + [{"title": "Verschiedenes"}]
    }
    put = client.put(f"{url}/agenda", json=body, headers=coordinator)
    assert put.status_code == 200, put.text
    assert [(i["position"], i["kind"], i["title"]) for i in put.json()] == [
        (1, "field_report", B),
        (2, "field_report", A),
        (3, "open_decision", "Bericht über die Sprachkurse (open)"),
        (4, "other", "Verschiedenes"),
    ]
    again = client.get(f"{url}/agenda-proposal", headers=coordinator).json()
    assert [i["on_agenda"] for i in again[:4]] == [True, True, True, False]
    detail = client.get(url, headers=h[Role.STEERING]).json()
    assert detail["agenda_items"] == 4
    # The heads of both reporting fields are proposed as guests.
    assert [g["email"] for g in detail["proposed_guests"]] == [w.heads["B"], w.heads["A"]]
    listed = client.get(f"/api/v1/bodies/{w.bodies['all']}/meetings", headers=coordinator).json()
    assert [(m["held_on"], m["agenda_items"]) for m in listed] == [
        ("2026-01-15", 0),
        ("2026-03-20", 0),
        ("2026-05-06", 4),
        ("2026-06-10", 0),
    ]


def test_guests_attendance_and_minutes_through_patch(rt: Runtime, clock: FrozenClock) -> None:
    client, w, h = _setup(rt)
    coordinator = h[Role.COORDINATOR]
    url = f"/api/v1/meetings/{w.meeting['all']}"
    put = client.put(f"{url}/agenda", json={"items": [{"title": "Bericht"}]}, headers=coordinator)
    item_id = put.json()[0]["id"]
    guest = {"name": "Leitung A", "email": w.heads["A"], "field_id": w.fields["A"]}
    patched = client.patch(url, json={"guests": [guest], "place": "Rathaus"}, headers=coordinator)
    assert patched.status_code == 200, patched.text
    assert [(g["email"], g["field_id"], g["present"]) for g in patched.json()["guests"]] == [
        (w.heads["A"], w.fields["A"], None)
    ]
    member_id = patched.json()["attendance"][0]["member_id"]
    early = client.patch(
        url, json={"attendance": [{"member_id": member_id, "present": True}]}, headers=coordinator
    )
    error = _error(early, 422, "meeting_not_held_yet")
    assert error["message"].endswith("(20.03.2026) erfassen.")
    clock.set(datetime(2026, 3, 20, 19, 0, tzinfo=BERLIN))
    done = client.patch(
        url,
        json={
            "attendance": [{"member_id": member_id, "present": True}],
            "guest_attendance": [{"email": w.heads["A"], "present": False}],
            "minutes": [{"agenda_item_id": item_id, "minutes": "Zur Kenntnis genommen."}],
            "notes": "Eröffnung 17:05 Uhr.",
        },
        headers=coordinator,
    )
    assert done.status_code == 200, done.text
    d = done.json()
    assert (d["held"], d["notes"], d["agenda"][0]["minutes"]) == (
        True,
        "Eröffnung 17:05 Uhr.",
        "Zur Kenntnis genommen.",
    )
    assert d["attendance"][0]["present"] is True and d["guests"][0]["present"] is False
    # Replacing the guest list keeps who stays and drops who is left out.
    emptied = client.patch(url, json={"guests": []}, headers=coordinator)
    assert emptied.json()["guests"] == []
    _error(
        client.patch(
            url,
            json={"minutes": [{"agenda_item_id": 2**31 - 1, "minutes": "x"}]},
            headers=coordinator,
        ),
        422,  # the meeting is there; what was sent names an item it does not have
        "agenda_item_not_found",
    )


def test_refusals_use_the_error_shape_with_the_domain_code(rt: Runtime) -> None:
    client, w, h = _setup(rt)
    coordinator = h[Role.COORDINATOR]
    meetings = f"/api/v1/bodies/{w.bodies['all']}/meetings"
    error = _error(
        client.post(meetings, json={"held_on": "2026-03-20"}, headers=coordinator),
        409,
        "meeting_day_taken",
    )
    assert (
        error["message"] == "Das Gremium „Steuerungsgruppe“ hat am 20.03.2026 bereits eine Sitzung."
    )
    _error(
        client.post(
            meetings, json={"held_on": "2026-04-01", "starts_at": "25:00"}, headers=coordinator
        ),
        422,
        "validation_error",
    )
    _error(
        client.post(meetings, json={"held_on": "2026-04-01", "minutes": "x"}, headers=coordinator),
        422,
        "validation_error",
    )
    url = f"/api/v1/meetings/{w.meeting['all']}"
    twice = {"kind": "field_report", "title": A, "field_id": w.fields["A"]}
    _error(
        client.put(f"{url}/agenda", json={"items": [twice, twice]}, headers=coordinator),
        409,
        "agenda_item_twice",
    )
    _error(
        client.put(
            f"{url}/agenda",
            json={"items": [{"kind": "field_report", "title": "X"}]},
            headers=coordinator,
        ),
        422,
        "agenda_reference_missing",
    )
    _error(client.get("/api/v1/meetings/99999", headers=coordinator), 404, "meeting_not_found")
    _error(client.get("/api/v1/bodies/99999/meetings", headers=coordinator), 404, "body_not_found")


def test_another_organisations_meetings_are_not_found(rt: Runtime) -> None:
    client, w, h = _setup(rt)
    with unit_of_work(rt.sessions) as s:
        other = ensure_organisation(s, slug="nachbarstadt", name="Stadt Nachbarstadt")
        body = create_body(
            session=s, organisation_id=other.id, name="Fremde Gruppe", kind="steering_group"
        )
        meeting = Meeting(body_id=body.id, held_on=datetime(2026, 4, 1).date(), title="Fremd")
        s.add(meeting)
        s.flush()
        s.add(
            AgendaItem(
                meeting_id=meeting.id, position=1, kind="other", title="Fremder Punkt", minutes=""
            )
        )
        foreign_body, foreign_meeting = body.id, meeting.id
    coordinator = h[Role.COORDINATOR]
    url = f"/api/v1/meetings/{foreign_meeting}"
    calls: list[tuple[str, str, dict[str, Any] | None, str]] = [
        ("GET", f"/api/v1/bodies/{foreign_body}/meetings", None, "body_not_found"),
        (
            "POST",
            f"/api/v1/bodies/{foreign_body}/meetings",
            {"held_on": "2026-04-02"},
            "body_not_found",
        ),
        ("GET", url, None, "meeting_not_found"),
        ("PATCH", url, {"title": "Übernommen"}, "meeting_not_found"),
        ("GET", f"{url}/agenda-proposal", None, "meeting_not_found"),
        ("PUT", f"{url}/agenda", {"items": []}, "meeting_not_found"),
    ]
    for method, path, payload, code in calls:
        _error(client.request(method, path, json=payload, headers=coordinator), 404, code)
    # Nor can one's own agenda point at another organisation's rows.
    own = f"/api/v1/meetings/{w.meeting['all']}/agenda"
    _error(
        client.put(
            own,
            json={"items": [{"kind": "open_decision", "title": "X", "decision_id": 2**31 - 1}]},
            headers=coordinator,
        ),
        422,
        "decision_not_found",
    )
    with rt.sessions() as s:
        assert s.scalars(select(AgendaItem.title)).all() == ["Fremder Punkt"]
        assert s.get(Meeting, foreign_meeting).title == "Fremd"  # type: ignore[union-attr]
        assert s.scalars(select(BodyMember.body_id)).all() == [w.bodies["all"]]


def test_steering_members_read_and_only_coordinators_change(rt: Runtime) -> None:
    client, w, h = _setup(rt)
    steering = h[Role.STEERING]
    url = f"/api/v1/meetings/{w.meeting['all']}"
    assert client.get(url, headers=steering).status_code == 200
    assert client.patch(url, json={"title": "X"}, headers=steering).status_code == 403
    assert client.put(f"{url}/agenda", json={"items": []}, headers=steering).status_code == 403
    assert (
        client.post(
            f"/api/v1/bodies/{w.bodies['all']}/meetings",
            json={"held_on": "2026-04-02"},
            headers=steering,
        ).status_code
        == 403
    )
    table = {(m, p): r for m, p, r in app_routes()}
    reader = frozenset({"coordinator", "steering", "admin"})
    acting = frozenset({"coordinator", "admin"})
    assert table[("GET", "/api/v1/bodies/{body_id}/meetings")] == reader
    assert table[("GET", "/api/v1/meetings/{meeting_id}")] == reader
    assert table[("GET", "/api/v1/meetings/{meeting_id}/agenda-proposal")] == reader
    assert table[("POST", "/api/v1/bodies/{body_id}/meetings")] == acting
    assert table[("PATCH", "/api/v1/meetings/{meeting_id}")] == acting
    assert table[("PUT", "/api/v1/meetings/{meeting_id}/agenda")] == acting
    assert table[("GET", "/sitzungen/{meeting_id}")] == reader
    assert table[("GET", "/gremien/{body_id}/sitzungen/neu")] == acting
    for path in (
        "/gremien/{body_id}/sitzungen",
        "/sitzungen/{meeting_id}/angaben",
        "/sitzungen/{meeting_id}/tagesordnung",
        "/sitzungen/{meeting_id}/gaeste",
        "/sitzungen/{meeting_id}/gaeste/vorschlaege",
        "/sitzungen/{meeting_id}/gaeste/entfernen",
        "/sitzungen/{meeting_id}/anwesenheit",
        "/sitzungen/{meeting_id}/niederschrift",
    ):
        assert table[("POST", path)] == acting, path
