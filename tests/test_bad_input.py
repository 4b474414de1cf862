"""Bad input is a 4xx, never a 500: the .ics invitation's start, and every query parameter of
every GET route (derived from ``app.routes``) fed dates and numbers at and past their ends.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select

from api.app import create_app
from tests.dashboard_seed import Seed, login, seed
from workflow.accounts import Role
from workflow.catalogue.models import Contact, Measure
from workflow.runtime import Runtime

EXTREMES = (
    "9999-12-31", "0001-01-01", "9999-12-31T23:59", "0001-01-01T00:00", "2026-13-45",
    "99999999999999999999", "-99999999999", "1e400", "nan", "-1", "0", "",
)  # fmt: skip


def _contact_with_items(rt: Runtime, s: Seed) -> int:
    with rt.sessions() as session:
        contact = session.scalars(
            select(Contact.id)
            .join(Measure, Measure.contact_id == Contact.id)
            .where(Contact.organisation_id == s.organisation_id)
            .order_by(Contact.id)
        ).first()
    assert contact is not None
    return contact


@pytest.mark.parametrize("start", ["9999-12-31T23:59", "0001-01-01T00:00", "2101-01-01T10:00"])
def test_an_invitation_start_out_of_range_is_a_422_page(rt: Runtime, start: str) -> None:
    s = seed(rt)
    contact = _contact_with_items(rt, s)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    response = client.get(f"/erstgespraech/{contact}/einladung.ics", params={"start": start})
    assert response.status_code == 422
    assert "Der Beginn muss ein Datum mit Uhrzeit zwischen 01.01.2000 und 31.12.2100 sein." in (
        response.text
    )
    english = client.get(
        f"/erstgespraech/{contact}/einladung.ics", params={"start": start, "lang": "en"}
    )
    assert english.status_code == 422 and "The start must be a date and time" in english.text
    fine = client.get(f"/erstgespraech/{contact}/einladung.ics?start=2026-04-01T09:30")
    assert fine.status_code == 200
    event = Calendar.from_ical(fine.content).walk("VEVENT")[0]
    assert event.decoded("dtstart").isoformat().startswith("2026-04-01T09:30")


def _get_routes(app: Any) -> list[tuple[str, list[str]]]:
    out = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if "GET" in (getattr(route, "methods", None) or []) and dependant is not None:
            params = sorted({p.alias for p in _query_params(dependant)})
            if params:
                out.append((route.path, params))
    return out


def _query_params(dependant: Any) -> list[Any]:
    found = list(dependant.query_params)
    for sub in dependant.dependencies:
        found.extend(_query_params(sub))
    return found


def test_no_query_parameter_of_any_get_route_makes_a_500(rt_sqlite: Runtime) -> None:
    s = seed(rt_sqlite)
    contact = _contact_with_items(rt_sqlite, s)
    app = create_app()
    client = TestClient(app, raise_server_exceptions=False)
    login(client, Role.ADMIN)
    routes = _get_routes(app)
    paths = {p for p, _ in routes}
    assert (
        "/erstgespraech/{contact_id}/einladung.ics" in paths and "/api/v1/reports/{kind}" in paths
    )
    values = {"item_id": s.item_ids[0], "contact_id": contact, "year": 2026, "lang": "de"}
    failures = []
    for path, params in routes:
        kinds = ("annual", "status-quo", "meeting") if "{kind}" in path else ("",)
        for kind in kinds:
            url = re.sub(
                r"\{(\w+)(:\w+)?\}",
                lambda m, kind=kind: str(kind or values.get(m.group(1), 1)),  # type: ignore[misc]
                path,
            )
            for name in params:
                for value in EXTREMES:
                    response = client.get(url, params={name: value})
                    if response.status_code >= 500:
                        failures.append(f"{url}?{name}={value}: {response.status_code}")
    assert failures == []
