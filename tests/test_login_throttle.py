"""Failed sign-ins are limited per client address too, without telling which limit held."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from api.app import create_app
from tests.dashboard_seed import EMAILS, PASSWORD, csrf_headers, seed
from workflow.accounts import Role
from workflow.clock import FrozenClock
from workflow.forms.ratelimit import MAX_FAILURES, WINDOW
from workflow.runtime import Runtime


def _try(client: TestClient, password: str, email: str = EMAILS[Role.COORDINATOR]) -> int:
    response = client.post(
        "/login",
        data={"email": email, "password": password},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    return response.status_code


def test_many_wrong_passwords_from_one_address_block_it_for_a_while(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    seed(rt_sqlite)
    app = create_app()
    client = TestClient(app)
    # One guess each at many accounts: no account slows down, the address still runs out.
    guesses = [
        _try(client, "falsch falsch falsch", f"konto-{i}@musterstadt.example.org")
        for i in range(MAX_FAILURES)
    ]
    assert guesses == [400] * MAX_FAILURES
    blocked = client.post(
        "/login",
        data={"email": EMAILS[Role.COORDINATOR], "password": PASSWORD},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert blocked.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldungen" in blocked.text
    assert blocked.headers["retry-after"] == str(int(WINDOW.total_seconds()))
    assert "15 Minuten" in blocked.text
    assert _try(client, "noch-einmal-falsch") == 429  # the same answer: no oracle while blocked
    # Someone else, elsewhere, signs in as usual.
    elsewhere = TestClient(app, client=("192.0.2.44", 50000))
    assert _try(elsewhere, PASSWORD) == 303
    clock.advance(WINDOW + timedelta(seconds=1))
    assert _try(client, PASSWORD) == 303
