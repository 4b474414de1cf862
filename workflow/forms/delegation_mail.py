"""The messages a hand-over causes: the colleague's invitation, the owner's notice, the coordinators' request.

One outbox row per measure-in-cycle, so each measure's timeline lists the mail; the sender
groups a hand-over's rows into one email by ``delegation_id``. Raw tokens are made by the
renderer at send time, never here. The colleague's email carries nothing the form user typed
but the colleague's name. Never commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.outbox import Draft, enqueue
from workflow.accounts import Role, User
from workflow.catalogue.models import Contact, Organisation
from workflow.forms.models import Delegation


def _context(delegation: Delegation, **extra: Any) -> dict[str, Any]:
    return {
        "delegation_id": delegation.id,
        "cycle_id": delegation.cycle_id,
        "phase": delegation.phase,
        "from_contact_id": delegation.owner_contact_id,
        "by_contact_id": delegation.by_contact_id,
        **extra,
    }


def queue_invitation(
    session: Session, delegation: Delegation, colleague: Contact, mc_ids: list[int], now: datetime
) -> int:
    """The colleague's email with their own link (issued when it is sent)."""
    context = _context(
        delegation, delegate_contact_id=colleague.id, recipient_contact_id=colleague.id
    )
    return enqueue(
        session,
        [
            Draft(
                organisation_id=delegation.organisation_id,
                dedupe_key=f"delegation:{delegation.id}:{mc_id}",
                kind="delegation",
                recipient_email=colleague.email,
                recipient_name=colleague.name,
                language=colleague.language,
                measure_cycle_id=mc_id,
                context=context,
            )
            for mc_id in mc_ids
        ],
        now=now,
    )


def queue_owner_notice(
    session: Session, delegation: Delegation, owner: Contact, mc_ids: list[int], now: datetime
) -> int:
    """Tell the owner whom their form went to (or waits to go to), so a stranger's use shows."""
    context = _context(delegation, contact_id=owner.id, recipient_contact_id=owner.id)
    return enqueue(
        session,
        [
            Draft(
                organisation_id=delegation.organisation_id,
                dedupe_key=f"delegation_notice:{delegation.id}:{mc_id}",
                kind="delegation_notice",
                recipient_email=owner.email,
                recipient_name=owner.name,
                language=owner.language,
                measure_cycle_id=mc_id,
                context=context,
            )
            for mc_id in mc_ids
        ],
        now=now,
    )


def queue_approval_request(
    session: Session, delegation: Delegation, mc_ids: list[int], now: datetime
) -> int:
    """Ask the coordinators (or the organisation's address) to approve on the measure page."""
    coordinators = session.scalars(
        select(User)
        .where(
            User.organisation_id == delegation.organisation_id,
            User.role == Role.COORDINATOR.value,
            User.active.is_(True),
        )
        .order_by(User.id)
    ).all()
    recipients = [(f"user{u.id}", u.email, u.name) for u in coordinators]
    org = session.get(Organisation, delegation.organisation_id)
    if not recipients and org is not None and org.contact_email:
        recipients = [("org", org.contact_email, org.name)]
    return enqueue(
        session,
        [
            Draft(
                organisation_id=delegation.organisation_id,
                dedupe_key=f"delegation_approval:{delegation.id}:{who}:{mc_id}",
                kind="delegation_approval",
                recipient_email=email,
                recipient_name=name,
                measure_cycle_id=mc_id,
                context=_context(delegation),
            )
            for who, email, name in recipients
            for mc_id in mc_ids
        ],
        now=now,
    )
