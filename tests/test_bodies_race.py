"""Two coordinators create the same body, member or meeting at once (issue 11).

The second writer passes the service's check before the first commits, and the database's
unique index refuses its row: it must get the same coded refusal as a sequential second
attempt, not a server error. PostgreSQL only: SQLite serialises writers before the check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests import factories
from workflow.bodies import members, service
from workflow.bodies.errors import BodyError
from workflow.bodies.models import Body
from workflow.db import make_engine
from workflow.meetings.service import add_meeting

pytestmark = pytest.mark.postgres
TODAY = date(2026, 3, 2)


def _race(sessions: sessionmaker[Session], write: Callable[[Session], Any]) -> BaseException | None:
    """Run ``write`` in a first transaction (flushed, not committed), then in a second one
    from a thread, commit the first while the second waits on the row lock; the second's
    outcome is returned."""
    outcome: list[BaseException | None] = []
    first = sessions()
    write(first)

    def second() -> None:
        with sessions() as s:
            try:
                write(s)
                s.commit()
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.5)  # let the second writer pass the check and wait on the index
    first.commit()
    first.close()
    thread.join(timeout=30)
    assert outcome, "the second writer did not finish"
    return outcome[0]


@pytest.fixture
def world(postgres_url: str) -> Any:
    engine = make_engine(postgres_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as s:
        org = factories.organisation(s, slug="wettlauf")
        body = service.create_body(
            session=s, organisation_id=org.id, name="Begleitgremium", kind="advisory_board"
        )
        ids = (org.id, body.id)
    yield sessions, ids
    engine.dispose()


def test_the_same_body_name_twice_at_once_is_refused_not_an_error(world: Any) -> None:
    sessions, (org_id, _) = world
    error = _race(
        sessions,
        lambda s: service.create_body(
            session=s, organisation_id=org_id, name="Steuerungsgruppe", kind="steering_group"
        ),
    )
    assert isinstance(error, BodyError) and error.code == "body_name_taken", error


def test_the_same_member_twice_at_once_is_refused_not_an_error(world: Any) -> None:
    sessions, (_, body_id) = world
    error = _race(
        sessions,
        lambda s: members.add_member(
            session=s,
            body=s.get_one(Body, body_id),
            name="Ingrid Maier",
            email="ingrid.maier@wettlauf.example.org",
            today=TODAY,
        ),
    )
    assert isinstance(error, BodyError) and error.code == "member_already_current", error


def test_the_same_meeting_day_twice_at_once_is_refused_not_an_error(world: Any) -> None:
    sessions, (_, body_id) = world
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    error = _race(
        sessions,
        lambda s: add_meeting(session=s, body_id=body_id, held_on=date(2026, 5, 6), now=now),
    )
    assert isinstance(error, BodyError) and error.code == "meeting_day_taken", error
