"""Planning a meeting of a body: its day, start time, place and title; never commits.

Guests live in workflow/meetings/guests.py, attendance and minutes in
workflow/meetings/record.py, the agenda in workflow/meetings/agenda.py. Everything is
checked before anything is written, so a refusal (``BodyError`` with a code and parameters)
leaves no trace.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.bodies.checks import UNSET, Unset, text
from workflow.bodies.errors import BodyError
from workflow.bodies.models import Body, Meeting
from workflow.bodies.races import taken_means
from workflow.catalogue.models import Organisation
from workflow.cycles.calendar import calendar_of

TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
PLACE_LIMIT = 300
TITLE_LIMIT = 200
# A meeting further away than this is a typing error (2062 for 2026), not a plan.
YEARS_BACK = 10
YEARS_AHEAD = 5


def start_time(value: str | None) -> str | None:
    """``"HH:MM"`` from "9:30", "09:30" or "9.30"; empty means not fixed yet."""
    value = (value or "").strip()
    if not value:
        return None
    found = TIME.match(value)
    if found is None:
        raise BodyError("invalid_time", value=value[:20])
    return f"{int(found[1]):02d}:{found[2]}"


def _local_today(session: Session, body: Body, now: datetime) -> date:
    org = session.get(Organisation, body.organisation_id)
    assert org is not None  # a body cannot exist without its organisation (FK)
    return calendar_of(org).local_date(now)


def _checked_day(session: Session, body: Body, held_on: date, now: datetime) -> date:
    today = _local_today(session, body, now)
    earliest = date(today.year - YEARS_BACK, 1, 1)
    latest = date(today.year + YEARS_AHEAD, 12, 31)
    if not earliest <= held_on <= latest:
        raise BodyError(
            "meeting_date_out_of_range",
            on=held_on.isoformat(),
            first=str(earliest.year),
            last=str(latest.year),
        )
    return held_on


def _day_free(session: Session, body: Body, held_on: date, meeting_id: int | None) -> None:
    clash = session.scalars(
        select(Meeting.id).where(Meeting.body_id == body.id, Meeting.held_on == held_on)
    ).first()
    if clash is not None and clash != meeting_id:
        raise BodyError("meeting_day_taken", body=body.name, on=held_on.isoformat())


def _body(session: Session, body_id: int, organisation_id: int | None) -> Body:
    body = session.get(Body, body_id)
    if body is None or (organisation_id is not None and body.organisation_id != organisation_id):
        raise BodyError("body_not_found", ref=str(body_id))
    return body


def add_meeting(
    *,
    session: Session,
    body_id: int,
    held_on: date,
    starts_at: str | None = None,
    place: str = "",
    title: str = "",
    now: datetime,
    organisation_id: int | None = None,
) -> Meeting:
    """A new meeting of the body on ``held_on``; a body meets at most once a day.

    With ``organisation_id`` the body must belong to that organisation (``body_not_found``).
    """
    body = _body(session, body_id, organisation_id)
    day = _checked_day(session, body, held_on, now)
    meeting = Meeting(
        body_id=body.id,
        held_on=day,
        starts_at=start_time(starts_at),
        place=text(place, "meeting_place_invalid", PLACE_LIMIT, required=False),
        title=text(title, "meeting_title_invalid", TITLE_LIMIT, required=False),
        notes="",
    )
    _day_free(session, body, day, None)
    with taken_means(session, "meeting_day_taken", body=body.name, on=day.isoformat()):
        session.add(meeting)
        session.flush()
    return meeting


def update_meeting(
    *,
    session: Session,
    meeting: Meeting,
    now: datetime,
    held_on: date | None = None,
    starts_at: str | Unset | None = UNSET,
    place: str | None = None,
    title: str | None = None,
) -> Meeting:
    """Changes what is given (``starts_at`` None clears the time); the agenda stays."""
    body = session.get(Body, meeting.body_id)
    assert body is not None  # FK
    day = _checked_day(session, body, held_on, now) if held_on is not None else meeting.held_on
    _day_free(session, body, day, meeting.id)
    new_start = meeting.starts_at if isinstance(starts_at, Unset) else start_time(starts_at)
    new_place = (
        text(place, "meeting_place_invalid", PLACE_LIMIT, required=False)
        if place is not None
        else meeting.place
    )
    new_title = (
        text(title, "meeting_title_invalid", TITLE_LIMIT, required=False)
        if title is not None
        else meeting.title
    )
    meeting.held_on, meeting.starts_at = day, new_start
    meeting.place, meeting.title = new_place, new_title
    session.flush()
    return meeting
