"""Handing the data-delivery form to a colleague: the data source's side of ``forms.delegation``.

The same checks and daily limits as the department forms: only the owner's own link hands
on, the typed address and name are checked as typed, nobody gets it twice. An address of the
organisation's own mail domains, or a contact it already has, goes out at once: the
colleague's contact is found or created, their invitation (a link to the owner's requests,
made when it is sent) and the owner's notice are queued. Any other address is refused with
a pointer to the coordinators, who can change the indicator's source instead: a data request
has no measure page where a coordinator could approve a stranger. Never commits.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.outbox import Draft, enqueue
from workflow.catalogue.models import Contact
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
from workflow.forms.tokens import Phase
from workflow.forms.validation import FieldError
from workflow.indicators.delivery import DataScope, items_in_scope
from workflow.indicators.requests import DATA_PHASE

EMAIL = "delegate_email"


def hand_on(
    *, session: Session, clock: Clock, scope: DataScope, email: str, name: str, today: date
) -> Delegation:
    """Record a hand-over of the owner's data requests to ``email``; raises DelegationRefused."""
    errors = check_delegate(email, name)
    email, name = email.strip().lower(), clean_name(name)
    if scope.token.delegated_from_contact_id is not None:
        errors.append(FieldError(EMAIL, "forms.error.delegate_not_owner"))
    if not errors and email in {scope.owner.email.lower(), scope.contact.email.lower()}:
        errors.append(FieldError(EMAIL, "forms.error.delegate_self"))
    now = clock.now()
    request_ids: list[int] = []
    colleague: Contact | None = None
    if not errors:
        errors += over_limit(
            session, organisation=scope.organisation, token_id=scope.token.id, now=now
        )
    if not errors:
        request_ids = [i.request.id for i in items_in_scope(session, scope, today=today)]
        if not request_ids:
            errors.append(FieldError(EMAIL, "forms.error.delegate_nothing_open"))
        elif _already_handed_to(session, scope, email):
            errors.append(FieldError(EMAIL, "forms.error.delegate_already"))
    if not errors:
        colleague = _contact_by_email(session, scope.organisation.id, email)
        if colleague is None and not is_own(session, scope.organisation, email):
            errors.append(FieldError(EMAIL, "data.error.delegate_outside"))
        elif colleague is None and not name:
            errors.append(FieldError("delegate_name", "forms.error.delegate_name_required"))
    if errors:
        raise DelegationRefused(errors)
    delegation = Delegation(
        organisation_id=scope.organisation.id,
        cycle_id=None,
        phase=Phase.DATA_DELIVERY.value,
        owner_contact_id=scope.owner.id,
        delegate_contact_id=colleague.id if colleague else None,
        delegate_email=colleague.email if colleague else email,
        delegate_name=colleague.name if colleague else name,
        by_contact_id=scope.contact.id,
        form_token_id=scope.token.id,
        status=DelegationStatus.ACTIVE.value,
        created_at=now,
    )
    session.add(delegation)
    session.flush()
    colleague = colleague or create_colleague(session, delegation, scope.owner)
    delegation.delegate_contact_id = colleague.id
    _queue(session, delegation, colleague, scope.owner, request_ids, now)
    record(
        session,
        delegation,
        "form_delegated",
        now=now,
        actor=scope.actor,
        data_request_ids=request_ids,
    )
    return delegation


def _queue(
    session: Session,
    delegation: Delegation,
    colleague: Contact,
    owner: Contact,
    request_ids: list[int],
    now: datetime,
) -> int:
    """The colleague's invitation and the owner's notice: one row per request, one email each
    (the sender groups a hand-over's rows by ``delegation_id``)."""
    common = {
        "delegation_id": delegation.id,
        "from_contact_id": owner.id,
        "by_contact_id": delegation.by_contact_id,
        "phase": DATA_PHASE,
    }
    drafts = []
    for request_id in request_ids:
        for kind, person in (("data_delegation", colleague), ("data_delegation_notice", owner)):
            drafts.append(
                Draft(
                    organisation_id=delegation.organisation_id,
                    dedupe_key=f"{kind}:{delegation.id}:{request_id}",
                    kind=kind,
                    recipient_email=person.email,
                    recipient_name=person.name,
                    language=person.language,
                    context={
                        **common,
                        "data_request_id": request_id,
                        "contact_id": person.id,
                        "recipient_contact_id": person.id,
                    },
                )
            )
    return enqueue(session, drafts, now=now)


def _contact_by_email(session: Session, organisation_id: int, email: str) -> Contact | None:
    return session.scalars(
        select(Contact).where(
            Contact.organisation_id == organisation_id, func.lower(Contact.email) == email.lower()
        )
    ).first()


def _already_handed_to(session: Session, scope: DataScope, email: str) -> bool:
    return (
        session.scalars(
            select(Delegation.id).where(
                Delegation.cycle_id.is_(None),
                Delegation.phase == Phase.DATA_DELIVERY.value,
                Delegation.owner_contact_id == scope.owner.id,
                func.lower(Delegation.delegate_email) == email,
                Delegation.status.in_(LIVE),
            )
        ).first()
        is not None
    )
