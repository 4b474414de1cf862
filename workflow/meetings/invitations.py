"""Meeting invitations: who is invited when, and who hears that a meeting moved; queues only.

A meeting's members (on the meeting day) and guests are invited ``meeting_invitation_days``
before it (the newest cycle's policy), from the policy's send hour on that local day, and
once each: the outbox's unique dedupe key ``invitation:{meeting}:{email}`` makes a second
run, or a second process, add nothing. What an email announced (day and start) is recorded
on its row when it is rendered; once it went out and the meeting has moved since, the
recipient gets one ``meeting_changed`` email for the new day and time. Never sends, never
renders: the sender builds each email (and its calendar file) from the meeting row at send
time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from notifications.models import OutboxMessage, OutboxStatus
from notifications.outbox import Draft, enqueue
from notifications.outbox_search import key_matches
from workflow.bodies.models import Body, Meeting
from workflow.bodies.queries import current_members
from workflow.catalogue.models import Organisation
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar
from workflow.indicators.requests import policy_for
from workflow.meetings.ics import start_of
from workflow.meetings.models import MeetingGuest
from workflow.organisations.active import ACTIVE

INVITATION = "meeting_invitation"
CHANGED = "meeting_changed"
KINDS = (INVITATION, CHANGED)
# The policy allows at most 90 days; one query reads every meeting that may be due.
LONGEST_LEAD = timedelta(days=91)
# Rows still on their way render the meeting as it is now: no change email is needed for them.
ON_THE_WAY = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)
KEY_LIMIT = 200  # outbox_message.dedupe_key


@dataclass(frozen=True)
class Invitee:
    email: str
    name: str
    language: str
    member_id: int | None = None
    guest_id: int | None = None


def invitation_key(meeting_id: int, email: str) -> str:
    return _fitted(f"invitation:{meeting_id}:", email.strip().lower())


def change_key(meeting_id: int, email: str, held_on: date, starts_at: str | None) -> str:
    address = email.strip().lower()
    return _fitted(f"{CHANGED}:{meeting_id}:", f"{address}:{announced(held_on, starts_at)}")


def _fitted(prefix: str, rest: str) -> str:
    """``prefix + rest``, or with ``rest`` hashed where an address would overflow the column."""
    key = prefix + rest
    if len(key) <= KEY_LIMIT:
        return key
    return prefix + "sha256:" + hashlib.sha256(rest.encode()).hexdigest()


def announced(held_on: date, starts_at: str | None) -> str:
    """The day and start an email announces, as one comparable string."""
    return f"{held_on.isoformat()}T{starts_at or ''}"


def queue_invitations(*, sessions: sessionmaker[Session], clock: Clock) -> int:
    """Queue every invitation and change email that is due now; returns rows queued."""
    now = clock.now()
    queued = 0
    with unit_of_work(sessions) as session:
        rough_today = now.date()
        candidates = session.execute(
            select(Meeting, Body, Organisation)
            .join(Body, Body.id == Meeting.body_id)
            .join(Organisation, Organisation.id == Body.organisation_id)
            # A day's margin each side: the organisation's local date may differ from UTC's.
            .where(Meeting.held_on >= rough_today - timedelta(days=1), ACTIVE)
            .order_by(Organisation.id, Meeting.held_on, Meeting.id)
        ).all()
        for meeting, body, org in candidates:
            cal = calendar_of(org)
            if not is_ahead(meeting, cal, now):
                continue
            if meeting.held_on <= rough_today + LONGEST_LEAD and invitations_due(
                session, meeting, org, cal, now
            ):
                queued += enqueue(session, invitation_drafts(session, meeting, body), now=now)
            queued += enqueue(session, change_drafts(session, meeting, body), now=now)
    return queued


def is_ahead(meeting: Meeting, cal: BusinessCalendar, now: datetime) -> bool:
    """Not yet begun: a later day, or today before its start (a day without a start counts
    as ahead until the day is over)."""
    today = cal.local_date(now)
    if meeting.held_on != today:
        return meeting.held_on > today
    begins = start_of(meeting.held_on, meeting.starts_at, cal.timezone)
    return begins is None or now < begins


def invitations_due(
    session: Session, meeting: Meeting, org: Organisation, cal: BusinessCalendar, now: datetime
) -> bool:
    policy = policy_for(session, org.id)
    first_day = meeting.held_on - timedelta(days=policy.meeting_invitation_days)
    return now >= cal.at_local(first_day, policy.send_hour)


def invitees(session: Session, meeting: Meeting) -> list[Invitee]:
    """Members on the meeting day, then guests; one entry per address (a member who is also
    entered as a guest is invited once, as a member)."""
    seen: set[str] = set()
    out: list[Invitee] = []
    for member in current_members(session, body_id=meeting.body_id, day=meeting.held_on):
        if member.email.strip().lower() not in seen:
            seen.add(member.email.strip().lower())
            out.append(Invitee(member.email, member.name, member.language, member_id=member.id))
    guests = session.scalars(
        select(MeetingGuest).where(MeetingGuest.meeting_id == meeting.id).order_by(MeetingGuest.id)
    )
    for guest in guests:
        if guest.email.strip().lower() not in seen:
            seen.add(guest.email.strip().lower())
            out.append(Invitee(guest.email, guest.name, guest.language, guest_id=guest.id))
    return out


def _context(meeting: Meeting, invitee: Invitee, sequence: int) -> dict[str, object]:
    return {
        "meeting_id": meeting.id,
        "member_id": invitee.member_id,
        "guest_id": invitee.guest_id,
        # What this email announces; the renderer overwrites it with what it really showed.
        "held_on": meeting.held_on.isoformat(),
        "starts_at": meeting.starts_at,
        "sequence": sequence,
    }


def invitation_drafts(session: Session, meeting: Meeting, body: Body) -> list[Draft]:
    return [
        Draft(
            organisation_id=body.organisation_id,
            dedupe_key=invitation_key(meeting.id, person.email),
            kind=INVITATION,
            recipient_email=person.email,
            recipient_name=person.name,
            language=person.language if person.language in ("de", "en") else "de",
            context=_context(meeting, person, 0),
        )
        for person in invitees(session, meeting)
    ]


def change_drafts(session: Session, meeting: Meeting, body: Body) -> list[Draft]:
    """A change email to everyone whose last delivered email announced another day or start."""
    rows = _sent_or_on_the_way(session, meeting.id)
    if not rows:
        return []
    now_announced = announced(meeting.held_on, meeting.starts_at)
    by_address: dict[str, list[OutboxMessage]] = {}
    for row in rows:
        by_address.setdefault(row.recipient_email.strip().lower(), []).append(row)
    wanted = {p.email.strip().lower(): p for p in invitees(session, meeting)}
    drafts = []
    for address, mine in by_address.items():
        person = wanted.get(address)
        if person is None or any(r.status in ON_THE_WAY for r in mine):
            continue  # no longer invited, or an email still on its way will show the news
        last = max(
            (r for r in mine if r.status == OutboxStatus.SENT.value),
            key=lambda r: (r.sent_at or r.created_at, r.id),
            default=None,
        )
        if last is None or _announced_by(last) == now_announced:
            continue
        drafts.append(
            Draft(
                organisation_id=body.organisation_id,
                dedupe_key=change_key(meeting.id, person.email, meeting.held_on, meeting.starts_at),
                kind=CHANGED,
                recipient_email=person.email,
                recipient_name=person.name,
                language=person.language if person.language in ("de", "en") else "de",
                context=_context(meeting, person, 1 + sum(1 for r in mine if r.kind == CHANGED))
                | {"previous": _announced_by(last)},
            )
        )
    return drafts


def _announced_by(row: OutboxMessage) -> str:
    ctx = row.context or {}
    return announced(date.fromisoformat(str(ctx["held_on"])), ctx.get("starts_at") or None)


def _sent_or_on_the_way(session: Session, meeting_id: int) -> Sequence[OutboxMessage]:
    """This meeting's invitation and change rows that went out or are going out."""
    prefixes = (f"invitation:{meeting_id}:", f"{CHANGED}:{meeting_id}:")
    rows: Iterable[OutboxMessage] = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind.in_(KINDS),
            OutboxMessage.status.in_((OutboxStatus.SENT.value, *ON_THE_WAY)),
            key_matches(OutboxMessage.dedupe_key, prefixes[0], "")
            | key_matches(OutboxMessage.dedupe_key, prefixes[1], ""),
        )
    )
    return list(rows)
