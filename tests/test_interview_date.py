"""The Erstgespräch date through the real form POST: bounded like the cycle, typed values return."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.dashboard_seed import csrf_headers, login, seed
from workflow.accounts import Role
from workflow.catalogue.models import Measure
from workflow.cycles.models import Interview, MeasureCycle
from workflow.runtime import Runtime


def _fields(rt: Runtime, client: TestClient, held_on: str) -> tuple[int, dict[str, str]]:
    with rt.sessions() as session:
        measure = session.scalars(select(Measure).where(Measure.code == "A1.2")).one()
        contact_id = measure.contact_id
        assert contact_id is not None
        ids = session.scalars(
            select(MeasureCycle.id)
            .join(Measure, Measure.id == MeasureCycle.measure_id)
            .where(Measure.contact_id == contact_id)
        ).all()
    form = client.get(f"/erstgespraech/{contact_id}").text
    fields = {"held_on": held_on, "participants": "S. Krüger", "notes": "gemeinsam"}
    fields["notify_confirmed"] = "1"
    for mc_id in ids:
        fields[f"decision_{mc_id}"] = "keep"
        found = re.search(rf'name="version_{mc_id}" value="(\d+)"', form)
        assert found is not None
        fields[f"version_{mc_id}"] = found[1]
    return contact_id, fields


@pytest.mark.parametrize("held_on", ["9999-12-31", "1900-01-01", "2028-01-01"])
def test_interview_date_outside_the_cycle_is_refused(rt: Runtime, held_on: str) -> None:
    seed(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    contact_id, fields = _fields(rt, client, held_on)
    response = client.post(
        f"/erstgespraech/{contact_id}", data=fields, headers=csrf_headers(client)
    )
    assert response.status_code == 422
    assert "zwischen dem 01.01.2025 und dem 31.12.2027" in response.text
    assert f'value="{held_on}"' in response.text and 'value="S. Krüger"' in response.text
    with rt.sessions() as session:
        assert session.scalars(select(Interview)).all() == []


def test_interview_date_inside_the_cycle_is_recorded(rt: Runtime) -> None:
    seed(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    contact_id, fields = _fields(rt, client, "2025-12-15")
    response = client.post(
        f"/erstgespraech/{contact_id}", data=fields, headers=csrf_headers(client)
    )
    assert "Das Erstgespräch ist gespeichert." in response.text
    with rt.sessions() as session:
        assert session.scalars(select(Interview)).all() != []


def _measure_page_post(rt: Runtime, client: TestClient, held_on: str) -> tuple[int, str]:
    with rt.sessions() as session:
        mc = session.scalars(
            select(MeasureCycle)
            .join(Measure, Measure.id == MeasureCycle.measure_id)
            .where(Measure.code == "A1.2")
        ).one()
        mc_id, version = mc.id, mc.version
    response = client.post(
        f"/massnahmen/{mc_id}/aktion",
        data={
            "action": "record_interview",
            "version": str(version),
            "decision": "keep",
            "held_on": held_on,
            "participants": "S. Krüger",
            "notify_confirmed": "1",
        },
        headers=csrf_headers(client),
    )
    return response.status_code, response.text


@pytest.mark.parametrize("held_on", ["9999-12-31", "1900-01-01", "2028-01-01"])
def test_the_measure_pages_interview_form_applies_the_same_bound(rt: Runtime, held_on: str) -> None:
    seed(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    status, text = _measure_page_post(rt, client, held_on)
    assert status == 422
    assert "zwischen dem 01.01.2025 und dem 31.12.2027" in text
    assert f'value="{held_on}"' in text and 'value="S. Krüger"' in text
    with rt.sessions() as session:
        assert session.scalars(select(Interview)).all() == []


def test_the_measure_pages_interview_form_records_a_date_inside(rt: Runtime) -> None:
    seed(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    status, text = _measure_page_post(rt, client, "2025-01-01")
    assert status == 200 and "zwischen dem" not in text
    with rt.sessions() as session:
        (interview,) = session.scalars(select(Interview)).all()
        assert interview.held_on is not None and interview.held_on.isoformat() == "2025-01-01"
