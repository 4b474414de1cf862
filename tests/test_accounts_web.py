"""Sign-in, sessions, password reset by emailed link and API tokens, on a real database."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from tests.conftest import make_runtime
from tests.dashboard_seed import EMAILS, PASSWORD, csrf_headers, login, seed
from workflow import runtime
from workflow.accounts import (
    ApiToken,
    PasswordResetToken,
    Role,
    issue_password_reset,
)
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.runtime import Runtime

NEW_PASSWORD = "ein ganz neues Passwort"


def test_login_failure_keeps_the_email_and_next_cannot_leave_the_site(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite)
    client = TestClient(create_app())
    page = client.get("/massnahmen/1", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fmassnahmen%2F1"
    wrong = client.post(
        "/login",
        data={"email": EMAILS[Role.COORDINATOR], "password": "falsch falsch falsch", "next": "/x"},
        headers=csrf_headers(client),
    )
    assert wrong.status_code == 400
    assert "E-Mail-Adresse oder Passwort stimmen nicht." in wrong.text
    assert f'value="{EMAILS[Role.COORDINATOR]}"' in wrong.text
    assert wrong.headers["referrer-policy"] == "no-referrer"
    for target in (
        "https://evil.example.org/",
        "//evil.example.org",
        "javascript:alert(1)",
        "/\\evil.example.org",  # a browser reads it as //evil.example.org
        "/\t/evil.example.org",  # tabs are dropped before parsing
    ):
        response = client.post(
            "/login",
            data={"email": EMAILS[Role.COORDINATOR], "password": PASSWORD, "next": target},
            headers=csrf_headers(client),
            follow_redirects=False,
        )
        assert response.headers["location"] == "/pipeline"
    no_csrf = TestClient(create_app()).post(
        "/login", data={"email": EMAILS[Role.COORDINATOR], "password": PASSWORD}
    )
    assert no_csrf.status_code == 403


def test_session_cookie_flags_and_logout(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite)
    client = TestClient(create_app())
    response = client.post(
        "/login",
        data={"email": EMAILS[Role.STEERING], "password": PASSWORD},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("zf_session="))
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # http base_url in tests
    assert client.get("/pipeline").status_code == 200
    client.post("/logout", headers=csrf_headers(client))
    assert client.get("/pipeline", follow_redirects=False).status_code == 303


def test_https_base_url_makes_the_session_cookie_secure(
    sqlite_url: str, clock: FrozenClock, tmp_path: object
) -> None:
    rt = make_runtime(sqlite_url, clock, tmp_path, base_url="https://zielflow.example.org")  # type: ignore[arg-type]
    try:
        seed(rt)
        client = TestClient(create_app(), base_url="https://testserver")
        response = client.post(
            "/login",
            data={"email": EMAILS[Role.STEERING], "password": PASSWORD},
            headers=csrf_headers(client),
            follow_redirects=False,
        )
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("zf_session=")
        )
        assert "secure" in cookie.lower()
    finally:
        runtime.install(None)


def test_password_reset_by_emailed_link(rt: Runtime, clock: FrozenClock) -> None:
    s = seed(rt)
    old_session = TestClient(create_app())
    login(old_session, Role.COORDINATOR)
    client = TestClient(create_app())
    for email in (EMAILS[Role.COORDINATOR], "niemand@example.org"):
        answer = client.post(
            "/passwort/vergessen", data={"email": email}, headers=csrf_headers(client)
        )
        assert "Wenn es ein Konto mit dieser Adresse gibt" in answer.text  # the same either way
    with rt.sessions() as session:
        queued = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "password_reset")
        ).all()
    assert [(m.recipient_email, m.context) for m in queued] == [
        (EMAILS[Role.COORDINATOR], {"user_id": s.user_ids[Role.COORDINATOR]})
    ]
    # What the email renderer does at send time: a raw token exists only in the link.
    with unit_of_work(rt.sessions) as session:
        first = issue_password_reset(session, s.user_ids[Role.COORDINATOR], clock.now())
        raw = issue_password_reset(session, s.user_ids[Role.COORDINATOR], clock.now())
    with rt.sessions() as session:
        stored = [t.token_hash for t in session.scalars(select(PasswordResetToken))]
    assert raw not in stored and first not in stored and len(stored) == 2
    assert client.get(f"/passwort/neu/{first}").status_code == 400  # superseded by the newer one

    mismatch = client.post(
        f"/passwort/neu/{raw}",
        data={"password": NEW_PASSWORD, "password_repeat": "etwas anderes hier"},
        headers=csrf_headers(client),
    )
    assert mismatch.status_code == 400 and "stimmen nicht überein" in mismatch.text
    done = client.post(
        f"/passwort/neu/{raw}",
        data={"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD},
        headers=csrf_headers(client),
    )
    assert done.status_code == 200 and done.url.path == "/pipeline"
    assert "Ihr Passwort ist geändert." in done.text
    again = client.post(
        f"/passwort/neu/{raw}",
        data={"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD},
        headers=csrf_headers(client),
    )
    assert again.status_code == 400 and "abgelaufen, schon benutzt oder ungültig" in again.text
    # The session from before the change has ended.
    assert old_session.get("/pipeline", follow_redirects=False).status_code == 303

    with unit_of_work(rt.sessions) as session:
        late = issue_password_reset(session, s.user_ids[Role.COORDINATOR], clock.now())
    clock.advance(timedelta(hours=1, seconds=1))
    assert client.get(f"/passwort/neu/{late}").status_code == 400


def test_api_token_is_shown_once_stored_hashed_and_revocable(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    created = client.post(
        "/konto/tokens", data={"name": "Berichtsskript"}, headers=csrf_headers(client)
    )
    raw = re.search(r'<code id="new-token">([^<]+)</code>', created.text)
    assert raw is not None
    token = raw[1]
    assert token not in client.get("/konto").text  # shown once only
    with rt_sqlite.sessions() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.name == "Berichtsskript")).one()
        assert row.token_hash != token and token not in row.token_hash
        token_id = row.id
    script = TestClient(create_app())
    headers = {"Authorization": f"Bearer {token}"}
    assert script.get("/api/v1/me", headers=headers).json()["email"] == EMAILS[Role.COORDINATOR]
    # A bearer request needs no CSRF token: it carries no ambient credentials.
    opened = script.post("/api/v1/cycles", json={"year": 2027}, headers=headers)
    assert opened.status_code == 201
    client.post(f"/konto/tokens/{token_id}/widerrufen", headers=csrf_headers(client))
    assert script.get("/api/v1/me", headers=headers).status_code == 401
