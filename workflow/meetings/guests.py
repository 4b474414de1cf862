"""A meeting's guests: who is invited besides the members, and whom the agenda suggests.

The guests a field report suggests are the heads of the departments whose measures in that
field are in Umsetzung or Review (seed 000: "guests report on the state of implementation").
Never commits; refusals are ``BodyError``s with a code and parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.bodies.checks import EMAIL, LANGUAGES, text
from workflow.bodies.errors import BodyError, missing_in_request
from workflow.bodies.models import Body, Meeting
from workflow.catalogue.heads import heads_by_department
from workflow.catalogue.models import Contact, Department, Field
from workflow.meetings.items import Scope
from workflow.meetings.models import AgendaKind, MeetingGuest
from workflow.meetings.queries import agenda_of, guests_of, members_on_the_day
from workflow.meetings.sources import reporting_departments


@dataclass(frozen=True)
class ProposedGuest:
    """A department head the agenda suggests inviting to report on ``field_id``."""

    name: str
    email: str
    language: str
    field_id: int
    contact_id: int
    department: str


def _body(session: Session, meeting: Meeting) -> Body:
    body = session.get(Body, meeting.body_id)
    assert body is not None  # FK
    return body


def _invited(session: Session, meeting: Meeting) -> set[str]:
    """Addresses already on the list: the guests and the members of the meeting's day."""
    guests = {g.email.lower() for g in guests_of(session, meeting.id)}
    return guests | {m.email.lower() for m in members_on_the_day(session, meeting)}


def proposed_guests(
    session: Session, *, meeting: Meeting, field_ids: list[int] | None = None
) -> list[ProposedGuest]:
    """The heads to invite for the field reports on the agenda (or for ``field_ids``), in field
    order; heads already invited, members of the body and departments without a head are left
    out. One proposal per person: the first field they report on."""
    body = _body(session, meeting)
    if field_ids is None:
        field_ids = [
            i.field_id
            for i in agenda_of(session, meeting.id)
            if i.kind == AgendaKind.FIELD_REPORT.value and i.field_id is not None
        ]
    if not field_ids:
        return []
    departments = reporting_departments(
        session, Scope(body.organisation_id, frozenset(field_ids), True)
    )
    heads = heads_by_department(session, body.organisation_id)
    names = dict(
        session.execute(
            select(Department.id, Department.name).where(
                Department.organisation_id == body.organisation_id
            )
        ).all()
    )
    taken = _invited(session, meeting)
    out = []
    for field_id in field_ids:
        for department_id in sorted(departments.get(field_id, set()), key=lambda d: names[d]):
            head = heads.get(department_id)
            if head is None or head.email.lower() in taken:
                continue
            taken.add(head.email.lower())
            out.append(
                ProposedGuest(
                    name=head.name,
                    email=head.email,
                    language=head.language,
                    field_id=field_id,
                    contact_id=head.id,
                    department=names[department_id],
                )
            )
    return out


def _check_ref(
    session: Session, organisation_id: int, field_id: int | None, contact_id: int | None
) -> None:
    if field_id is not None:
        row = session.get(Field, field_id)
        if row is None or row.organisation_id != organisation_id:
            raise BodyError("field_not_found", ref=str(field_id))
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.organisation_id != organisation_id:
            raise BodyError("contact_not_found", ref=str(contact_id))


def add_guest(
    *,
    session: Session,
    meeting: Meeting,
    name: str,
    email: str,
    language: str = "de",
    field_id: int | None = None,
    contact_id: int | None = None,
) -> MeetingGuest:
    """Invite a guest; an address is on a meeting's list once, as member or as guest."""
    body = _body(session, meeting)
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > 320:
        raise BodyError("guest_email_invalid", value=email[:320])
    name = text(name, "guest_name_invalid")
    if language not in LANGUAGES:
        raise BodyError("unknown_language", value=language, allowed=", ".join(LANGUAGES))
    _check_ref(session, body.organisation_id, field_id, contact_id)
    if any(m.email.lower() == email for m in members_on_the_day(session, meeting)):
        raise BodyError("guest_is_member", email=email, body=body.name)
    clash = session.scalars(
        select(MeetingGuest.id).where(
            MeetingGuest.meeting_id == meeting.id, func.lower(MeetingGuest.email) == email
        )
    ).first()
    if clash is not None:
        raise BodyError("guest_already_invited", email=email)
    guest = MeetingGuest(
        meeting_id=meeting.id,
        name=name,
        email=email,
        language=language,
        field_id=field_id,
        contact_id=contact_id,
    )
    session.add(guest)
    session.flush()
    return guest


def guest_of(
    session: Session, *, meeting: Meeting, guest_id: int, sent: bool = False
) -> MeetingGuest:
    """The meeting's guest ``guest_id``; ``sent``: the id came with the request's data."""
    guest = session.get(MeetingGuest, guest_id)
    if guest is None or guest.meeting_id != meeting.id:
        if sent:
            raise missing_in_request("guest_not_found", ref=str(guest_id))
        raise BodyError("guest_not_found", ref=str(guest_id))
    return guest


def remove_guest(*, session: Session, meeting: Meeting, guest_id: int) -> None:
    """Take a guest off the list (an invitation already sent is not called back)."""
    session.delete(guest_of(session, meeting=meeting, guest_id=guest_id))
    session.flush()
