"""Server-side sessions on both databases: sign-out and deactivation end them, idle ones expire."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.conftest import make_runtime
from tests.dashboard_seed import EMAILS, PASSWORD, Seed, bearer, csrf_headers, login, seed
from workflow import runtime
from workflow.accounts import Role, User, add_or_update_user
from workflow.catalogue.service import ensure_organisation
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.runtime import Runtime


def _signed_in(client: TestClient) -> bool:
    return client.get("/api/v1/me").status_code == 200


def _copy(app: object, client: TestClient) -> TestClient:
    """A second browser holding a copy of the first one's cookies."""
    return TestClient(app, cookies=dict(client.cookies))  # type: ignore[arg-type]


def test_logout_ends_the_session_on_the_server(rt: Runtime) -> None:
    seed(rt)
    app = create_app()
    client = TestClient(app)
    login(client, Role.COORDINATOR)
    stolen = _copy(app, client)
    assert _signed_in(stolen)
    out = client.post("/logout", headers=csrf_headers(client), follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert not _signed_in(client)
    assert stolen.get("/api/v1/me").status_code == 401
    assert stolen.get("/pipeline", follow_redirects=False).headers["location"].startswith("/login")


def test_signing_in_again_keeps_other_sessions_but_ends_the_replaced_one(rt: Runtime) -> None:
    seed(rt)
    app = create_app()
    office, laptop = TestClient(app), TestClient(app)
    login(office, Role.COORDINATOR)
    login(laptop, Role.COORDINATOR)
    before = _copy(app, office)
    login(office, Role.STEERING)  # the same browser signs in as someone else
    assert office.get("/api/v1/me").json()["role"] == "steering"
    assert _signed_in(laptop)
    assert not _signed_in(before)


def test_sessions_expire_after_the_idle_time(rt: Runtime, clock: FrozenClock) -> None:
    seed(rt)
    client = TestClient(create_app())
    login(client, Role.STEERING)
    for _ in range(3):  # in use: it stays alive well past the idle time in total
        clock.advance(timedelta(minutes=55))
        assert _signed_in(client)
    clock.advance(timedelta(minutes=61))
    assert not _signed_in(client)
    assert client.get("/pipeline", follow_redirects=False).status_code == 303


@pytest.fixture
def short_idle(database_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Runtime]:
    yield make_runtime(database_url, clock, tmp_path, session_idle_minutes=5)
    runtime.install(None)


def test_the_idle_time_is_a_setting(short_idle: Runtime, clock: FrozenClock) -> None:
    seed(short_idle)
    client = TestClient(create_app())
    login(client, Role.STEERING)
    clock.advance(timedelta(minutes=4))
    assert _signed_in(client)
    clock.advance(timedelta(minutes=5, seconds=1))
    assert not _signed_in(client)


def test_last_seen_is_written_at_most_once_a_minute(rt: Runtime, clock: FrozenClock) -> None:
    from workflow.sessions import UserSession

    seed(rt)
    client = TestClient(create_app())
    login(client, Role.STEERING)

    def last_seen() -> object:
        with rt.sessions() as s:
            return s.scalars(select(UserSession.last_seen_at)).one()

    started = last_seen()
    assert started == clock.now()
    clock.advance(timedelta(seconds=50))
    assert client.get("/api/v1/pipeline").status_code == 200
    assert last_seen() == started
    clock.advance(timedelta(seconds=20))
    assert client.get("/api/v1/pipeline").status_code == 200
    assert last_seen() == clock.now()


def _other_organisation_user(rt: Runtime) -> int:
    with unit_of_work(rt.sessions) as session:
        other = ensure_organisation(session, slug="nachbarstadt", name="Nachbarstadt")
        session.flush()
        user = add_or_update_user(
            session=session,
            organisation_id=other.id,
            email="admin@nachbarstadt.example.org",
            role=Role.ADMIN,
            password=PASSWORD,
            now=rt.clock.now(),
        )
        return user.id


def _deactivate_by_api(client: TestClient, user_id: int) -> object:
    return client.post(f"/api/v1/users/{user_id}/deactivate", headers=csrf_headers(client))


def test_deactivating_an_account_ends_its_sessions_and_tokens(rt: Runtime) -> None:
    s: Seed = seed(rt)
    foreign = _other_organisation_user(rt)
    app = create_app()
    admin, coordinator = TestClient(app), TestClient(app)
    login(admin, Role.ADMIN)
    login(coordinator, Role.COORDINATOR)
    script = TestClient(app)
    assert script.get("/api/v1/me", headers=bearer(s, Role.COORDINATOR)).status_code == 200

    done = _deactivate_by_api(admin, s.user_ids[Role.COORDINATOR])
    assert done.status_code == 200, done.text  # type: ignore[attr-defined]
    assert done.json()["active"] is False  # type: ignore[attr-defined]
    assert not _signed_in(coordinator)
    assert script.get("/api/v1/me", headers=bearer(s, Role.COORDINATOR)).status_code == 401
    again = TestClient(app).post(
        "/login",
        data={"email": EMAILS[Role.COORDINATOR], "password": PASSWORD},
        headers=csrf_headers(TestClient(app)),
        follow_redirects=False,
    )
    assert again.status_code != 303
    listed = {u["email"]: u["active"] for u in admin.get("/api/v1/users").json()}
    assert listed[EMAILS[Role.COORDINATOR]] is False and listed[EMAILS[Role.ADMIN]] is True

    # Another organisation's account is not there at all; one's own cannot be switched off.
    assert _deactivate_by_api(admin, foreign).status_code == 404  # type: ignore[attr-defined]
    own = _deactivate_by_api(admin, s.user_ids[Role.ADMIN])
    assert own.status_code == 409  # type: ignore[attr-defined]
    with rt.sessions() as session:
        assert session.get(User, foreign).active is True  # type: ignore[union-attr]
    assert _signed_in(admin)


def test_an_admin_deactivates_an_account_on_the_account_page(rt: Runtime) -> None:
    s = seed(rt)
    app = create_app()
    admin, steering = TestClient(app), TestClient(app)
    login(admin, Role.ADMIN)
    login(steering, Role.STEERING)
    page = admin.get("/konto")
    target = f"/konto/konten/{s.user_ids[Role.STEERING]}/deaktivieren"
    assert EMAILS[Role.STEERING] in page.text and f'action="{target}"' in page.text
    assert f"/konto/konten/{s.user_ids[Role.ADMIN]}/deaktivieren" not in page.text
    assert "/deaktivieren" not in steering.get("/konto").text  # only admins see the list
    refused = steering.post(target, headers=csrf_headers(steering), follow_redirects=False)
    assert refused.status_code == 403
    done = admin.post(target, headers=csrf_headers(admin), follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/konto"
    assert not _signed_in(steering)
    with rt.sessions() as session:
        user = session.scalars(select(User).where(User.email == EMAILS[Role.STEERING])).one()
        assert user.active is False
    shown = admin.get("/konto")
    assert "Das Konto ist deaktiviert." in shown.text
