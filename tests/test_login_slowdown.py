"""Wrong passwords slow an account down (429 with ``Retry-After``, doubling, capped at a minute);
they never lock it: its owner always gets in after at most a minute's wait."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from api.app import create_app
from tests.dashboard_seed import EMAILS, PASSWORD, csrf_headers, seed
from workflow.accounts import Role
from workflow.clock import FrozenClock
from workflow.runtime import Runtime

ACCOUNT = EMAILS[Role.COORDINATOR]
FREE_FAILURES = 5  # then 1 s, 2 s, 4 s … between tries
MAX_WAIT = 60


def _try(client: TestClient, password: str, email: str = ACCOUNT):  # type: ignore[no-untyped-def]
    return client.post(
        "/login",
        data={"email": email, "password": password},
        headers=csrf_headers(client),
        follow_redirects=False,
    )


def test_each_further_failure_doubles_the_wait(rt: Runtime, clock: FrozenClock) -> None:
    seed(rt)
    client = TestClient(create_app())
    assert [_try(client, f"falsch {i} falsch").status_code for i in range(FREE_FAILURES)] == [
        400
    ] * FREE_FAILURES
    for wait in (1, 2, 4, 8):
        slowed = _try(client, PASSWORD)  # even the right password waits: no oracle
        assert slowed.status_code == 429, slowed.text[:300]
        assert slowed.headers["retry-after"] == str(wait)
        assert "Zu viele fehlgeschlagene Anmeldungen" in slowed.text
        assert f"{wait} Sekunde" in slowed.text
        clock.advance(timedelta(seconds=wait - 1))
        assert _try(client, "zu früh zu früh").status_code == 429  # not counted, not longer
        clock.advance(timedelta(seconds=1))
        assert _try(client, "wieder falsch falsch").status_code == 400
    clock.advance(timedelta(seconds=16))
    assert _try(client, PASSWORD).status_code == 303


def test_an_attack_from_many_addresses_never_locks_the_owner_out(
    rt: Runtime, clock: FrozenClock
) -> None:
    seed(rt)
    app = create_app()
    failures = 0
    for attempt in range(60):
        attacker = TestClient(app, client=(f"198.51.100.{attempt % 250 + 1}", 40000))
        response = _try(attacker, f"geraten {attempt} geraten")
        while response.status_code == 429:
            wait = int(response.headers["retry-after"])
            assert 1 <= wait <= MAX_WAIT
            clock.advance(timedelta(seconds=wait))
            response = _try(attacker, f"geraten {attempt} geraten")
        assert response.status_code == 400
        failures += 1
    assert failures == 60
    owner = TestClient(app, client=("203.0.113.7", 50000))
    response = _try(owner, PASSWORD)
    assert response.status_code == 429
    wait = int(response.headers["retry-after"])
    assert 1 <= wait <= MAX_WAIT
    clock.advance(timedelta(seconds=wait))
    assert _try(owner, PASSWORD).status_code == 303


def test_a_success_forgets_the_failures(rt: Runtime, clock: FrozenClock) -> None:
    seed(rt)
    client = TestClient(create_app())
    for i in range(FREE_FAILURES - 1):
        assert _try(client, f"vertippt {i} vertippt").status_code == 400
    assert _try(client, PASSWORD).status_code == 303
    other = TestClient(create_app())
    for i in range(FREE_FAILURES):
        assert _try(other, f"vertippt {i} vertippt").status_code == 400
