"""Ending form links when what they rest on ends: a reissue, an archived contact, a coordinator's word.

A colleague's link after a hand-over belongs to the owner's scope, so ending the owner's scope
revokes the owner's tokens, every colleague's token of that scope, and the hand-overs
themselves. Each ended hand-over writes one audit event per measure-in-cycle it covers, so
every affected measure's timeline shows it. Never queues a message; never commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.cycles.models import AuditEvent
from workflow.forms.models import Delegation, DelegationStatus
from workflow.forms.scope import scope_ids
from workflow.forms.tokens import Phase, revoke_held, revoke_owned, revoke_scope

LIVE = (DelegationStatus.PENDING.value, DelegationStatus.ACTIVE.value)


def describe(delegation: Delegation) -> dict[str, Any]:
    """The audit payload naming a hand-over; the dashboard shows ``delegate``."""
    return {
        "delegation_id": delegation.id,
        "phase": delegation.phase,
        "delegate": f"{delegation.delegate_name} <{delegation.delegate_email}>",
        "owner_contact_id": delegation.owner_contact_id,
        "by_contact_id": delegation.by_contact_id,
    }


def record(
    session: Session,
    delegation: Delegation,
    event: str,
    *,
    now: datetime,
    actor: str,
    measure_cycle_ids: list[int] | None = None,
    **extra: Any,
) -> list[int]:
    """One audit event per measure-in-cycle the hand-over covers (now, unless given); a data
    source's hand-over (no cycle) covers no measure and writes one event of its own."""
    if delegation.cycle_id is None:
        session.add(
            AuditEvent(
                organisation_id=delegation.organisation_id,
                measure_cycle_id=None,
                at=now,
                actor=actor,
                event=event,
                from_state=None,
                to_state=None,
                payload={**describe(delegation), **extra},
            )
        )
        return []
    ids = (
        measure_cycle_ids
        if measure_cycle_ids is not None
        else scope_ids(
            session,
            organisation_id=delegation.organisation_id,
            cycle_id=delegation.cycle_id,
            owner_id=delegation.owner_contact_id,
            phase=Phase(delegation.phase),
        )
    )
    session.add_all(
        AuditEvent(
            organisation_id=delegation.organisation_id,
            measure_cycle_id=mc_id,
            at=now,
            actor=actor,
            event=event,
            from_state=None,
            to_state=None,
            payload={**describe(delegation), **extra},
        )
        for mc_id in ids
    )
    return ids


def end_delegation(
    session: Session, delegation: Delegation, *, now: datetime, actor: str, reason: str
) -> bool:
    """Refuse a pending hand-over or withdraw an active one; False if it had ended already."""
    if delegation.status not in LIVE:
        return False
    delegation.status = DelegationStatus.REVOKED.value
    delegation.revoked_at = now
    delegation.revoked_by = actor
    if delegation.delegate_contact_id is not None:
        revoke_held(
            session=session,
            contact_id=delegation.delegate_contact_id,
            now=now,
            delegated_from=delegation.owner_contact_id,
            cycle_id=delegation.cycle_id,
            phase=Phase(delegation.phase),
        )
    record(session, delegation, "delegation_revoked", now=now, actor=actor, cause=reason)
    return True


def end_owner_scope(
    *,
    session: Session,
    owner_id: int,
    now: datetime,
    actor: str,
    reason: str,
    cycle_id: int | None = None,
    phase: Phase | None = None,
    until: datetime | None = None,
) -> int:
    """Revoke every link to ``owner_id``'s measures (of one cycle and phase, or all) and end
    the hand-overs of that scope; with ``until``, only what existed by that moment.
    Returns how many tokens were revoked."""
    query = select(Delegation).where(
        Delegation.owner_contact_id == owner_id, Delegation.status.in_(LIVE)
    )
    if cycle_id is not None and phase is not None:
        revoked = revoke_scope(
            session=session,
            contact_id=owner_id,
            cycle_id=cycle_id,
            phase=phase,
            now=now,
            issued_until=until,
        )
        query = query.where(Delegation.cycle_id == cycle_id, Delegation.phase == phase.value)
        if until is not None:
            query = query.where(Delegation.created_at <= until)
    else:
        revoked = revoke_owned(session=session, contact_id=owner_id, now=now)
    for delegation in session.scalars(query.order_by(Delegation.id)).all():
        end_delegation(session, delegation, now=now, actor=actor, reason=reason)
    return revoked


def end_held(*, session: Session, contact_id: int, now: datetime, actor: str, reason: str) -> int:
    """Revoke every link ``contact_id`` holds and end the hand-overs to it; returns tokens revoked."""
    revoked = revoke_held(session=session, contact_id=contact_id, now=now)
    handed = session.scalars(
        select(Delegation)
        .where(Delegation.delegate_contact_id == contact_id, Delegation.status.in_(LIVE))
        .order_by(Delegation.id)
    ).all()
    for delegation in handed:
        end_delegation(session, delegation, now=now, actor=actor, reason=reason)
    return revoked


def end_contact(
    *, session: Session, contact_id: int, now: datetime, actor: str, reason: str
) -> int:
    """Both of the above: every link to the contact's measures and every link it holds."""
    return end_owner_scope(
        session=session, owner_id=contact_id, now=now, actor=actor, reason=reason
    ) + end_held(session=session, contact_id=contact_id, now=now, actor=actor, reason=reason)
