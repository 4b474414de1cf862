"""The Erstgespräch's "anpassen" opens the measure for editing; its status vocabulary is closed.

Through the real pages and the API on both databases: recording "anpassen" (on /erstgespraech
or on the measure page) lands the coordinator on the measure's edit form, prefilled; saving it
changes the catalogue's measure and writes the timeline. A status outside the vocabulary, like
"laufend", is refused with the allowed values named, and nothing is recorded.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.dashboard_seed import Seed, bearer, csrf_headers, login, seed
from workflow.accounts import Role
from workflow.catalogue.models import Measure
from workflow.cycles.models import AuditEvent, Interview, MeasureCycle
from workflow.runtime import Runtime

ALLOWED_DE = "nicht begonnen, in Umsetzung, umgesetzt, Daueraufgabe, unklar"


def _coordinator() -> TestClient:
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    return client


def _contact_items(rt: Runtime) -> tuple[int, list[int]]:
    """Sabine Krüger (A1.2, A1.3, …): her measures' stays, by measure code."""
    with rt.sessions() as session:
        measure = session.scalars(select(Measure).where(Measure.code == "A1.2")).one()
        assert measure.contact_id is not None
        ids = session.scalars(
            select(MeasureCycle.id)
            .join(Measure, Measure.id == MeasureCycle.measure_id)
            .where(Measure.contact_id == measure.contact_id)
            .order_by(Measure.code)
        ).all()
        return measure.contact_id, list(ids)


def _versions(client: TestClient, contact_id: int, ids: list[int]) -> dict[str, str]:
    form = client.get(f"/erstgespraech/{contact_id}").text
    out = {}
    for mc_id in ids:
        found = re.search(rf'name="version_{mc_id}" value="(\d+)"', form)
        assert found is not None
        out[f"version_{mc_id}"] = found[1]
    return out


def _version(rt: Runtime, mc_id: int) -> str:
    with rt.sessions() as session:
        mc = session.get(MeasureCycle, mc_id)
        assert mc is not None
        return str(mc.version)


def _interviews(rt: Runtime) -> list[Interview]:
    with rt.sessions() as session:
        return list(session.scalars(select(Interview)))


def test_a_status_outside_the_vocabulary_is_refused_on_the_page(rt: Runtime) -> None:
    seed(rt)
    client = _coordinator()
    contact_id, ids = _contact_items(rt)
    fields = {"held_on": "2026-03-02", "notify_confirmed": "1"}
    fields |= _versions(client, contact_id, ids[:1])
    fields |= {f"decision_{ids[0]}": "keep", f"status_{ids[0]}": "laufend"}
    response = client.post(
        f"/erstgespraech/{contact_id}", data=fields, headers=csrf_headers(client)
    )
    assert response.status_code == 422
    assert "„laufend“" in response.text and ALLOWED_DE in response.text
    assert _interviews(rt) == []


def test_a_status_outside_the_vocabulary_is_refused_by_the_api(rt: Runtime) -> None:
    s: Seed = seed(rt)
    client = TestClient(create_app())
    _, ids = _contact_items(rt)
    response = client.post(
        f"/api/v1/measure-cycles/{ids[0]}/transitions",
        json={
            "event": "record_interview",
            "version": int(_version(rt, ids[0])),
            "payload": {
                "decision": "keep",
                "implementation_status": "laufend",
                "held_on": "2026-03-02",
            },
        },
        headers=bearer(s, Role.COORDINATOR),
    )
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert (
        "laufend" in message
        and "not_started, in_progress, implemented, ongoing, unclear" in message
    )
    assert _interviews(rt) == []
    ok = client.post(
        f"/api/v1/measure-cycles/{ids[0]}/transitions",
        json={
            "event": "record_interview",
            "version": int(_version(rt, ids[0])),
            "payload": {
                "decision": "keep",
                "implementation_status": "in_progress",
                "held_on": "2026-03-02",
            },
        },
        headers=bearer(s, Role.COORDINATOR),
    )
    assert ok.status_code == 200, ok.text
    assert [i.implementation_status for i in _interviews(rt)] == ["in_progress"]


def test_a_status_outside_the_vocabulary_is_refused_on_the_measure_page(rt: Runtime) -> None:
    seed(rt)
    client = _coordinator()
    _, ids = _contact_items(rt)
    response = client.post(
        f"/massnahmen/{ids[0]}/aktion",
        data={
            "action": "record_interview",
            "version": _version(rt, ids[0]),
            "decision": "keep",
            "implementation_status": "laufend",
            "held_on": "2026-03-02",
            "notify_confirmed": "1",
        },
        headers=csrf_headers(client),
    )
    assert response.status_code == 422
    assert "„laufend“" in response.text and ALLOWED_DE in response.text
    assert _interviews(rt) == []


def test_adapt_on_the_interview_page_opens_each_adapted_measure_for_editing(
    rt: Runtime,
) -> None:
    seed(rt)
    client = _coordinator()
    contact_id, ids = _contact_items(rt)
    first, second = ids[0], ids[1]
    fields = {"held_on": "2026-03-02", "notify_confirmed": "1"}
    fields |= _versions(client, contact_id, [first, second])
    fields |= {f"decision_{first}": "adapt", f"decision_{second}": "adapt"}
    fields |= {f"status_{first}": "in_progress"}
    response = client.post(
        f"/erstgespraech/{contact_id}",
        data=fields,
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/massnahmen/{first}/bearbeiten?weiter={second}"
    assert len(_interviews(rt)) == 2

    form = client.get(response.headers["location"])
    assert form.status_code == 200
    assert "Bitte passen Sie die Maßnahme jetzt an." in form.text
    assert 'value="Praktikumsbörse für junge Zugewanderte"' in form.text
    assert "Eine jährlich aktualisierte Praktikumsbörse" in form.text
    assert f'name="weiter" value="{second}"' in form.text

    saved = client.post(
        f"/massnahmen/{first}/bearbeiten",
        data={
            "title": "Praktikumsbörse für junge Zugewanderte und Geflüchtete",
            "description": "Die Börse wird zweimal im Jahr aktualisiert.",
            "goal_id": _selected(form.text, "goal_id"),
            "department_id": _selected(form.text, "department_id"),
            "weiter": str(second),
        },
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/massnahmen/{second}/bearbeiten"
    with rt.sessions() as session:
        measure = session.scalars(select(Measure).where(Measure.code == "A1.2")).one()
        assert measure.title == "Praktikumsbörse für junge Zugewanderte und Geflüchtete"
        assert measure.description == "Die Börse wird zweimal im Jahr aktualisiert."
        (event,) = session.scalars(
            select(AuditEvent).where(AuditEvent.event == "measure_edited")
        ).all()
    assert event.measure_cycle_id == first
    assert event.payload["changed"] == ["description", "title"]
    assert event.payload["previous"]["title"] == "Praktikumsbörse für junge Zugewanderte"
    timeline = client.get(f"/massnahmen/{first}").text
    assert "Maßnahme angepasst" in timeline


def _selected(html: str, name: str) -> str:
    select_ = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select_ is not None, name
    chosen = re.search(r'<option value="(\d+)" selected>', select_[1])
    assert chosen is not None, name
    return chosen[1]


def test_adapt_on_the_measure_page_opens_the_edit_form_which_checks_what_was_typed(
    rt: Runtime,
) -> None:
    seed(rt)
    client = _coordinator()
    _, ids = _contact_items(rt)
    recorded = client.post(
        f"/massnahmen/{ids[0]}/aktion",
        data={
            "action": "record_interview",
            "version": _version(rt, ids[0]),
            "decision": "adapt",
            "held_on": "2026-03-02",
            "notify_confirmed": "1",
            "implementation_status": "not_started",
        },
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert recorded.status_code == 303
    assert recorded.headers["location"] == f"/massnahmen/{ids[0]}/bearbeiten"
    form = client.get(recorded.headers["location"]).text
    empty = client.post(
        f"/massnahmen/{ids[0]}/bearbeiten",
        data={
            "title": "  ",
            "description": "neu",
            "goal_id": _selected(form, "goal_id"),
            "department_id": _selected(form, "department_id"),
        },
        headers=csrf_headers(client),
    )
    assert empty.status_code == 422
    assert "Bitte einen Titel angeben." in empty.text and ">neu</textarea>" in empty.text
    with rt.sessions() as session:
        measure = session.scalars(select(Measure).where(Measure.code == "A1.2")).one()
        assert measure.description.startswith("Eine jährlich aktualisierte")

    steering = TestClient(create_app())
    login(steering, Role.STEERING)
    assert steering.get(f"/massnahmen/{ids[0]}/bearbeiten").status_code == 403
