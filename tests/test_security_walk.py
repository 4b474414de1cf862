"""Security walk over every route of ``app.routes``: tenants apart, cross-origin refused, headers.

Like the route × role walk in tests/test_api_access.py, the routes come from the app itself,
and so do their parameters (tests/route_walk.py), so a route added later is walked too.
One app and one seeded SQLite database (two organisations, tests/two_orgs.py) serve the whole
module: who may see what does not depend on the database. The runtime's environment is
``development``, the most permissive one, so the mail viewer is on.

1. Organisation B's accounts (each role, by session cookie and by API token) call every route
   with organisation A's ids in the path, the query and the body: no answer may contain any
   of A's data, and none of A's rows may change.
2. A state-changing request that carries only the session cookie, from another origin and
   without the CSRF token, is refused and changes nothing; with the token it is not refused
   for CSRF; API tokens need no CSRF token.
3. Every response carries the security headers: routes, static files, 404s and errors.
"""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Table, text
from starlette.routing import Mount

from api.app import create_app
from tests.conftest import BERLIN
from tests.dashboard_seed import EMAILS, PASSWORD, csrf_headers, login
from tests.route_walk import Call, Filler, OrgView, Route, app_routes, readable
from tests.two_orgs import (
    A_EMAILS,
    MARK,
    OrgData,
    TwoOrgs,
    cross_links,
    database_rows,
    reflect,
    rows_of,
    seed_two_orgs,
    sink_settings,
)
from workflow import runtime
from workflow.accounts import Role
from workflow.clock import FrozenClock
from workflow.config import Settings

EVIL = "https://evil.example"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Routes whose credential is a secret in the URL (a form link, a reset link): whoever holds
# it may use it, so they are not another organisation's to refuse. Their own tests own them.
CREDENTIAL_IN_URL = {"raw", "token", "code"}  # code: a conference survey's short link
ROLES = [Role.COORDINATOR, Role.ADMIN, Role.STEERING]
# Referrer policies that never send a path (form links carry their token there) elsewhere.
REFERRER_POLICIES = {
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "origin",
    "origin-when-cross-origin",
}
SHOWN = 80  # problems listed in a failure message


@dataclass(frozen=True)
class Identity:
    role: Role
    by: str  # "cookie" or "token"

    def __str__(self) -> str:
        return f"B-{self.role.value}/{self.by}"


IDENTITIES = [Identity(r, "cookie") for r in ROLES] + [Identity(r, "token") for r in ROLES]


@dataclass
class Walk:
    rt: runtime.Runtime
    app: FastAPI
    world: TwoOrgs
    clients: dict[Identity, TestClient]
    tables: list[Table]

    def client(self, identity: Identity) -> TestClient:
        return self.clients[identity]

    def ensure(self, identity: Identity) -> None:
        """After a request that may have ended the session: sign in again if it did."""
        if identity.by == "cookie":
            signed_in(self.clients[identity], identity.role)

    def digest(self) -> dict[str, str]:
        """Every table's rows, hashed: for "nothing changed" on the whole database."""
        with self.rt.engine.connect() as conn:
            rows = database_rows(conn, self.tables)
        return {
            t: hashlib.sha256(repr(sorted(r.items())).encode()).hexdigest() for t, r in rows.items()
        }

    def rows_of_a(self) -> dict[str, str]:
        with self.rt.engine.connect() as conn:
            return rows_of(conn, self.world.a.seed.organisation_id)


def view(org: OrgData) -> OrgView:
    return OrgView(
        ids={t: list(ids) for t, ids in org.ids.items()},
        versions=dict(org.versions),
        mails=list(org.mails),
        form_tokens=list(org.form_tokens),
        reset_tokens=list(org.reset_tokens),
    )


def signed_in(client: TestClient, role: Role) -> None:
    """Sign in again if a route of the walk ended the session (logout does, on purpose)."""
    me = client.get("/api/v1/me")
    if me.status_code != 200 or me.json().get("email") != EMAILS[role]:
        login(client, role)


@pytest.fixture(scope="module")
def walk(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walk]:
    work = tmp_path_factory.mktemp("security-walk")
    shutil.copy(sqlite_template, work / "walk.sqlite3")
    settings = Settings(
        database_url=f"sqlite:///{work / 'walk.sqlite3'}",
        var_dir=work / "var",
        environment="development",
        **sink_settings(work / "var"),
    )
    # 10 February: the February data requests are open, the cycle runs.
    clock = FrozenClock(datetime(2026, 2, 10, 10, 0, tzinfo=BERLIN))
    rt = runtime.build(settings, clock)
    runtime.install(rt)
    try:
        world = seed_two_orgs(rt, work)
        app = create_app()
        clients: dict[Identity, TestClient] = {}
        for identity in IDENTITIES:
            if identity.by == "cookie":
                clients[identity] = TestClient(app)
                login(clients[identity], identity.role)
            else:
                token = world.b.seed.tokens[identity.role]
                clients[identity] = TestClient(app, headers={"Authorization": f"Bearer {token}"})
        with rt.engine.connect() as conn:
            tables = reflect(conn)
        yield Walk(rt, app, world, clients, tables)
    finally:
        runtime.install(None)
        rt.engine.dispose()


def send(
    walk: Walk,
    identity: Identity | None,
    call: Call,
    *,
    csrf: bool,
    origin: str | None = None,
) -> Any:
    client = walk.client(identity) if identity else TestClient(walk.app)
    headers: dict[str, str] = {}
    if csrf:
        headers |= csrf_headers(client)
    if origin:
        headers["Origin"] = origin
    form = call.form
    if form is not None and identity is not None:
        # Forms that take an address and a password get the caller's own (the login form):
        # a wrong password would only count towards the login throttle.
        own = {"email": EMAILS[identity.role], "password": PASSWORD}
        form = form | {k: v for k, v in own.items() if k in form}
    return client.request(
        call.method,
        call.url,
        json=call.json,
        data=form,
        headers=headers,
        follow_redirects=False,
    )


def _report(problems: list[str]) -> str:
    by_route = Counter(p.split(" | ")[0] for p in problems)
    head = "\n".join(problems[:SHOWN])
    more = f"\n… and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
    return f"{len(problems)} problems on {len(by_route)} routes:\n{head}{more}"


def _credential_in_url(route: Route) -> bool:
    return bool(CREDENTIAL_IN_URL & set(route.params))


# --- 0. the walk reaches every route -------------------------------------------------------


def test_the_walk_can_fill_every_parameter(walk: Walk) -> None:
    """Every id a route takes (path, query, body) is matched to rows that organisation A owns.

    A route with a new kind of id fails here until tests/two_orgs.py gives A such a row.
    """
    filler = Filler(view(walk.world.a))
    routes = app_routes(walk.app)
    for route in routes:
        if not _credential_in_url(route):
            filler.calls(route)
    assert filler.unknown == set()
    assert len(routes) > 80


# --- 1. tenants ----------------------------------------------------------------------------


def test_two_organisations_never_see_or_change_each_others_data(walk: Walk) -> None:
    markers = walk.world.markers()
    a_token = walk.world.a.seed.tokens[Role.COORDINATOR]
    own = TestClient(walk.app).get(
        "/api/v1/measures", headers={"Authorization": f"Bearer {a_token}"}
    )
    assert MARK.lower() in own.text.lower()  # the markers are findable where A may look
    assert all(not any(m in readable(r) for m in markers) for r in _b_sees_own(walk))
    assert walk.world.a.mails and walk.world.a.reset_tokens and walk.world.a.form_tokens

    before = walk.rows_of_a()
    filler = Filler(view(walk.world.a))
    problems: list[str] = []
    sent = refused = 0
    for route in app_routes(walk.app):
        if _credential_in_url(route):
            continue
        for call in filler.calls(route):
            for identity in IDENTITIES:
                if call.variant and identity != IDENTITIES[0]:
                    continue
                response = send(walk, identity, call, csrf=identity.by == "cookie")
                if call.method not in SAFE_METHODS:
                    walk.ensure(identity)
                sent += 1
                refused += _is_refusal(response)
                where = f"{route.method} {route.path} | {call.url} as {identity}"
                shown = readable(response)
                leaked = [m for m in markers if m in shown]
                if leaked:
                    problems.append(f"{where}: {response.status_code} shows A's {leaked[:2]}")
                elif response.status_code >= 500:
                    problems.append(f"{where}: {response.status_code} {response.text[:120]}")
    after = walk.rows_of_a()
    changed = [
        f"A's {t}: {before[t]} -> {after.get(t)}" for t in before if after.get(t) != before[t]
    ]
    with walk.rt.engine.connect() as conn:
        links = cross_links(conn)
    assert sent > len(IDENTITIES) * 80 and refused > 0
    assert problems + changed + links == [], _report(changed + links + problems)
    for identity in IDENTITIES:  # still the same accounts at the end: the walk was real
        walk.ensure(identity)
        me = walk.client(identity).get("/api/v1/me")
        assert me.status_code == 200 and me.json()["email"] == EMAILS[identity.role]


def _b_sees_own(walk: Walk) -> list[Any]:
    client = walk.client(Identity(Role.COORDINATOR, "token"))
    return [client.get("/api/v1/measures"), client.get("/pipeline"), client.get("/kennzahlen")]


def _is_refusal(response: Any) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    location = response.headers.get("location", "")
    return response.status_code in (302, 303, 307) and location.startswith("/login")


def test_the_mail_viewer_shows_b_its_own_mail_and_none_of_a_s(walk: Walk) -> None:
    """The mail viewer on its own (environment "development", where it is on), so its result
    reads apart from the whole walk's: B sees its own mail, none of A's, and a reset link
    only as a (demo) admin."""
    b = walk.world.b
    own = [n for n in b.mails if b.mail_kinds[n] != "password_reset"]
    resets = [n for n in b.mails if b.mail_kinds[n] == "password_reset"]
    assert own and resets and walk.world.a.mails
    for role in (Role.COORDINATOR, Role.ADMIN):
        client = walk.client(Identity(role, "cookie"))
        listing = client.get("/mails")
        assert listing.status_code == 200, listing.text[:200]
        assert any(name in listing.text for name in own), f"{role.value} sees none of B's mail"
        assert A_EMAILS[Role.ADMIN] not in listing.text
        assert MARK.lower() not in listing.text.lower()
        for name in walk.world.a.mails:
            mail = client.get(f"/mails/{name}")
            assert mail.status_code in (403, 404), f"{role.value} opened A's {name}"
    coordinator = walk.client(Identity(Role.COORDINATOR, "cookie"))
    for name in resets:
        assert coordinator.get(f"/mails/{name}").status_code in (403, 404), name
    for token in b.reset_tokens:
        assert token not in coordinator.get("/mails").text


# --- 2. cross-origin requests with the cookie alone ----------------------------------------


def _b_view_without_walkers(walk: Walk) -> OrgView:
    """B's own ids, with the steering account standing in for "a user" and "a token", so a
    request that gets through never signs out the accounts the walk uses."""
    b = view(walk.world.b)
    steering = walk.world.b.seed.user_ids[Role.STEERING]
    b.ids["app_user"] = [steering]
    with walk.rt.engine.connect() as conn:
        b.ids["api_token"] = list(
            conn.execute(text("SELECT id FROM api_token WHERE user_id = :u"), {"u": steering})
            .scalars()
            .all()
        )
    return b


def test_cookie_only_cross_origin_requests_are_refused(walk: Walk) -> None:
    filler = Filler(_b_view_without_walkers(walk))
    unsafe = [r for r in app_routes(walk.app) if r.method not in SAFE_METHODS]
    # The session-ending ones last, so the walk's own sign-in lasts as long as possible.
    unsafe.sort(key=lambda r: r.path in ("/logout",))
    problems: list[str] = []
    checked = 0
    for route in unsafe:
        calls = [c for c in filler.calls(route) if not c.variant][:1]
        for call in calls:
            for role in (Role.COORDINATOR, Role.ADMIN):
                identity = Identity(role, "cookie")
                where = f"{route.method} {route.path} | {call.url} as {identity}"
                before = walk.digest()
                evil = send(walk, identity, call, csrf=False, origin=EVIL)
                after = walk.digest()
                walk.ensure(identity)
                checked += 1
                if evil.status_code != 403:
                    problems.append(f"{where}: cross-origin without token got {evil.status_code}")
                moved = sorted(t for t in before if before[t] != after.get(t))
                if moved:
                    problems.append(f"{where}: cross-origin without token changed {moved}")
                allowed = route.roles is None or bool({"public", role.value} & route.roles)
                fine = send(walk, identity, call, csrf=True)
                walk.ensure(identity)
                if allowed and fine.status_code == 403:
                    problems.append(f"{where}: refused although the CSRF token was sent")
    assert checked > 2 * 30
    assert problems == [], _report(problems)


def test_api_tokens_need_no_csrf_token(walk: Walk) -> None:
    """Bearer requests carry no ambient credential: another Origin and no token are fine."""
    filler = Filler(_b_view_without_walkers(walk))
    identity = Identity(Role.ADMIN, "token")
    problems = []
    for route in app_routes(walk.app):
        if route.method in SAFE_METHODS or not route.path.startswith("/api/"):
            continue
        if route.roles is not None and not {"public", identity.role.value} & route.roles:
            continue  # another role's route (the operator's) refuses by role: the access walk
        for call in [c for c in filler.calls(route) if not c.variant][:1]:
            response = send(walk, identity, call, csrf=False, origin=EVIL)
            if response.status_code in (401, 403):
                problems.append(f"{route.method} {call.url}: {response.status_code}")
    assert problems == [], _report(problems)


# --- 3. security headers -------------------------------------------------------------------


def header_problems(response: Any) -> list[str]:
    h = response.headers
    out = []
    csp = h.get("content-security-policy", "")
    directives = {
        parts[0].lower(): parts[1:] for parts in (d.split() for d in csp.split(";")) if parts
    }
    scripts = directives.get("script-src", directives.get("default-src"))
    if not csp:
        out.append("no Content-Security-Policy")
    elif scripts is None:
        out.append("CSP without script-src/default-src")
    elif "'unsafe-inline'" in scripts:
        out.append("CSP allows inline script")
    if h.get("x-frame-options", "").upper() != "DENY" and directives.get("frame-ancestors") != [
        "'none'"
    ]:
        out.append("framing allowed (X-Frame-Options/frame-ancestors)")
    if h.get("x-content-type-options", "").lower() != "nosniff":
        out.append("no X-Content-Type-Options: nosniff")
    if h.get("referrer-policy", "").lower() not in REFERRER_POLICIES:
        out.append(f"Referrer-Policy {h.get('referrer-policy')!r}")
    return out


def test_security_headers_on_every_route(walk: Walk) -> None:
    filler = Filler(_b_view_without_walkers(walk))
    problems: list[str] = []
    checked = 0
    for route in app_routes(walk.app):
        if route.path == "/logout":
            continue  # would sign the walk out; its answer is a redirect like /login's
        for call in [c for c in filler.calls(route) if not c.variant][:1]:
            for identity in (None, Identity(Role.COORDINATOR, "cookie"), IDENTITIES[-2]):
                response = send(walk, identity, call, csrf=identity is not None)
                if identity is not None and call.method not in SAFE_METHODS:
                    walk.ensure(identity)
                checked += 1
                missing = header_problems(response)
                if missing:
                    who = identity or "anonymous"
                    problems.append(
                        f"{route.method} {route.path} | {call.url} as {who}: "
                        f"{response.status_code} {missing}"
                    )
    assert checked > 3 * 80
    assert problems == [], _report(problems)


def _static_files(app: FastAPI) -> list[str]:
    for route in app.routes:
        if isinstance(route, Mount) and route.path == "/static":
            directory = Path(str(getattr(route.app, "directory", "")))
            return sorted(f"/static/{p.name}" for p in directory.iterdir() if p.is_file())
    raise AssertionError("no /static mount")


def test_security_headers_on_static_files_and_errors(walk: Walk) -> None:
    anonymous = TestClient(walk.app)
    coordinator = walk.client(Identity(Role.COORDINATOR, "token"))
    responses = {url: anonymous.get(url) for url in _static_files(walk.app)}
    responses |= {
        "404 page": anonymous.get("/gibt-es-nicht"),
        "404 api": coordinator.get("/api/v1/gibt-es-nicht"),
        "405": anonymous.delete("/healthz"),
        "422": coordinator.get("/api/v1/measure-cycles", params={"page": "x"}),
        "401": anonymous.get("/api/v1/pipeline"),
        "303 to login": anonymous.get("/pipeline", follow_redirects=False),
        "403 csrf": anonymous.post("/login", data={"email": "x"}),
    }
    # An unexpected error: a route of this test's own app instance that raises.
    broken = create_app()

    @broken.get("/walk-boom")
    def boom() -> None:
        raise RuntimeError("boom")

    responses["500"] = TestClient(broken, raise_server_exceptions=False).get("/walk-boom")
    assert responses["500"].status_code == 500 and len(responses) > 8
    problems = [
        f"{what}: {r.status_code} {header_problems(r)}"
        for what, r in responses.items()
        if header_problems(r)
    ]
    assert problems == [], _report(problems)
