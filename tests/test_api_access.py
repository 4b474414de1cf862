"""Who may do what: every route of the app, called by every role, allowed or refused as declared.

The list of routes comes from ``app.routes``; a route that declares no access policy
(``Reader``, ``Coordinator``, ``Admin`` or ``PublicRoute`` from api.deps) fails this test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from notifications.models import OutboxMessage
from tests.dashboard_seed import Seed, csrf_headers, login, seed
from workflow.accounts import ApiToken, Role
from workflow.catalogue.models import Contact
from workflow.cycles.service import record_interview
from workflow.db import unit_of_work
from workflow.runtime import Runtime

ANONYMOUS = "anonymous"
IDENTITIES: list[Any] = [ANONYMOUS, Role.COORDINATOR, Role.STEERING, Role.ADMIN]
# Routes without a FastAPI dependant: the schema and its viewers, and static files.
DOCUMENTATION = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# The contact forms: the random token in the URL is the credential (owned by api/forms).
TOKEN_IN_URL = re.compile(r"^/f/")
# Routes a steering account passes by role while the data may still refuse it: a status
# request needs a body whose scope covers the measure, and the seed's steering account sits in
# none, so it gets the domain's own coded 403 (tests/test_status_request.py owns the rule).
SCOPED = {
    ("POST", "/api/v1/measure-cycles/{item_id}/status-request"),
    ("POST", "/massnahmen/{item_id}/sachstand"),
}
# Checking an indicator value: a steering account passes by role, but only members of a
# Monitoringgruppe may check (tests/test_value_checks.py owns the rule); the seed has none.
MONITORING = {
    ("POST", "/api/v1/indicator-values/{value_id}/check"),
    ("POST", "/kennzahlen/pruefung/{value_id}"),
}


def declared_roles(dependant: Any) -> frozenset[str] | None:
    """The roles a route's dependency tree lets through, or None if it declares nothing."""
    found: set[str] = set()
    stack = [dependant]
    declared = False
    while stack:
        node = stack.pop()
        roles = getattr(node.call, "zf_roles", None) if node.call else None
        if roles is not None:
            if declared:
                found &= set(roles)  # two checks on one route: both must pass
            else:
                found |= set(roles)
            declared = True
        stack.extend(node.dependencies)
    return frozenset(found) if declared else None


def app_routes() -> list[tuple[str, str, frozenset[str] | None]]:
    app = create_app()
    out = []
    for route in iter_route_contexts(app.routes):
        path = getattr(route, "path", "")
        dependant = getattr(route, "dependant", None)
        for method in sorted(getattr(route, "methods", None) or []):
            if method == "HEAD":
                continue
            roles = declared_roles(dependant) if dependant is not None else None
            out.append((method, path, roles))
    return out


def test_every_route_declares_who_may_call_it(rt_sqlite: Runtime) -> None:
    undeclared = [
        (method, path)
        for method, path, roles in app_routes()
        if roles is None and path not in DOCUMENTATION and not TOKEN_IN_URL.match(path)
    ]
    assert undeclared == []
    paths = {p for _, p, _ in app_routes()}
    assert {"/api/v1/pipeline", "/api/v1/measure-cycles", "/healthz"} <= paths
    assert "/api/v1/measure-cycles/{item_id}/transitions" in paths


def _fill(path: str, s: Seed, ids: dict[str, int]) -> str:
    values = {
        "item_id": s.item_ids[0],
        "record_id": 1,
        "year": 2026,
        "contact_id": ids["contact"],
        "message_id": ids["message"],
        "token_id": ids["token"],
        "lang": "en",
        "token": "unknown-token",
        "name": "1-00001.eml",
        "kind": "annual",
        # Indicators and data requests (none exist in the seed: allowed roles get a 404).
        "indicator_id": 1,
        "request_id": 1,
        # The first department of the example catalogue: its head is edited on /fachbereiche.
        "department_id": 1,
        # No such account: an admin gets a 404 and nobody is switched off mid-walk.
        "user_id": 2**31 - 1,
        # Bodies and members (none exist in the seed: allowed roles get a 404).
        "body_id": 1,
        "member_id": 1,
        # Meetings (none exist in the seed: allowed roles get a 404).
        "meeting_id": 1,
        # Decisions (none exist in the seed: allowed roles get a 404).
        "decision_id": 1,
        # Status checks (none exist in the seed: allowed roles get a 404).
        "status_check_id": 1,
        # The Integrationskonferenz (none exists in the seed: allowed roles get a 404); its
        # public links carry an unknown token or survey code.
        "actor_id": 1,
        "conference_id": 1,
        "raw": "unknown-token",
        "code": "UNKNOWN1",
        # Indicator values and dimensions (none exist in the seed).
        "value_id": 1,
        "dimension_id": 1,
        # A town of the reader's district (the seed's organisation is no district: 404).
        "slug": "burscheid",
        # A goal of the example catalogue (a town's link to a district goal: 404 for a city).
        "goal_id": 1,
    }
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(values[m.group(1)]), path)


def _refused(response: Any) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code == 303 and response.headers["location"].startswith("/login")


def test_every_route_with_every_role(rt_sqlite: Runtime) -> None:
    s = seed(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as session:
        # One item on to Zielvereinbarung, so there is an outbox message to resend.
        record_interview(
            session=session,
            clock=rt_sqlite.clock,
            measure_cycle_id=s.item_ids[1],
            expected_version=None,
            actor="test",
            decision="keep",
        )
        session.execute(update(OutboxMessage).values(status="sent"))
        ids = {
            "contact": session.scalars(select(Contact.id).order_by(Contact.id)).first() or 0,
            "message": session.scalars(select(OutboxMessage.id)).first() or 0,
            "token": session.scalars(select(ApiToken.id).order_by(ApiToken.id)).first() or 0,
        }
    app = create_app()
    cookies: dict[Any, dict[str, str]] = {}
    for identity in IDENTITIES:
        client = TestClient(app)
        csrf_headers(client)
        if identity != ANONYMOUS:
            login(client, identity)
        cookies[identity] = dict(client.cookies)

    checked = 0
    # Signing out ends the session on the server, so every identity's cookie goes last.
    for method, path, roles in sorted(app_routes(), key=lambda r: r[1] == "/logout"):
        if roles is None:
            continue  # documentation and token-in-URL forms, asserted above
        url = _fill(path, s, ids)
        for identity in IDENTITIES:
            client = TestClient(app, cookies=cookies[identity])
            headers = csrf_headers(client)
            response = client.request(
                method,
                url,
                headers=headers,
                json={} if url.startswith("/api/") and method != "GET" else None,
                follow_redirects=False,
            )
            allowed = "public" in roles or (identity != ANONYMOUS and identity.value in roles)
            where = f"{method} {url} as {identity}: {response.status_code} {response.text[:200]}"
            if "public" in roles:
                # Public pages may send a visitor to the login page; they never refuse outright.
                assert response.status_code not in (401, 403), where
                assert response.status_code < 500, where
            elif allowed and (method, path) in MONITORING and identity == Role.STEERING:
                assert response.status_code == 403, where
            elif allowed and (method, path) in SCOPED and identity == Role.STEERING:
                assert response.status_code == 403, where
                coded = '"not_allowed"' in response.text or "Mitglieder eines Gremiums" in response.text
                assert coded, where
            elif allowed:
                assert not _refused(response), where
                assert response.status_code < 500, where
            else:
                assert _refused(response), where
            checked += 1
    assert checked > 4 * 60


def test_the_role_matrix_is_what_the_issue_asks(rt_sqlite: Runtime) -> None:
    table = {(m, p): r for m, p, r in app_routes()}
    reader = frozenset({"coordinator", "steering", "admin"})
    acting = frozenset({"coordinator", "admin"})
    assert table[("GET", "/api/v1/pipeline")] == reader
    assert table[("GET", "/api/v1/measure-cycles")] == reader
    assert table[("POST", "/api/v1/measure-cycles/{item_id}/transitions")] == acting
    assert table[("GET", "/api/v1/outbox")] == acting
    assert table[("GET", "/steuerung")] == reader
    assert table[("POST", "/massnahmen/{item_id}/aktion")] == acting
    assert table[("POST", "/api/v1/users")] == frozenset({"admin"})
    assert table[("GET", "/healthz")] == frozenset({"public"})
    # Reports and the answers export are read by everyone who may read the cycle.
    assert table[("GET", "/api/v1/reports/{kind}")] == reader
    assert table[("GET", "/api/v1/cycles/{year}/answers")] == reader
    assert table[("GET", "/berichte")] == reader
    # Indicators: everyone signed in reads, coordinators and admins write.
    assert table[("GET", "/api/v1/indicators")] == reader
    assert table[("GET", "/api/v1/indicators/{indicator_id}/values")] == reader
    assert table[("GET", "/api/v1/data-requests")] == reader
    assert table[("POST", "/api/v1/indicators")] == acting
    assert table[("PATCH", "/api/v1/indicators/{indicator_id}")] == acting
    assert table[("POST", "/api/v1/indicators/{indicator_id}/values")] == acting
    assert table[("POST", "/api/v1/data-requests/{request_id}/remind")] == acting
    assert table[("GET", "/kennzahlen")] == reader
    assert table[("POST", "/kennzahlen/anfragen/{request_id}/erinnern")] == acting
    # Steering members change nothing but their own account…
    # …and asking a measure's contact for the status (issue 11, item 5; seed 000).
    steering_writes = [p for (m, p), r in table.items() if m != "GET" and r and "steering" in r]
    assert sorted(steering_writes) == [
        # …checking indicator values, as a member of a Monitoringgruppe (issue 16, item 3)…
        "/api/v1/indicator-values/{value_id}/check",
        "/api/v1/measure-cycles/{item_id}/status-request",
        "/kennzahlen/pruefung/{value_id}",
        "/konto/tokens",
        "/konto/tokens/{token_id}/widerrufen",
        "/massnahmen/{item_id}/sachstand",
        # …or starting a status check of it (issue 12, item 1)…
        "/massnahmen/{item_id}/sachstandsabfrage",
        # …or choosing which of their organisations the pages act for (issue 15, item 1).
        "/organisation/wechseln",
    ]
    assert table[("POST", "/api/v1/measure-cycles/{item_id}/status-request")] == reader
    assert table[("POST", "/massnahmen/{item_id}/sachstand")] == reader
    assert table[("GET", "/mein-gremium")] == reader
    # The decisions register: everyone signed in reads, coordinators and admins record.
    assert table[("GET", "/beschluesse")] == table[("GET", "/api/v1/decisions")] == reader
    assert table[("POST", "/api/v1/decisions")] == acting
    assert table[("POST", "/sitzungen/{meeting_id}/beschluesse/neu")] == acting


@pytest.mark.parametrize("header", ["Bearer nonsense", "Basic abc", "Bearer "])
def test_a_bad_authorization_header_never_falls_back_to_the_cookie(
    rt_sqlite: Runtime, header: str
) -> None:
    seed(rt_sqlite)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    assert client.get("/api/v1/pipeline").status_code == 200
    response = client.get("/api/v1/pipeline", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
