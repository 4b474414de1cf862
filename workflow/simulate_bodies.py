"""The bodies of ``zielflow simulate``: their meetings and what they decide there.

A body the simulation finds without any meeting is modelled: the coordinator plans its
meetings at its rhythm (``meetings_per_year`` spread over the year) six weeks ahead, with the
proposed agenda and the proposed guests; on the day the body meets and decides
(workflow/simulate_meetings.py), and the contacts answer its Aufträge on time, late or never
(workflow/simulate_assignments.py). A body whose meetings were planned beforehand keeps them
as they are, and is not modelled. Everything goes through the services the pages use; seeded
from streams of its own; never touches the clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.sink import RecordingHandler
from workflow import runtime
from workflow.bodies.models import Body, Meeting
from workflow.clock import Clock
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar
from workflow.decisions.models import Decision
from workflow.meetings.guests import add_guest, proposed_guests
from workflow.meetings.service import add_meeting
from workflow.simulate_assignments import Answers
from workflow.simulate_meetings import STARTS_AT, hold, set_current_agenda

LEAD = timedelta(days=42)  # how far ahead the coordinator plans a meeting
PLACE = "Rathaus, Sitzungssaal"
MAX_GUESTS = 3


@dataclass
class Bodies:
    """The modelled bodies and what the simulated people have planned for them."""

    rng: random.Random
    body_ids: tuple[int, ...]
    answers: Answers
    planned: set[tuple[int, date]] = field(default_factory=set)

    @property
    def decide_drops(self) -> bool:
        """Drop proposals wait for a meeting's Beschluss (else the coordinator drops them)."""
        return bool(self.body_ids)


def start(rt: runtime.Runtime, org_id: int, seed: int, *, enabled: bool = True) -> Bodies:
    """The bodies of the organisation that have no meeting yet (none if not ``enabled``)."""
    with rt.sessions() as s:
        with_meetings = set(s.scalars(select(Meeting.body_id).distinct()))
        ids = tuple(
            b
            for b in s.scalars(
                select(Body.id).where(Body.organisation_id == org_id).order_by(Body.id)
            )
            if enabled and b not in with_meetings
        )
    rng = random.Random(f"bodies:{seed}")
    return Bodies(rng, ids, Answers(random.Random(f"assignments:{seed}")))


def meeting_days(per_year: int, year: int, cal: BusinessCalendar) -> list[date]:
    """``per_year`` Wednesdays spread evenly over ``year`` (the next working day if need be)."""
    days = set()
    for k in range(per_year):
        day = date(year, 1, 1) + timedelta(days=int((k + 0.5) * 365 / per_year))
        day += timedelta(days=(2 - day.weekday()) % 7)
        while not cal.is_working_day(day):
            day += timedelta(days=1)
        days.add(day)
    return sorted(days)


def act(
    rt: runtime.Runtime,
    clock: Clock,
    bodies: Bodies,
    cal: BusinessCalendar,
    day: date,
    sink: RecordingHandler,
) -> None:
    """Plan what is six weeks ahead, hold today's meetings, answer what is due today."""
    if not bodies.body_ids:
        return
    _plan(rt, clock, bodies, cal, day)
    with rt.sessions() as s:
        today = list(
            s.scalars(
                select(Meeting.id)
                .where(Meeting.body_id.in_(bodies.body_ids), Meeting.held_on == day)
                .order_by(Meeting.id)
            )
        )
    for meeting_id in today:
        hold(rt, clock, bodies.rng, bodies.answers, meeting_id, day)
    bodies.answers.act(rt, clock, day, sink)


def _plan(
    rt: runtime.Runtime, clock: Clock, bodies: Bodies, cal: BusinessCalendar, day: date
) -> None:
    with unit_of_work(rt.sessions) as s:
        for body in s.scalars(select(Body).where(Body.id.in_(bodies.body_ids)).order_by(Body.id)):
            for year in (day.year, day.year + 1):
                for held_on in meeting_days(body.meetings_per_year, year, cal):
                    if not day < held_on <= day + LEAD or (body.id, held_on) in bodies.planned:
                        continue
                    bodies.planned.add((body.id, held_on))
                    taken = s.scalars(
                        select(Meeting.id).where(
                            Meeting.body_id == body.id, Meeting.held_on == held_on
                        )
                    ).first()
                    if taken is None:
                        _add(s, clock, body, held_on)


def _add(s: Session, clock: Clock, body: Body, held_on: date) -> None:
    meeting = add_meeting(
        session=s,
        body_id=body.id,
        held_on=held_on,
        starts_at=STARTS_AT,
        place=PLACE,
        now=clock.now(),
    )
    set_current_agenda(s, clock, meeting)
    for guest in proposed_guests(s, meeting=meeting)[:MAX_GUESTS]:
        add_guest(
            session=s,
            meeting=meeting,
            name=guest.name,
            email=guest.email,
            language=guest.language,
            field_id=guest.field_id,
            contact_id=guest.contact_id,
        )


def summary(session: Session, org_id: int, end: date) -> dict[str, Any]:
    """Meetings before ``end`` (held) and from it on (planned); decisions by kind and status."""

    def meetings(*where: Any) -> int:
        query = (
            select(func.count())
            .select_from(Meeting)
            .join(Body, Body.id == Meeting.body_id)
            .where(Body.organisation_id == org_id, *where)
        )
        return int(session.scalar(query) or 0)

    def decisions(column: Any) -> dict[str, int]:
        rows = session.execute(
            select(column, func.count()).where(Decision.organisation_id == org_id).group_by(column)
        ).all()
        return {str(k): int(n) for k, n in sorted(rows)}

    by_kind = decisions(Decision.kind)
    return {
        "meetings": {
            "held": meetings(Meeting.held_on < end),
            "planned": meetings(Meeting.held_on >= end),
        },
        "decisions": {
            "total": sum(by_kind.values()),
            "by_kind": by_kind,
            "by_status": decisions(Decision.status),
        },
    }
