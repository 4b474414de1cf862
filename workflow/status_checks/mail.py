"""The outbox drafts of a status check: invitation, reminders, escalations, receipt, notices.

Each contact's part (``StatusCheckRequest``) gets its own messages, keyed by the part, its
stay and its step ("sc:<request>:<stay>:reminder:<i>"), so opening, sweeping or answering
twice queues each message once. Builds drafts only: never queues, sends or commits. What the
emails show is read at send time by ``workflow.status_checks.mail_context``.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.models import Channel
from notifications.outbox import Draft
from workflow.accounts import Role, User
from workflow.catalogue.models import Contact, Organisation
from workflow.deadlines import Step
from workflow.forms.tokens import Phase
from workflow.status_checks.models import StatusCheckRequest

log = logging.getLogger(__name__)

REQUEST = "status_check_request"
REMINDER = "status_check_reminder"
FINAL_REMINDER = "status_check_final_reminder"
ESCALATION_HEAD = "status_check_escalation_head"
CONFIRMATION = "status_check_confirmation"
DELEGATION_NOTICE = "status_check_delegation_notice"
# The steering rung's fact for the bodies' digests (``notifications.digest_items``).
DIGEST_ITEM = "digest_item"
KINDS = frozenset(
    {REQUEST, REMINDER, FINAL_REMINDER, ESCALATION_HEAD, CONFIRMATION, DELEGATION_NOTICE}
)
# Kinds that carry the contact's form link; the heads' notice names the contact instead, and
# the owner's notice of a hand-over only tells them (their own link stays in their invitation).
LINK_KINDS = KINDS - {ESCALATION_HEAD, DELEGATION_NOTICE}


def context_of(request: StatusCheckRequest) -> dict[str, Any]:
    """What every message of a part names; the renderer reads the rest when it sends."""
    return {
        "status_check_id": request.status_check_id,
        "status_check_request_id": request.id,
        "contact_id": request.contact_id,
        "recipient_contact_id": request.contact_id,
        "cycle_id": request.status_check.cycle_id,
        "due_on": request.due_on.isoformat(),
        "stay": request.stay,
        "phase": Phase.STATUS_CHECK.value,
    }


def _to_contact(request: StatusCheckRequest, kind: str, key: str, **extra: Any) -> Draft:
    contact = request.contact
    return Draft(
        organisation_id=request.organisation_id,
        dedupe_key=key,
        kind=kind,
        recipient_email=contact.email,
        recipient_name=contact.name,
        language=contact.language,
        context={**context_of(request), **extra},
    )


def invitation(request: StatusCheckRequest, *, mark: str = "") -> Draft:
    """``mark``: after a corrected address, that correction's (``workflow.forms.ladder_restart``)."""
    return _to_contact(request, REQUEST, f"sc:{request.id}:{request.stay}:request:0{mark}")


def reminder(request: StatusCheckRequest, step: Step, *, final: bool, mark: str = "") -> Draft:
    kind = FINAL_REMINDER if final else REMINDER
    key = f"sc:{request.id}:{request.stay}:reminder:{step.index}{mark}"
    return _to_contact(request, kind, key, step=step.index)


def confirmation(
    request: StatusCheckRequest, *, revision: int, by: str, item_ids: list[int] | None = None
) -> Draft:
    """One per answer (``revision`` counts them): a corrected answer is confirmed again.
    ``item_ids``: the items this answer gave, the ones its receipt copies (all when None)."""
    key = f"sc:{request.id}:confirmation:{revision}"
    extra: dict[str, Any] = {"submitted_by": by, "revision": revision}
    if item_ids is not None:
        extra["item_ids"] = item_ids
    return _to_contact(request, CONFIRMATION, key, **extra)


def escalation(session: Session, request: StatusCheckRequest, step: Step) -> list[Draft]:
    """To the heads of the contact's department; without any, to the coordinators, and
    without those to the organisation's address, as a data request's escalation does."""
    contact = request.contact
    recipients: list[tuple[str, str, str, str]] = []
    if contact.department_id is not None:
        recipients = [
            (f"c{h.id}", h.email, h.name, h.language)
            for h in session.scalars(
                select(Contact)
                .where(Contact.department_id == contact.department_id, Contact.is_head.is_(True))
                .order_by(Contact.id)
            )
            if h.id != contact.id  # a head asked about their own measures is not told twice
        ]
    if not recipients:
        recipients = [
            (f"u{u.id}", u.email, u.name, "de")
            for u in session.scalars(
                select(User)
                .where(
                    User.organisation_id == request.organisation_id,
                    User.role == Role.COORDINATOR.value,
                    User.active.is_(True),
                )
                .order_by(User.id)
            )
        ]
    if not recipients:
        org = session.get(Organisation, request.organisation_id)
        if org is not None and org.contact_email:
            recipients = [("org", org.contact_email, org.name, "de")]
    if not recipients:
        log.warning("status check part %s: nobody to escalate to; only recorded", request.id)
    context = context_of(request)
    del context["recipient_contact_id"]  # the head is the recipient; the contact is named
    return [
        Draft(
            organisation_id=request.organisation_id,
            dedupe_key=f"sc:{request.id}:{request.stay}:escalation:{step.index}:{who}",
            kind=ESCALATION_HEAD,
            recipient_email=email,
            recipient_name=name,
            language=language,
            context={**context, "level": step.index},
        )
        for who, email, name, language in recipients
    ]


def escalation_to_bodies(request: StatusCheckRequest, step: Step) -> Draft:
    """The steering rung, as a measure's: one digest item per part and step, read by the
    digests of every body whose scope covers one of the part's measures."""
    context = context_of(request)
    del context["recipient_contact_id"]  # nobody is mailed; the digests name the contact
    return Draft(
        organisation_id=request.organisation_id,
        dedupe_key=f"sc:{request.id}:{request.stay}:escalation:{step.index}",
        kind=DIGEST_ITEM,
        recipient_email="",
        channel=Channel.DIGEST,
        context={
            **context,
            "item": "status_check",
            "level": step.index,
            "escalated_at": step.at.isoformat(),
        },
    )


def delegation_notice(request: StatusCheckRequest, delegation_id: int) -> Draft:
    """The owner's notice that their part was handed on; one per hand-over."""
    return _to_contact(
        request,
        DELEGATION_NOTICE,
        f"sc:{request.id}:delegation_notice:{delegation_id}",
        delegation_id=delegation_id,
    )
