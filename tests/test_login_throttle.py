"""Failed sign-ins are throttled per address and per account, without telling which held."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from api.app import create_app
from tests.dashboard_seed import EMAILS, PASSWORD, csrf_headers, seed
from workflow.accounts import Role
from workflow.clock import FrozenClock
from workflow.forms.ratelimit import MAX_FAILURES, WINDOW
from workflow.runtime import Runtime


def _try(client: TestClient, password: str) -> int:
    response = client.post(
        "/login",
        data={"email": EMAILS[Role.COORDINATOR], "password": password},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    return response.status_code


def test_many_wrong_passwords_block_even_the_right_one_for_a_while(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    seed(rt_sqlite)
    client = TestClient(create_app())
    assert [_try(client, f"falsch-{i}-falsch") for i in range(MAX_FAILURES)] == [400] * MAX_FAILURES
    blocked = client.post(
        "/login",
        data={"email": EMAILS[Role.COORDINATOR], "password": PASSWORD},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert blocked.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldungen" in blocked.text
    assert _try(client, "noch-einmal-falsch") == 429  # the same answer: no oracle while blocked
    clock.advance(WINDOW + timedelta(seconds=1))
    assert _try(client, PASSWORD) == 303
