"""What a meeting invitation and a change email show, and their calendar file, at send time.

Called by ``notifications.render``. Everything comes from the meeting row as it is now (day,
start, place, agenda, guests), so an email still waiting shows the latest plan; the row is
told what it announced, which is what ``workflow.meetings.invitations`` compares against to
notice a moved meeting. The pack link goes only to a recipient with an account (who can open
the page); a guest who reports on a field gets their measures' current answers inline.
Reads the database and updates the rows it renders; never sends and never queues.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from notifications.render import STATE_LABELS_EN, Attachment, format_date
from workflow.accounts import User
from workflow.bodies.models import Body, BodyMember, Meeting
from workflow.catalogue.models import Organisation
from workflow.config import Settings
from workflow.machine import LABELS_DE, State
from workflow.meetings.ics import CalendarEntry, meeting_ics, meeting_uid
from workflow.meetings.models import AgendaItem, MeetingGuest
from workflow.meetings.status import MeasureStatus, field_label, field_statuses, report_scope

LABELS = {
    "de": {
        "state": "Phase",
        "due_on": "Frist",
        "targets": "Ziele laut Zielvereinbarung {year}",
        "achievement": "Rückmeldung zur Zielerreichung {year}",
        "obstacles": "Hindernisse",
        "summary": "Sitzung: {body}",
        "agenda": "Tagesordnung",
        "pack": "Sitzungsunterlage",
    },
    "en": {
        "state": "Phase",
        "due_on": "Due date",
        "targets": "Targets in the target agreement {year}",
        "achievement": "Achievement in the review {year}",
        "obstacles": "Obstacles",
        "summary": "Meeting: {body}",
        "agenda": "Agenda",
        "pack": "Meeting papers",
    },
}
ACHIEVEMENT = {
    "de": {
        "erreicht": "erreicht",
        "teilweise": "teilweise erreicht",
        "nicht_erreicht": "nicht erreicht",
        "nicht_begonnen": "nicht begonnen",
    },
    "en": {
        "erreicht": "achieved",
        "teilweise": "partly achieved",
        "nicht_erreicht": "not achieved",
        "nicht_begonnen": "not started",
    },
}


class MeetingGone(LookupError):
    """The meeting of a queued invitation no longer exists."""


def meeting_email(
    session: Session,
    settings: Settings,
    now: datetime,
    rows: list[OutboxMessage],
    org: Organisation,
    lang: str,
) -> tuple[dict[str, Any], tuple[Attachment, ...]]:
    """The template context and the calendar file of one invitation or change email."""
    row = rows[0]
    ctx = row.context or {}
    meeting = session.get(Meeting, int(ctx.get("meeting_id") or 0))
    body = session.get(Body, meeting.body_id) if meeting else None
    if meeting is None or body is None or body.organisation_id != org.id:
        raise MeetingGone(ctx.get("meeting_id"))
    # What this email announces, as the next sweep compares it with the meeting row.
    row.context = {**ctx, "held_on": meeting.held_on.isoformat(), "starts_at": meeting.starts_at}
    agenda = [
        item.title
        for item in session.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting.id)
            .order_by(AgendaItem.position, AgendaItem.id)
        )
    ]
    base = settings.base_url.rstrip("/")
    pack_url = (
        f"{base}/sitzungen/{meeting.id}/unterlage"
        if has_account(session, org.id, row.recipient_email, ctx.get("member_id"))
        else ""
    )
    guest = session.get(MeetingGuest, int(ctx["guest_id"])) if ctx.get("guest_id") else None
    report_field, items = "", []
    if guest is not None and guest.meeting_id == meeting.id and guest.field_id is not None:
        label = field_label(session, guest.field_id)
        report_field = f"{label[0]} {label[1]}" if label else ""
        scope = report_scope(session, organisation_id=org.id, guest=guest)
        if scope is not None:
            items = [
                measure_view(s, lang)
                for s in field_statuses(session, organisation_id=org.id, scope=scope)
            ]
    previous = str(ctx.get("previous") or "")
    previous_day, _, previous_time = previous.partition("T")
    context: dict[str, Any] = {
        "body_name": body.name,
        "meeting_title": meeting.title or "",
        "meeting_date": format_date(meeting.held_on, lang),
        "meeting_time": meeting.starts_at or "",
        "place": meeting.place or "",
        "agenda": agenda,
        "pack_url": pack_url,
        "report_field": report_field,
        "items": items,
        "previous_date": format_date(date.fromisoformat(previous_day), lang)
        if previous_day
        else "",
        "previous_time": previous_time,
    }
    entry = CalendarEntry(
        uid=meeting_uid(meeting.id, settings.mail_from.rpartition("@")[2]),
        sequence=int(ctx.get("sequence") or 0),
        summary=LABELS[lang]["summary"].format(body=body.name)
        + (f" – {meeting.title}" if meeting.title else ""),
        description=_description(agenda, pack_url, lang),
        location=meeting.place or "",
        day=meeting.held_on,
        starts_at=meeting.starts_at,
        timezone=org.timezone,
        organizer_email=org.contact_email or settings.mail_from,
        organizer_name=org.office_name,
        attendee_email=row.recipient_email,
        attendee_name=row.recipient_name,
    )
    ics = Attachment(
        filename=f"sitzung-{meeting.id}.ics",
        content=meeting_ics(entry, now=now),
        maintype="text",
        subtype="calendar",
        params=(("method", "REQUEST"), ("charset", "utf-8")),
    )
    return context, (ics,)


def has_account(session: Session, organisation_id: int, email: str, member_id: object) -> bool:
    """An active account of the organisation: the member's linked one, or one by address."""
    member = session.get(BodyMember, int(member_id)) if isinstance(member_id, int) else None
    if member is not None and member.user_id is not None:
        user = session.get(User, member.user_id)
        if user is not None and user.active and user.organisation_id == organisation_id:
            return True
    found = session.scalar(
        select(func.count())
        .select_from(User)
        .where(
            User.organisation_id == organisation_id,
            User.active.is_(True),
            func.lower(User.email) == email.strip().lower(),
        )
    )
    return bool(found)


def measure_view(status: MeasureStatus, lang: str) -> dict[str, Any]:
    """One measure as the email's answer list shows it: phase, due date, latest answers."""
    words = LABELS[lang]
    state = State(status.state)
    answers = [[words["state"], LABELS_DE[state] if lang == "de" else STATE_LABELS_EN[state]]]
    if isinstance(status.due_on, date):
        answers.append([words["due_on"], format_date(status.due_on, lang)])
    if status.agreement is not None and status.agreement.targets:
        label = words["targets"].format(year=status.agreement_year)
        answers.append([label, status.agreement.targets])
    if status.review is not None:
        label = words["achievement"].format(year=status.review_year)
        value = status.review.achievement
        answers.append([label, ACHIEVEMENT[lang].get(value, value)])
        if status.review.obstacles:
            answers.append([words["obstacles"], status.review.obstacles])
    return {
        "code": status.code,
        "title": status.title,
        "goal_code": status.goal_code,
        "goal_name": status.goal_name,
        "field_code": status.field_code,
        "field_name": status.field_name,
        "answers": answers,
    }


def _description(agenda: list[str], pack_url: str, lang: str) -> str:
    words = LABELS[lang]
    lines = [f"{words['agenda']}:"] + [f"{n}. {title}" for n, title in enumerate(agenda, 1)]
    if not agenda:
        lines = []
    if pack_url:
        lines += ["", f"{words['pack']}: {pack_url}"]
    return "\n".join(lines).strip()
