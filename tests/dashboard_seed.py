"""Example data for the API and dashboard tests: the example catalogue, a cycle, one account per role."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import EXAMPLES
from workflow.accounts import Role, add_or_update_user, create_api_token
from workflow.catalogue.service import import_catalogue
from workflow.cycles.models import MeasureCycle
from workflow.cycles.service import open_cycle
from workflow.db import unit_of_work
from workflow.orgs import resolve_organisation
from workflow.runtime import Runtime

PASSWORD = "ein langes Passwort 123"
EMAILS = {role: f"{role.value}@musterstadt.example.org" for role in Role}


@dataclass
class Seed:
    organisation_id: int
    cycle_id: int
    item_ids: list[int]
    user_ids: dict[Role, int] = field(default_factory=dict)
    tokens: dict[Role, str] = field(default_factory=dict)


def seed(rt: Runtime, year: int = 2026) -> Seed:
    with unit_of_work(rt.sessions) as session:
        org = resolve_organisation(session, "musterstadt", create=True)
        import_catalogue(session=session, organisation_id=org.id, path=EXAMPLES / "catalogue.csv")
        result = open_cycle(session=session, clock=rt.clock, organisation_id=org.id, year=year)
        out = Seed(org.id, result.cycle_id, [])
        for role, email in EMAILS.items():
            user = add_or_update_user(
                session=session,
                organisation_id=org.id,
                email=email,
                role=role,
                password=PASSWORD,
                now=rt.clock.now(),
            )
            out.user_ids[role] = user.id
            out.tokens[role] = create_api_token(session, user, "test", rt.clock.now())[1]
        out.item_ids = list(
            session.scalars(
                select(MeasureCycle.id)
                .where(MeasureCycle.cycle_id == result.cycle_id)
                .order_by(MeasureCycle.id)
            )
        )
    return out


_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_headers(client: TestClient) -> dict[str, str]:
    """The CSRF token of the client's current session, as a page of ours would send it.

    Read from a form page every visitor can open; the token changes at each sign-in.
    """
    found = _CSRF_FIELD.search(client.get("/passwort/vergessen").text)
    assert found is not None, "no CSRF token on the page"
    return {"X-CSRF-Token": found[1]}


def login(client: TestClient, role: Role) -> None:
    response = client.post(
        "/login",
        data={"email": EMAILS[role], "password": PASSWORD},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/pipeline"


def bearer(s: Seed, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {s.tokens[role]}"}
