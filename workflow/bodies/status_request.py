"""A body member (or a coordinator) asks a measure's responsible contact for the current status.

Until the status form exists, the request is an email of kind ``status_request`` with the
measure's current answers, replied to the organisation's office; it is recorded as the audit
event ``status_requested`` on the measure's timeline. One request per measure, asker and
local day: the outbox's unique dedupe key enforces it even against two requests at once.
Refusals are ``StatusRequestRefused`` with a code and parameters; never commits.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.outbox import Draft, enqueue
from workflow.accounts import Role, User
from workflow.bodies.scope_access import ACTING_ROLES, asking_seat
from workflow.catalogue.models import Organisation
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import AuditEvent, MeasureCycle

KIND = "status_request"
EVENT = "status_requested"
NOTE_LIMIT = 1000
# Line breaks belong in a note; every other invisible character belongs nowhere, and neither
# does a lone surrogate (JSON can carry one; no database column can store it).
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


class StatusRequestRefused(Exception):
    """A refused request, e.g. ``StatusRequestRefused("already_requested", at=…)``.

    Codes: ``measure_not_found``, ``not_allowed``, ``no_contact``, ``note_too_long``,
    ``note_control_character``, ``already_requested`` (``at``: the last request, ISO UTC).
    """

    def __init__(self, code: str, **params: str) -> None:
        self.code = code
        self.params = params
        super().__init__(code, params)


def clean_note(note: str) -> str:
    """The note as stored: line breaks as ``\\n``, trimmed; refused if too long or unprintable."""
    text = note.replace("\r\n", "\n").replace("\r", "\n").strip()
    if _CONTROL.search(text):
        raise StatusRequestRefused("note_control_character")
    if len(text) > NOTE_LIMIT:
        raise StatusRequestRefused("note_too_long", limit=str(NOTE_LIMIT), length=str(len(text)))
    return text


def last_request(session: Session, *, measure_id: int, user_id: int) -> datetime | None:
    """When this user last asked about this measure (in any cycle), if ever."""
    return session.scalar(
        select(func.max(AuditEvent.at))
        .join(MeasureCycle, MeasureCycle.id == AuditEvent.measure_cycle_id)
        .where(
            MeasureCycle.measure_id == measure_id,
            AuditEvent.event == EVENT,
            AuditEvent.actor == f"user:{user_id}",
        )
    )


def _reply_to(session: Session, org: Organisation, user: User) -> str:
    """Where the contact's reply goes: a coordinator who asks gets it; for a member, the
    office's address, else the organisation's first active coordinator."""
    if user.role in ACTING_ROLES:
        return user.email
    if org.contact_email:
        return org.contact_email
    return (
        session.scalars(
            select(User.email)
            .where(
                User.organisation_id == org.id,
                User.role == Role.COORDINATOR.value,
                User.active.is_(True),
            )
            .order_by(User.id)
        ).first()
        or ""
    )


def request_status(
    *, session: Session, clock: Clock, measure_cycle_id: int, user: User, note: str = ""
) -> None:
    """Queue the email to the measure's contact and record the request on its timeline."""
    mc = session.get(MeasureCycle, measure_cycle_id)
    if mc is None or mc.organisation_id != user.organisation_id:
        raise StatusRequestRefused("measure_not_found", ref=str(measure_cycle_id))
    note = clean_note(note)
    org = session.get(Organisation, mc.organisation_id)
    assert org is not None  # the measure's organisation exists (FK)
    now = clock.now()
    cal = calendar_of(org)
    today = cal.local_date(now)
    measure = mc.measure
    seat = asking_seat(session, user=user, field_id=measure.goal.field_id, day=today)
    if seat is None and user.role not in ACTING_ROLES:
        raise StatusRequestRefused("not_allowed", measure=measure.code)
    contact = measure.contact
    if contact is None:
        raise StatusRequestRefused("no_contact", measure=measure.code)
    last = last_request(session, measure_id=measure.id, user_id=user.id)
    if last is not None and cal.local_date(last) == today:
        raise StatusRequestRefused("already_requested", at=last.isoformat(), measure=measure.code)
    asked_by = user.name or user.email
    body_name = seat.body.name if seat is not None else ""
    added = enqueue(
        session,
        [
            Draft(
                organisation_id=org.id,
                dedupe_key=f"{KIND}:m{measure.id}:u{user.id}:{today.isoformat()}",
                kind=KIND,
                recipient_email=contact.email,
                recipient_name=contact.name,
                language=contact.language,
                measure_cycle_id=mc.id,
                context={
                    "recipient_contact_id": contact.id,
                    "cycle_id": mc.cycle_id,
                    "measure_code": measure.code,
                    "asked_by": asked_by,
                    "body_name": body_name,
                    "note": note,
                    "reply_to": _reply_to(session, org, user),
                },
            )
        ],
        now=now,
    )
    if not added:  # another request of the same asker got today's slot a moment earlier
        raise StatusRequestRefused("already_requested", at=now.isoformat(), measure=measure.code)
    session.add(
        AuditEvent(
            organisation_id=org.id,
            measure_cycle_id=mc.id,
            at=now,
            actor=f"user:{user.id}",
            event=EVENT,
            from_state=None,
            to_state=None,
            payload={
                "by": asked_by,
                "body": body_name,
                "note": note,
                "contact": contact.name,
            },
        )
    )
    session.flush()
