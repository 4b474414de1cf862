"""API tokens expire (90 days unless set otherwise), read tokens only read, no token mints one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from tests.conftest import make_runtime
from tests.dashboard_seed import Seed, bearer, csrf_headers, login, seed
from workflow import runtime
from workflow.accounts import ApiToken, Role
from workflow.clock import FrozenClock
from workflow.runtime import Runtime

NEW_TOKEN = re.compile(r'<code id="new-token">([^<]+)</code>')


def _create(client: TestClient, name: str, **form: str) -> str:
    page = client.post("/konto/tokens", data={"name": name, **form}, headers=csrf_headers(client))
    assert page.status_code == 200, page.text
    found = NEW_TOKEN.search(page.text)
    assert found is not None
    return found[1]


def test_a_token_expires_after_90_days_and_says_when(rt: Runtime, clock: FrozenClock) -> None:
    seed(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    raw = _create(client, "Berichtsskript")
    headers = {"Authorization": f"Bearer {raw}"}
    script = TestClient(create_app())
    listed = script.get("/api/v1/tokens", headers=headers)
    assert listed.status_code == 200, listed.text
    mine = next(t for t in listed.json() if t["name"] == "Berichtsskript")
    assert mine["expires_at"].startswith("2026-05-31")  # 2 March + 90 days
    assert mine["scope"] == "write" and raw not in listed.text  # as before: the account's rights
    assert "31.05.2026" in client.get("/konto").text
    clock.advance(timedelta(days=90) - timedelta(seconds=1))
    assert script.get("/api/v1/me", headers=headers).status_code == 200
    clock.advance(timedelta(seconds=1))
    expired = script.get("/api/v1/me", headers=headers)
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "unauthenticated"
    login(client, Role.COORDINATOR)  # the browser session itself has long gone idle
    assert "abgelaufen" in client.get("/konto").text


@pytest.fixture
def short_tokens(database_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Runtime]:
    yield make_runtime(database_url, clock, tmp_path, api_token_days=7)
    runtime.install(None)


def test_the_lifetime_is_a_setting(short_tokens: Runtime, clock: FrozenClock) -> None:
    seed(short_tokens)
    client = TestClient(create_app())
    login(client, Role.STEERING)
    headers = {"Authorization": f"Bearer {_create(client, 'kurz')}"}
    clock.advance(timedelta(days=7, seconds=1))
    assert TestClient(create_app()).get("/api/v1/me", headers=headers).status_code == 401


def test_a_read_token_reads_and_never_writes(rt: Runtime) -> None:
    seed(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    reader = {"Authorization": f"Bearer {_create(client, 'Auswertung', scope='read')}"}
    writer = {"Authorization": f"Bearer {_create(client, 'Pflege', scope='write')}"}
    script = TestClient(create_app())
    assert script.get("/api/v1/pipeline", headers=reader).status_code == 200
    refused = script.post("/api/v1/cycles", json={"year": 2027}, headers=reader)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "token_read_only"
    assert script.post("/api/v1/cycles", json={"year": 2027}, headers=writer).status_code == 201
    scopes = {t["name"]: t["scope"] for t in script.get("/api/v1/tokens", headers=reader).json()}
    assert scopes["Auswertung"] == "read" and scopes["Pflege"] == "write"


def test_a_token_cannot_mint_or_manage_tokens(rt: Runtime) -> None:
    s: Seed = seed(rt)
    script = TestClient(create_app())
    headers = bearer(s, Role.COORDINATOR)  # a write token
    with rt.sessions() as session:
        count = session.scalar(select(func.count()).select_from(ApiToken))
        own = session.scalars(select(ApiToken.id).order_by(ApiToken.id)).first()
    minted = script.post("/konto/tokens", data={"name": "von einem Token"}, headers=headers)
    assert minted.status_code == 403
    assert NEW_TOKEN.search(minted.text) is None
    revoked = script.post(f"/konto/tokens/{own}/widerrufen", headers=headers)
    assert revoked.status_code == 403
    assert script.get("/konto", headers=headers).status_code == 403
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ApiToken)) == count
        assert session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_not(None))).all() == []


def test_a_revoked_token_and_a_deactivated_users_token_are_refused(rt: Runtime) -> None:
    """The token, its user and the home organisation come from one statement; each check on
    them still refuses on its own."""
    from workflow.accounts import User

    seed(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    kept, revoked = _create(client, "Skript A"), _create(client, "Skript B")
    script = TestClient(create_app())

    def status(raw: str) -> int:
        return script.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code

    assert (status(kept), status(revoked), status(kept[:-2] + "xx")) == (200, 200, 401)
    with rt.sessions.begin() as s:
        token = s.scalars(select(ApiToken).where(ApiToken.name == "Skript B")).one()
        token.revoked_at = rt.clock.now()
        user_id = token.user_id
    assert (status(kept), status(revoked)) == (200, 401)
    with rt.sessions.begin() as s:
        user = s.get(User, user_id)
        assert user is not None
        user.active = False
    assert status(kept) == 401
