"""A read request with an API token writes nothing but, every few minutes, when it was last used."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.dashboard_seed import EMAILS, seed
from workflow.accounts import TOKEN_TOUCH_INTERVAL, ApiToken, Role, User, create_api_token
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.runtime import Runtime


def test_last_used_is_written_at_most_every_few_minutes(rt: Runtime, clock: FrozenClock) -> None:
    seed(rt)
    with unit_of_work(rt.sessions) as s:
        user = s.scalars(select(User).where(User.email == EMAILS[Role.STEERING])).one()
        token, raw = create_api_token(s, user, "Skript", clock.now())
        s.flush()
        token_id = token.id
    client = TestClient(create_app())
    headers = {"Authorization": f"Bearer {raw}"}

    def last_used() -> object:
        with rt.sessions() as s:
            return s.scalars(select(ApiToken.last_used_at).where(ApiToken.id == token_id)).one()

    assert client.get("/api/v1/pipeline", headers=headers).status_code == 200
    first = last_used()
    assert first == clock.now()
    clock.advance(TOKEN_TOUCH_INTERVAL - timedelta(seconds=1))
    assert client.get("/api/v1/pipeline", headers=headers).status_code == 200
    assert last_used() == first
    clock.advance(timedelta(seconds=2))
    assert client.get("/api/v1/pipeline", headers=headers).status_code == 200
    assert last_used() == clock.now()
