"""Reads about meetings: find one, a body's meetings, the next one, its agenda and details.

Never writes; every lookup by id is confined to one organisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.bodies.errors import BodyError
from workflow.bodies.models import Body, BodyMember, Meeting
from workflow.bodies.queries import current_members
from workflow.meetings.models import AgendaItem, MeetingAttendance, MeetingGuest


def get_meeting(session: Session, *, organisation_id: int, meeting_id: int) -> Meeting:
    """The meeting with this id, if its body belongs to the organisation; else not found."""
    found = session.execute(
        select(Meeting, Body.organisation_id)
        .join(Body, Body.id == Meeting.body_id)
        .where(Meeting.id == meeting_id)
    ).first()
    if found is None or found[1] != organisation_id:
        raise BodyError("meeting_not_found", ref=str(meeting_id))
    return found[0]


def body_of(session: Session, meeting: Meeting) -> Body:
    body = session.get(Body, meeting.body_id)
    assert body is not None  # FK
    return body


def meetings_of_body(session: Session, *, body_id: int) -> list[Meeting]:
    """Every meeting of the body, earliest first."""
    return list(
        session.scalars(select(Meeting).where(Meeting.body_id == body_id).order_by(Meeting.held_on))
    )


def next_meeting(session: Session, *, body_id: int, today: date) -> Meeting | None:
    """The body's first meeting on or after ``today``, if one is planned."""
    return session.scalars(
        select(Meeting)
        .where(Meeting.body_id == body_id, Meeting.held_on >= today)
        .order_by(Meeting.held_on)
        .limit(1)
    ).first()


def agenda_of(session: Session, meeting_id: int) -> list[AgendaItem]:
    """The stored agenda in order (TOP 1, 2, …)."""
    return list(
        session.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting_id)
            .order_by(AgendaItem.position, AgendaItem.id)
        )
    )


def guests_of(session: Session, meeting_id: int) -> list[MeetingGuest]:
    return list(
        session.scalars(
            select(MeetingGuest)
            .where(MeetingGuest.meeting_id == meeting_id)
            .order_by(MeetingGuest.id)
        )
    )


def attendance_of(session: Session, meeting_id: int) -> dict[int, bool]:
    """{member id: present} for the members whose attendance is recorded."""
    rows = session.execute(
        select(MeetingAttendance.member_id, MeetingAttendance.present).where(
            MeetingAttendance.meeting_id == meeting_id
        )
    ).all()
    return {member_id: present for member_id, present in rows}


def members_on_the_day(session: Session, meeting: Meeting) -> list[BodyMember]:
    """Who was (or will be) a member on the meeting's day: whose attendance is recorded."""
    return list(current_members(session, body_id=meeting.body_id, day=meeting.held_on))


@dataclass(frozen=True)
class MeetingDetail:
    """A meeting as its page and the API show it on ``today``."""

    meeting: Meeting
    body: Body
    agenda: list[AgendaItem]
    guests: list[MeetingGuest]
    members: list[BodyMember]
    attendance: dict[int, bool]
    held: bool  # the day has come: attendance and minutes may be recorded


def meeting_detail(session: Session, *, meeting: Meeting, today: date) -> MeetingDetail:
    return MeetingDetail(
        meeting=meeting,
        body=body_of(session, meeting),
        agenda=agenda_of(session, meeting.id),
        guests=guests_of(session, meeting.id),
        members=members_on_the_day(session, meeting),
        attendance=attendance_of(session, meeting.id),
        held=meeting.held_on <= today,
    )


@dataclass(frozen=True)
class MeetingRow:
    meeting: Meeting
    items: int  # agenda items


@dataclass(frozen=True)
class BodyMeetings:
    upcoming: list[MeetingRow]  # from ``today`` on, the next first
    past: list[MeetingRow]  # the latest first


def body_meetings(session: Session, *, body_id: int, today: date) -> BodyMeetings:
    """A body's meetings split at ``today``, each with the length of its agenda."""
    counts = dict(
        session.execute(
            select(AgendaItem.meeting_id, func.count())
            .join(Meeting, Meeting.id == AgendaItem.meeting_id)
            .where(Meeting.body_id == body_id)
            .group_by(AgendaItem.meeting_id)
        ).all()
    )
    rows = [MeetingRow(m, counts.get(m.id, 0)) for m in meetings_of_body(session, body_id=body_id)]
    return BodyMeetings(
        upcoming=[r for r in rows if r.meeting.held_on >= today],
        past=[r for r in reversed(rows) if r.meeting.held_on < today],
    )
