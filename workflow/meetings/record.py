"""What the minutes (Niederschrift) record once the meeting's day has come: who attended, what
was said per agenda item, and the general notes. Never commits; refusals are ``BodyError``s.

Decisions are recorded in the register (workflow/decisions/), not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy.orm import Session

from workflow.bodies.errors import BodyError, missing_in_request
from workflow.bodies.models import Body, Meeting
from workflow.meetings.guests import guest_of
from workflow.meetings.models import AgendaItem, MeetingAttendance
from workflow.meetings.queries import agenda_of, members_on_the_day

MINUTES_LIMIT = 20_000


def _held(meeting: Meeting, today: date) -> None:
    if meeting.held_on > today:
        raise BodyError("meeting_not_held_yet", on=meeting.held_on.isoformat())


def set_attendance(
    *,
    session: Session,
    meeting: Meeting,
    today: date,
    members: Mapping[int, bool],
    guests: Mapping[int, bool] | None = None,
) -> None:
    """Record present or absent for the members (of the meeting's day) and guests named."""
    _held(meeting, today)
    current = {m.id for m in members_on_the_day(session, meeting)}
    body = session.get(Body, meeting.body_id)
    assert body is not None  # FK
    for member_id in members:
        if member_id not in current:
            raise missing_in_request("member_not_found", ref=str(member_id), body=body.name)
    checked = {
        gid: guest_of(session, meeting=meeting, guest_id=gid, sent=True) for gid in guests or {}
    }
    for member_id, present in members.items():
        row = session.get(MeetingAttendance, (meeting.id, member_id))
        if row is None:
            session.add(
                MeetingAttendance(meeting_id=meeting.id, member_id=member_id, present=present)
            )
        else:
            row.present = present
    for guest_id, guest in checked.items():
        guest.present = (guests or {})[guest_id]
    session.flush()


def _minutes(value: str) -> str:
    value = value.strip()
    if len(value) > MINUTES_LIMIT or "\x00" in value:
        raise BodyError("minutes_invalid", limit=str(MINUTES_LIMIT))
    return value


def set_minutes(
    *,
    session: Session,
    meeting: Meeting,
    today: date,
    items: Mapping[int, str],
    notes: str | None = None,
) -> list[AgendaItem]:
    """Record the minutes of the agenda items named (by id) and, if given, the general notes."""
    _held(meeting, today)
    agenda = {i.id: i for i in agenda_of(session, meeting.id)}
    for item_id in items:
        if item_id not in agenda:
            raise BodyError("agenda_item_not_found", ref=str(item_id))
    texts = {item_id: _minutes(value) for item_id, value in items.items()}
    new_notes = _minutes(notes) if notes is not None else meeting.notes
    for item_id, value in texts.items():
        agenda[item_id].minutes = value
    meeting.notes = new_notes
    session.flush()
    return list(agenda.values())
