"""A contact whose link expired or was replaced asks for a new one: tell the coordinators, once a day.

It only queues ``link_request`` messages (the coordinator reissues the link); it never issues
a token itself, so a stranger holding an old link cannot get a fresh one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.outbox import Draft, enqueue
from workflow.accounts import Role, User
from workflow.catalogue.models import Contact, Organisation
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import AuditEvent
from workflow.forms.tokens import FormToken


def request_new_link(*, session: Session, clock: Clock, token: FormToken) -> int:
    """Queue one message per active coordinator (or the organisation's address); returns how many
    were new. Repeated clicks on the same day and link queue nothing more."""
    now = clock.now()
    org = session.get(Organisation, token.organisation_id)
    contact = session.get(Contact, token.contact_id)
    assert org is not None and contact is not None
    coordinators = session.scalars(
        select(User)
        .where(
            User.organisation_id == org.id,
            User.role == Role.COORDINATOR.value,
            User.active.is_(True),
        )
        .order_by(User.id)
    ).all()
    recipients = [(f"user{u.id}", u.email, u.name) for u in coordinators]
    if not recipients and org.contact_email:
        recipients = [("org", org.contact_email, org.name)]
    day = calendar_of(org).local_date(now).isoformat()
    context = {
        "contact_id": contact.id,
        "contact_name": contact.name,
        "contact_email": contact.email,
        "cycle_id": token.cycle_id,
        "phase": token.phase,
    }
    added = enqueue(
        session,
        [
            Draft(
                organisation_id=org.id,
                dedupe_key=f"link_request:{token.id}:{day}:{who}",
                kind="link_request",
                recipient_email=email,
                recipient_name=name,
                context=context,
            )
            for who, email, name in recipients
        ],
        now=now,
    )
    if added:
        session.add(
            AuditEvent(
                organisation_id=org.id,
                measure_cycle_id=None,
                at=now,
                actor=f"contact:{contact.id}",
                event="link_requested",
                from_state=None,
                to_state=None,
                payload={**context, "token_id": token.id, "recipients": len(recipients)},
            )
        )
    return added
