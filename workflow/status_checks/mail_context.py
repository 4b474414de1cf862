"""What the status-check emails show: the part's measures, its due date, and a form link made now.

Called by ``notifications.render`` at send time, because a raw link token may exist only in
the email itself. The link opens exactly one part (``status_check_request_id``) of the
check's cycle and lives until ``link_valid_days_after_due`` days after the part's due date.
Reads the database and issues tokens; never sends and never queues.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from notifications.outbox_search import key_matches
from notifications.receipts import for_colleague
from workflow.catalogue.models import Contact, Measure, Organisation
from workflow.deadlines import BusinessCalendar, DeadlinePolicy, days_overdue
from workflow.forms.models import Delegation, DelegationStatus
from workflow.forms.tokens import Phase, default_expiry, form_url, issue_token
from workflow.indicators.mail import format_date
from workflow.milestones.models import Milestone
from workflow.status_checks import mail
from workflow.status_checks.models import Stand, StatusCheckItem, StatusCheckRequest
from workflow.status_checks.schedule import rules_of

WORDS = {
    "de": {
        "stand": "Stand",
        Stand.ON_TRACK.value: "im Plan",
        Stand.DELAYED.value: "verzögert",
        Stand.AT_RISK.value: "gefährdet",
        Stand.DONE.value: "abgeschlossen",
        "milestone": "Meilenstein „{text}“",
        "reached": "erreicht",
        "moved": "noch nicht erreicht, neuer Termin: {date}",
        "not_reached": "noch nicht erreicht",
        "indicator": "Kennzahl {code}",
        "note": "Anmerkung",
    },
    "en": {
        "stand": "Status",
        Stand.ON_TRACK.value: "on track",
        Stand.DELAYED.value: "delayed",
        Stand.AT_RISK.value: "at risk",
        Stand.DONE.value: "completed",
        "milestone": "Milestone “{text}”",
        "reached": "reached",
        "moved": "not reached yet, new date: {date}",
        "not_reached": "not reached yet",
        "indicator": "Indicator {code}",
        "note": "Note",
    },
}


class HandOverEnded(Exception):
    """A hand-over's invitation whose hand-over ended after it was queued: it must not go out."""


def status_check_context(
    session: Session,
    *,
    base_url: str,
    now: datetime,
    rows: list[OutboxMessage],
    org: Organisation,
    lang: str,
) -> dict[str, Any]:
    lang = "en" if lang == "en" else "de"
    first = rows[0]
    kind = first.kind
    request = session.get(StatusCheckRequest, int(first.context["status_check_request_id"]))
    assert request is not None, "a part is never deleted"
    cal, policy = rules_of(session, org.id, request.status_check.cycle_id)
    confirming = kind == mail.CONFIRMATION
    only = _given(rows) if confirming else None
    items = _items(session, request, lang, with_answers=confirming, only=only)
    context: dict[str, Any] = {"items": items}
    if kind == mail.CONFIRMATION and for_colleague(first.context):
        context["form_url"] = None  # never the owner's own link (``notifications.receipts``)
    elif kind in mail.LINK_KINDS:
        context |= _link(session, base_url, now, request, first, cal, policy, lang)
    if kind == mail.REQUEST:
        context["handed_by"] = _handed_by(session, first)
    if kind == mail.DELEGATION_NOTICE:
        context |= _handed_to(session, first, request, lang)
    if kind == mail.ESCALATION_HEAD:
        contact = request.contact
        context |= {
            "contact_name": contact.name,
            "contact_email": contact.email,
            "due_on": format_date(request.due_on, lang),
            "days_overdue": days_overdue(request.due_on, now, cal),
            "reminders_sent": _reminders_sent(session, request.id),
        }
    if kind == mail.CONFIRMATION:
        # One submitter per email (``answered_by`` is part of the group key).
        context["submitted_by"] = _name_of(session, str(first.context.get("submitted_by", "")))
        context["on_behalf_of"] = first.context.get("on_behalf_of")
        context["for_owner"] = bool(first.context.get("for_owner"))
    return context


def _given(rows: list[OutboxMessage]) -> set[int] | None:
    """The items the grouped answers gave; receipts queued before they named them copy all."""
    given: set[int] = set()
    for row in rows:
        if "item_ids" not in row.context:
            return None
        given.update(int(i) for i in row.context["item_ids"])
    return given


def _items(
    session: Session,
    request: StatusCheckRequest,
    lang: str,
    *,
    with_answers: bool,
    only: set[int] | None = None,
) -> list[dict[str, Any]]:
    rows = session.execute(
        select(StatusCheckItem, Measure)
        .join(Measure, Measure.id == StatusCheckItem.measure_id)
        .where(StatusCheckItem.request_id == request.id)
        .order_by(Measure.code)
    ).all()
    items = []
    for item, measure in rows:
        if only is not None and item.id not in only:
            continue
        entry: dict[str, Any] = {"code": measure.code, "title": measure.title}
        if with_answers:
            entry["answers"] = answer_pairs(session, item, lang)
        items.append(entry)
    return items


def answer_pairs(session: Session, item: StatusCheckItem, lang: str) -> list[list[str]]:
    """The answer as (label, value) pairs, in the order of the form; empty if none yet."""
    if item.answered_at is None:
        return []
    words = WORDS["en" if lang == "en" else "de"]
    pairs = [[words["stand"], words.get(item.stand, item.stand)]]
    for given in item.milestones or []:
        milestone = session.get(Milestone, int(given.get("milestone_id") or 0))
        label = words["milestone"].format(text=milestone.text if milestone else "")
        if given.get("reached"):
            value = words["reached"]
        elif given.get("new_date"):
            moved_to = date.fromisoformat(str(given["new_date"]))
            value = words["moved"].format(date=format_date(moved_to, lang))
        else:
            value = words["not_reached"]
        pairs.append([label, value])
    for code, value in sorted((item.indicator_values or {}).items()):
        pairs.append([words["indicator"].format(code=code), str(value)])
    if item.note:
        pairs.append([words["note"], item.note])
    return pairs


def _link(
    session: Session,
    base_url: str,
    now: datetime,
    request: StatusCheckRequest,
    row: OutboxMessage,
    cal: BusinessCalendar,
    policy: DeadlinePolicy,
    lang: str,
) -> dict[str, Any]:
    """A token for this one part; a colleague's (after a hand-over) opens the owner's part."""
    holder = int(row.context.get("recipient_contact_id") or request.contact_id)
    delegated_from = row.context.get("delegated_from_contact_id")
    if row.context.get("delegation_id") is not None:
        delegation = session.get(Delegation, int(row.context["delegation_id"]))
        if delegation is None or delegation.status != DelegationStatus.ACTIVE.value:
            raise HandOverEnded(row.context["delegation_id"])
    # A correction's receipt may go out after the due date: its link still works a while.
    last_day = request.due_on
    if row.kind == mail.CONFIRMATION:
        last_day = max(last_day, cal.local_date(now))
    expires_at = default_expiry(last_day, policy, cal)
    raw = issue_token(
        session=session,
        organisation_id=request.organisation_id,
        contact_id=holder,
        cycle_id=request.status_check.cycle_id,
        phase=Phase.STATUS_CHECK,
        expires_at=expires_at,
        now=now,
        issued_by=f"email:{row.kind}",
        delegated_from_contact_id=int(delegated_from) if delegated_from is not None else None,
        status_check_request_id=request.id,
    )
    return {
        "form_url": form_url(base_url, raw),
        "due_on": format_date(request.due_on, lang),
        "link_expires_on": format_date(
            last_day + timedelta(days=policy.link_valid_days_after_due), lang
        ),
    }


def _handed_by(session: Session, row: OutboxMessage) -> str:
    """The owner's name on a colleague's invitation; empty on the contact's own."""
    owner_id = row.context.get("delegated_from_contact_id")
    owner = session.get(Contact, int(owner_id)) if owner_id is not None else None
    return owner.name if owner else ""


def _handed_to(
    session: Session, row: OutboxMessage, request: StatusCheckRequest, lang: str
) -> dict[str, Any]:
    """Whom the owner's part went to, from the hand-over as it stands now."""
    delegation = session.get(Delegation, int(row.context.get("delegation_id") or 0))
    if delegation is None:
        raise HandOverEnded(row.context.get("delegation_id"))
    return {
        "delegate_name": delegation.delegate_name,
        "delegate_email": delegation.delegate_email,
        "due_on": format_date(request.due_on, lang),
    }


def _reminders_sent(session: Session, request_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                key_matches(OutboxMessage.dedupe_key, f"sc:{request_id}:", ":reminder:", ""),
                OutboxMessage.status == "sent",
            )
        )
        or 0
    )


def _name_of(session: Session, actor: str) -> str:
    kind, _, ident = actor.partition(":")
    contact = session.get(Contact, int(ident)) if kind == "contact" and ident.isdigit() else None
    return contact.name if contact else actor
