"""CSRF: a request carried by the session cookie changes nothing unless it proves it came from
our own pages (the session-bound token, or our own ``Origin``); bearer requests are exempt.

The walk takes every state-changing route from ``app.routes``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.dashboard_seed import EMAILS, PASSWORD, bearer, csrf_headers, login, seed
from workflow.accounts import Role
from workflow.catalogue.models import Contact, Department, Field, Goal, Measure
from workflow.runtime import Runtime

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
EVIL = {"Origin": "https://evil.example.org"}
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
VALUES = {"lang": "en", "kind": "annual", "year": "2026", "name": "1-00001.eml"}


def _unsafe_routes() -> list[tuple[str, str]]:
    out = []
    for route in iter_route_contexts(create_app().routes):
        path = getattr(route, "path", "")
        for method in sorted(getattr(route, "methods", None) or []):
            if method in UNSAFE:
                out.append((method, path))
    return out


def _fill(path: str) -> str:
    # Any value will do: the check must refuse before a row is even looked up.
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: VALUES.get(m.group(1), "1"), path)


def _archive_targets(rt: Runtime) -> dict[str, int]:
    with rt.sessions() as session:
        return {
            path: session.scalars(select(model.id).order_by(model.id)).first() or 0
            for path, model in (
                ("fields", Field),
                ("goals", Goal),
                ("departments", Department),
                ("contacts", Contact),
                ("measures", Measure),
            )
        }


def _is_refused(response: Any) -> bool:
    if response.status_code != 403:
        return False
    if response.headers.get("content-type", "").startswith("application/json"):
        error = response.json()["error"]
        return error["code"] == "forbidden" and "CSRF" in error["message"]
    return True


def test_every_state_changing_route_refuses_a_cookie_without_the_token(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite)
    client = TestClient(create_app())
    login(client, Role.ADMIN)
    routes = _unsafe_routes()
    assert ("POST", "/api/v1/fields/{record_id}/archive") in routes
    assert ("POST", "/api/v1/outbox/{message_id}/resend") in routes
    assert ("POST", "/api/v1/data-requests/{request_id}/remind") in routes
    accepted = []
    for method, path in routes:
        url = _fill(path)
        body: dict[str, Any] = {"json": {}} if url.startswith("/api/") else {"data": {}}
        response = client.request(method, url, headers=EVIL, follow_redirects=False, **body)
        if not _is_refused(response):
            accepted.append(f"{method} {url}: {response.status_code}")
    assert accepted == []
    # Still signed in: nothing but the CSRF check refused those requests.
    assert client.get("/api/v1/me").status_code == 200


def test_body_less_archive_posts_need_the_token(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite)
    targets = _archive_targets(rt_sqlite)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    for path, record_id in targets.items():
        refused = client.post(f"/api/v1/{path}/{record_id}/archive")
        assert _is_refused(refused), (path, refused.status_code, refused.text[:200])
        assert client.get(f"/api/v1/{path}/{record_id}").json()["archived"] is False
    # With the token the same request goes through.
    done = client.post(f"/api/v1/fields/{targets['fields']}/archive", headers=csrf_headers(client))
    assert done.status_code == 200 and done.json()["archived"] is True


def test_our_own_origin_stands_in_for_the_token_and_a_foreign_one_does_not(
    rt_sqlite: Runtime,
) -> None:
    seed(rt_sqlite)
    targets = _archive_targets(rt_sqlite)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    own = rt_sqlite.settings.base_url.rstrip("/")  # http://127.0.0.1:8000 in tests
    for origin in ("null", "http://127.0.0.1:8001", "https://127.0.0.1:8000", own + ".evil.org"):
        response = client.post(
            f"/api/v1/goals/{targets['goals']}/archive", headers={"Origin": origin}
        )
        assert _is_refused(response), origin
    response = client.post(f"/api/v1/goals/{targets['goals']}/archive", headers={"Origin": own})
    assert response.status_code == 200 and response.json()["archived"] is True


def test_bearer_requests_need_no_token(rt_sqlite: Runtime) -> None:
    s = seed(rt_sqlite)
    targets = _archive_targets(rt_sqlite)
    script = TestClient(create_app())
    response = script.post(
        f"/api/v1/departments/{targets['departments']}/archive",
        headers={**bearer(s, Role.COORDINATOR), **EVIL},
    )
    assert response.status_code == 200 and response.json()["archived"] is True


def test_a_planted_csrf_cookie_does_not_validate(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite)
    targets = _archive_targets(rt_sqlite)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    planted = "A" * 43  # what a sibling subdomain could set as a cookie for the parent domain
    client.cookies.set("zf_csrf", planted)
    response = client.post(
        f"/api/v1/contacts/{targets['contacts']}/archive", headers={"X-CSRF-Token": planted}
    )
    assert _is_refused(response)
    form = client.post("/konto/tokens", data={"name": "untergeschoben", "csrf_token": planted})
    assert form.status_code == 403


def test_the_token_is_bound_to_the_session_and_renewed_at_sign_in(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite)
    targets = _archive_targets(rt_sqlite)
    app = create_app()
    victim = TestClient(app)
    page = victim.get("/login")
    before = TOKEN_FIELD.search(page.text)
    assert before is not None
    signed_in = victim.post(
        "/login",
        data={"email": EMAILS[Role.COORDINATOR], "password": PASSWORD, "csrf_token": before[1]},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    # Whoever saw the login page's token (or set up that session) cannot use it afterwards.
    stale = victim.post(
        f"/api/v1/measures/{targets['measures']}/archive", headers={"X-CSRF-Token": before[1]}
    )
    assert _is_refused(stale)
    # Nor does another visitor's valid token fit this session.
    attacker = TestClient(app)
    theirs = TOKEN_FIELD.search(attacker.get("/login").text)
    assert theirs is not None
    foreign = victim.post(
        f"/api/v1/measures/{targets['measures']}/archive", headers={"X-CSRF-Token": theirs[1]}
    )
    assert _is_refused(foreign)
    after = TOKEN_FIELD.search(victim.get("/konto").text)
    assert after is not None and after[1] != before[1]
    ok = victim.post(
        f"/api/v1/measures/{targets['measures']}/archive", headers={"X-CSRF-Token": after[1]}
    )
    assert ok.status_code == 200 and ok.json()["archived"] is True


def test_anonymous_forms_work_with_the_token_of_their_page(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite)
    client = TestClient(create_app())
    forgot = TOKEN_FIELD.search(client.get("/passwort/vergessen").text)
    assert forgot is not None
    sent = client.post(
        "/passwort/vergessen",
        data={"email": EMAILS[Role.STEERING], "csrf_token": forgot[1]},
    )
    assert sent.status_code == 200 and "Wenn es ein Konto" in sent.text
    without = TestClient(create_app()).post(
        "/passwort/vergessen", data={"email": EMAILS[Role.STEERING]}
    )
    assert without.status_code == 403
