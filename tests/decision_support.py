"""A body that has met: the example catalogue, a cycle, a Steuerungsgruppe and its meetings.

For the decisions register's tests. Meetings are inserted as rows (the meetings service is
another module's subject); measures are moved on through the real transition path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.dashboard_seed import Seed, seed
from workflow.bodies.models import BodyKind, Meeting
from workflow.bodies.service import create_body
from workflow.clock import Clock
from workflow.cycles.models import MeasureCycle, Review
from workflow.cycles.service import record_interview
from workflow.db import unit_of_work
from workflow.machine import Event
from workflow.meetings.models import AgendaItem
from workflow.runtime import Runtime
from workflow.transitions import apply_event

# The test clock stands at 2 March 2026: one meeting lies behind, one ahead.
EARLIER = date(2026, 2, 26)
LATER = date(2026, 3, 12)


@dataclass
class World:
    seed: Seed
    body_id: int
    meeting_id: int  # held on EARLIER
    next_meeting_id: int  # held on LATER
    agenda_item_id: int  # TOP 1 of the earlier meeting

    @property
    def organisation_id(self) -> int:
        return self.seed.organisation_id


def add_meeting(session: Session, body_id: int, held_on: date, title: str = "") -> Meeting:
    meeting = Meeting(body_id=body_id, held_on=held_on, title=title, place="Rathaus, Raum 101")
    session.add(meeting)
    session.flush()
    return meeting


def build(rt: Runtime, *, slug_seed: Seed | None = None) -> World:
    s = slug_seed or seed(rt)
    with unit_of_work(rt.sessions) as session:
        body = create_body(
            session=session,
            organisation_id=s.organisation_id,
            name="Steuerungsgruppe Integration",
            kind=BodyKind.STEERING_GROUP.value,
        )
        first = add_meeting(session, body.id, EARLIER, "Frühjahrssitzung")
        second = add_meeting(session, body.id, LATER)
        item = AgendaItem(meeting_id=first.id, position=1, title="Streichungsvorschläge")
        session.add(item)
        session.flush()
        return World(s, body.id, first.id, second.id, item.id)


def to_assessment(session: Session, clock: Clock, measure_cycle_id: int) -> None:
    """From the Erstgespräch on to Bewertung, with a submitted review waiting to be accepted."""
    record_interview(
        session=session,
        clock=clock,
        measure_cycle_id=measure_cycle_id,
        expected_version=None,
        actor="test",
        decision="keep",
    )
    for event in (Event.SUBMIT_AGREEMENT, Event.START_REVIEW, Event.SUBMIT_REVIEW):
        apply_event(
            session=session,
            clock=clock,
            measure_cycle_id=measure_cycle_id,
            event=event.value,
            expected_version=None,
            actor="test",
        )
    session.add(
        Review(
            measure_cycle_id=measure_cycle_id,
            achievement="achieved",
            proposal="continue",
            submitted_at=clock.now(),
        )
    )
    session.flush()


def state_of(session: Session, measure_cycle_id: int) -> str:
    return session.scalars(
        select(MeasureCycle.state).where(MeasureCycle.id == measure_cycle_id)
    ).one()
