"""Handing one contact's part of a status check to a colleague ("weitergeben"). Never commits.

The same checks and daily limits as the other forms (``workflow.forms.delegation``): only the
owner's own link hands on, the typed address and name are checked as typed, nobody gets the
same part twice. An address of the organisation's own mail domains, or a contact it already
has, goes out at once: the colleague's contact is found or created and the invitation to the
owner's part is queued for them; the link is issued when the email is sent (with the part's
``status_check_request_id`` and the owner as ``delegated_from_contact_id``), never stored,
and the owner is told by email. Any other address is refused with a pointer to the
coordinators, as on the data form.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.outbox import enqueue
from workflow.catalogue.models import Contact, Organisation
from workflow.clock import Clock
from workflow.forms.delegation import (
    DelegationRefused,
    check_delegate,
    clean_name,
    create_colleague,
    over_limit,
)
from workflow.forms.mail_domains import is_own
from workflow.forms.models import Delegation, DelegationStatus
from workflow.forms.revocation import LIVE, record
from workflow.forms.tokens import FormToken, Phase
from workflow.forms.validation import FieldError
from workflow.status_checks import mail
from workflow.status_checks.models import StatusCheckItem, StatusCheckRequest

EMAIL = "delegate_email"


def hand_on(
    *,
    session: Session,
    clock: Clock,
    token: FormToken,
    request: StatusCheckRequest,
    email: str,
    name: str,
) -> Delegation:
    """Record a hand-over of ``request`` to ``email``; raises DelegationRefused."""
    owner = session.get(Contact, request.contact_id)
    holder = session.get(Contact, token.contact_id)
    org = session.get(Organisation, request.organisation_id)
    assert owner is not None and holder is not None and org is not None, "foreign keys"
    errors = check_delegate(email, name)
    email, name = email.strip().lower(), clean_name(name)
    if token.delegated_from_contact_id is not None:
        errors.append(FieldError(EMAIL, "forms.error.delegate_not_owner"))
    if not errors and email in {owner.email.lower(), holder.email.lower()}:
        errors.append(FieldError(EMAIL, "forms.error.delegate_self"))
    now = clock.now()
    colleague: Contact | None = None
    if not errors:
        errors += over_limit(session, organisation=org, token_id=token.id, now=now)
    if not errors and request.status_check.closed_at is not None:
        errors.append(FieldError(EMAIL, "forms.error.delegate_nothing_open"))
    if not errors and _already_handed_to(session, request, email):
        errors.append(FieldError(EMAIL, "forms.error.delegate_already"))
    if not errors:
        colleague = session.scalars(
            select(Contact).where(
                Contact.organisation_id == org.id, func.lower(Contact.email) == email
            )
        ).first()
        if colleague is None and not is_own(session, org, email):
            errors.append(FieldError(EMAIL, "status_form.error.delegate_outside"))
        elif colleague is None and not name:
            errors.append(FieldError("delegate_name", "forms.error.delegate_name_required"))
    if errors:
        raise DelegationRefused(errors)
    delegation = Delegation(
        organisation_id=org.id,
        cycle_id=request.status_check.cycle_id,
        phase=Phase.STATUS_CHECK.value,
        owner_contact_id=owner.id,
        delegate_contact_id=colleague.id if colleague else None,
        delegate_email=colleague.email if colleague else email,
        delegate_name=colleague.name if colleague else name,
        by_contact_id=holder.id,
        form_token_id=token.id,
        status=DelegationStatus.ACTIVE.value,
        created_at=now,
    )
    session.add(delegation)
    session.flush()
    colleague = colleague or create_colleague(session, delegation, owner)
    delegation.delegate_contact_id = colleague.id
    _queue(session, request, delegation, colleague, now)
    mc_ids = sorted(
        i
        for i in session.scalars(
            select(StatusCheckItem.measure_cycle_id).where(StatusCheckItem.request_id == request.id)
        )
        if i is not None
    )
    record(
        session,
        delegation,
        "form_delegated",
        now=now,
        actor=f"contact:{holder.id}",
        measure_cycle_ids=mc_ids,
        status_check_request_id=request.id,
    )
    return delegation


def _queue(
    session: Session,
    request: StatusCheckRequest,
    delegation: Delegation,
    colleague: Contact,
    now: datetime,
) -> None:
    """The owner's invitation, addressed to the colleague (its link opens the owner's part),
    and the owner's notice of the hand-over."""
    invitation = mail.invitation(request)
    draft = replace(
        invitation,
        dedupe_key=f"sc:{request.id}:delegation:{delegation.id}",
        recipient_email=colleague.email,
        recipient_name=colleague.name,
        language=colleague.language,
        context={
            **invitation.context,
            "recipient_contact_id": colleague.id,
            "delegated_from_contact_id": request.contact_id,
            "delegation_id": delegation.id,
        },
    )
    # The owner hears of it by email, as on the other forms: a hand-over they did not make
    # is reported to the coordinators and the link blocked.
    enqueue(session, [draft, mail.delegation_notice(request, delegation.id)], now=now)


def _already_handed_to(session: Session, request: StatusCheckRequest, email: str) -> bool:
    """Handed to the same address since this part opened (another check's part may go again)."""
    return (
        session.scalars(
            select(Delegation.id).where(
                Delegation.cycle_id == request.status_check.cycle_id,
                Delegation.phase == Phase.STATUS_CHECK.value,
                Delegation.owner_contact_id == request.contact_id,
                func.lower(Delegation.delegate_email) == email,
                Delegation.status.in_(LIVE),
                Delegation.created_at >= request.opened_at,
            )
        ).first()
        is not None
    )
