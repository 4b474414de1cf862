"""Handing a form to a colleague: find or create the colleague's contact and queue their invitation.

The colleague's own link is issued by the email renderer at send time (raw tokens are never
stored, not even in the outbox); this module only queues the ``delegation`` message and
writes the audit event. It never moves a measure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.outbox import Draft, enqueue
from workflow.catalogue.models import Contact
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import AuditEvent
from workflow.forms.scope import FormScope
from workflow.forms.validation import MAX_LINE, FieldError

# Deliberately loose: one @, a dot in the domain, no spaces. The mail server has the last word.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class DelegationRefused(Exception):
    errors: list[FieldError]


def check_delegate(email: str, name: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if not email:
        errors.append(FieldError("delegate_email", "forms.error.delegate_email_required"))
    elif len(email) > 320 or not _EMAIL.match(email):
        errors.append(FieldError("delegate_email", "forms.error.email_invalid"))
    if len(name) > MAX_LINE:
        errors.append(FieldError("delegate_name", "forms.error.too_long", {"max": MAX_LINE}))
    return errors


def delegate(*, session: Session, clock: Clock, scope: FormScope, email: str, name: str) -> Contact:
    """Queue an invitation for the colleague at ``email``; raises DelegationRefused with errors."""
    email, name = email.strip().lower(), " ".join(name.split())
    errors = check_delegate(email, name)
    if not errors and email in {scope.owner.email.lower(), scope.contact.email.lower()}:
        errors.append(FieldError("delegate_email", "forms.error.delegate_self"))
    colleague = None
    if not errors:
        colleague = session.scalars(
            select(Contact).where(
                Contact.organisation_id == scope.organisation.id,
                func.lower(Contact.email) == email,
            )
        ).first()
        if colleague is None and not name:
            errors.append(FieldError("delegate_name", "forms.error.delegate_name_required"))
    if errors:
        raise DelegationRefused(errors)
    now = clock.now()
    if colleague is None:
        colleague = Contact(
            organisation_id=scope.organisation.id,
            department_id=scope.owner.department_id,
            name=name,
            email=email,
            language=scope.owner.language,
        )
        session.add(colleague)
        session.flush()
    day = calendar_of(scope.organisation).local_date(now)
    context = {
        "delegate_contact_id": colleague.id,
        "from_contact_id": scope.owner.id,
        "by_contact_id": scope.contact.id,
        "cycle_id": scope.cycle.id,
        "phase": scope.phase.value,
    }
    enqueue(
        session,
        [
            Draft(
                organisation_id=scope.organisation.id,
                dedupe_key=(
                    f"delegation:{scope.cycle.id}:{scope.phase.value}:{scope.owner.id}:"
                    f"{colleague.id}:{day.isoformat()}"
                ),
                kind="delegation",
                recipient_email=colleague.email,
                recipient_name=colleague.name,
                language=colleague.language,
                context=context,
            )
        ],
        now=now,
    )
    session.add(
        AuditEvent(
            organisation_id=scope.organisation.id,
            measure_cycle_id=None,
            at=now,
            actor=scope.actor,
            event="form_delegated",
            from_state=None,
            to_state=None,
            payload={**context, **scope.on_behalf_of},
        )
    )
    return colleague
