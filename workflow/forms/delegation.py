"""Handing a form to a colleague: check what was typed, keep to the daily limits, record the hand-over.

An address in the organisation's own mail domains (or a contact it already has) goes out at
once: the colleague's contact is found or created and their invitation queued. Any other
address is recorded as pending and nobody is written to but the coordinators, until one of
them approves on the measure page (``delegation_review``). The owner is told either way.
Only the owner's own link may hand on. It never moves a measure and never commits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Contact, Organisation
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.forms.delegation_mail import (
    queue_approval_request,
    queue_invitation,
    queue_owner_notice,
)
from workflow.forms.mail_domains import is_own
from workflow.forms.models import Delegation, DelegationStatus
from workflow.forms.revocation import LIVE, record
from workflow.forms.scope import FormScope, scope_ids
from workflow.forms.validation import FieldError

# A link may hand on this often per local day, and the organisation as a whole this often:
# enough for any department, too few to make zielflow a mail relay.
MAX_PER_LINK_PER_DAY = 5
MAX_PER_ORGANISATION_PER_DAY = 30
MAX_NAME = 100
# Deliberately loose: one @, a dot in the domain, no spaces. The mail server has the last word.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Words of letters joined by a space, hyphen or apostrophe; a dot only closes a word
# ("Dr. Nora Neu"), so nothing that reads as a web address passes.
_LETTERS = r"[^\W\d_]+"
_NAME = re.compile(rf"{_LETTERS}(?:(?:[ '’-]|\. ){_LETTERS})*\.?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]")


@dataclass
class DelegationRefused(Exception):
    errors: list[FieldError]


def clean_name(raw: str) -> str:
    return " ".join(unicodedata.normalize("NFC", raw).split())


def check_delegate(email: str, name: str) -> list[FieldError]:
    """What is wrong with the typed address and name (as typed; control characters too)."""
    errors: list[FieldError] = []
    if not email.strip():
        errors.append(FieldError("delegate_email", "forms.error.delegate_email_required"))
    elif len(email) > 320 or _CONTROL.search(email) or not _EMAIL.match(email.strip()):
        errors.append(FieldError("delegate_email", "forms.error.email_invalid"))
    if _CONTROL.search(name):
        errors.append(FieldError("delegate_name", "forms.error.control_character"))
    else:
        cleaned = clean_name(name)
        if cleaned and (len(cleaned) > MAX_NAME or not _NAME.fullmatch(cleaned)):
            errors.append(
                FieldError("delegate_name", "forms.error.delegate_name_invalid", {"max": MAX_NAME})
            )
    return errors


def delegate(
    *, session: Session, clock: Clock, scope: FormScope, email: str, name: str
) -> Delegation:
    """Record a hand-over of ``scope`` to ``email``; raises DelegationRefused with field errors."""
    errors = check_delegate(email, name)
    email, name = email.strip().lower(), clean_name(name)
    if scope.token.delegated_from_contact_id is not None:
        errors.append(FieldError("delegate_email", "forms.error.delegate_not_owner"))
    if not errors and email in {scope.owner.email.lower(), scope.contact.email.lower()}:
        errors.append(FieldError("delegate_email", "forms.error.delegate_self"))
    now = clock.now()
    mc_ids: list[int] = []
    colleague: Contact | None = None
    if not errors:
        errors += over_limit(
            session, organisation=scope.organisation, token_id=scope.token.id, now=now
        )
    if not errors:
        mc_ids = scope_ids(
            session,
            organisation_id=scope.organisation.id,
            cycle_id=scope.cycle.id,
            owner_id=scope.owner.id,
            phase=scope.phase,
        )
        if not mc_ids:
            errors.append(FieldError("delegate_email", "forms.error.delegate_nothing_open"))
        elif _already_handed_to(session, scope, email):
            errors.append(FieldError("delegate_email", "forms.error.delegate_already"))
    if not errors:
        colleague = _contact_by_email(session, scope.organisation.id, email)
        if colleague is None and not name:
            errors.append(FieldError("delegate_name", "forms.error.delegate_name_required"))
    if errors:
        raise DelegationRefused(errors)
    goes_out = colleague is not None or is_own(session, scope.organisation, email)
    delegation = Delegation(
        organisation_id=scope.organisation.id,
        cycle_id=scope.cycle.id,
        phase=scope.phase.value,
        owner_contact_id=scope.owner.id,
        delegate_contact_id=colleague.id if colleague else None,
        delegate_email=colleague.email if colleague else email,
        delegate_name=colleague.name if colleague else name,
        by_contact_id=scope.contact.id,
        form_token_id=scope.token.id,
        status=(DelegationStatus.ACTIVE if goes_out else DelegationStatus.PENDING).value,
        created_at=now,
    )
    session.add(delegation)
    session.flush()
    if goes_out:
        colleague = colleague or create_colleague(session, delegation, scope.owner)
        delegation.delegate_contact_id = colleague.id
        queue_invitation(session, delegation, colleague, mc_ids, now)
    else:
        queue_approval_request(session, delegation, mc_ids, now)
    queue_owner_notice(session, delegation, scope.owner, mc_ids, now)
    record(
        session,
        delegation,
        "form_delegated" if goes_out else "delegation_requested",
        now=now,
        actor=scope.actor,
        measure_cycle_ids=mc_ids,
    )
    return delegation


def create_colleague(session: Session, delegation: Delegation, owner: Contact) -> Contact:
    """The colleague's contact, in the owner's department; made only once the hand-over goes out."""
    found = _contact_by_email(session, delegation.organisation_id, delegation.delegate_email)
    if found is not None:
        return found
    colleague = Contact(
        organisation_id=delegation.organisation_id,
        department_id=owner.department_id,
        name=delegation.delegate_name,
        email=delegation.delegate_email,
        language=owner.language,
    )
    session.add(colleague)
    session.flush()
    return colleague


def _contact_by_email(session: Session, organisation_id: int, email: str) -> Contact | None:
    return session.scalars(
        select(Contact).where(
            Contact.organisation_id == organisation_id, func.lower(Contact.email) == email.lower()
        )
    ).first()


def _already_handed_to(session: Session, scope: FormScope, email: str) -> bool:
    return (
        session.scalars(
            select(Delegation.id).where(
                Delegation.cycle_id == scope.cycle.id,
                Delegation.phase == scope.phase.value,
                Delegation.owner_contact_id == scope.owner.id,
                func.lower(Delegation.delegate_email) == email,
                Delegation.status.in_(LIVE),
            )
        ).first()
        is not None
    )


def over_limit(
    session: Session, *, organisation: Organisation, token_id: int, now: datetime
) -> list[FieldError]:
    """The daily limits (per link, per organisation; the data form's hand-overs count too),
    counted under a lock on the organisation's row so that parallel requests queue up
    instead of all counting the same total."""
    session.execute(
        select(Organisation.id).where(Organisation.id == organisation.id).with_for_update()
    )
    cal = calendar_of(organisation)
    since = cal.at_local(cal.local_date(now), 0)
    by_link = session.scalar(
        select(func.count())
        .select_from(Delegation)
        .where(Delegation.form_token_id == token_id, Delegation.created_at >= since)
    )
    if (by_link or 0) >= MAX_PER_LINK_PER_DAY:
        return [
            FieldError(
                "delegate_email", "forms.error.delegate_limit_link", {"max": MAX_PER_LINK_PER_DAY}
            )
        ]
    in_organisation = session.scalar(
        select(func.count())
        .select_from(Delegation)
        .where(Delegation.organisation_id == organisation.id, Delegation.created_at >= since)
    )
    if (in_organisation or 0) >= MAX_PER_ORGANISATION_PER_DAY:
        return [FieldError("delegate_email", "forms.error.delegate_limit_organisation")]
    return []
