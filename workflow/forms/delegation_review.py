"""The coordinator's side of hand-overs, on a measure's page: list, approve a pending one, withdraw.

A hand-over belongs to a measure's page when it hands on that measure's contact's form of the
measure's cycle. Approving creates the colleague's contact and queues their invitation;
withdrawing revokes the colleague's link. Raises ``DelegationActionRefused`` with a code;
never commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Contact
from workflow.clock import Clock
from workflow.cycles.models import MeasureCycle
from workflow.forms.delegation import create_colleague
from workflow.forms.delegation_mail import queue_invitation
from workflow.forms.models import Delegation, DelegationStatus
from workflow.forms.revocation import end_delegation, record
from workflow.forms.scope import scope_ids
from workflow.forms.tokens import Phase


@dataclass
class DelegationActionRefused(Exception):
    """``code``: not_found, not_pending, ended or nothing_open."""

    code: str


@dataclass(frozen=True)
class DelegationRow:
    delegation: Delegation
    by_name: str

    @property
    def can_approve(self) -> bool:
        return self.delegation.status == DelegationStatus.PENDING.value

    @property
    def can_revoke(self) -> bool:
        return self.delegation.status != DelegationStatus.REVOKED.value


def for_measure(
    session: Session, *, organisation_id: int, measure_cycle_id: int
) -> list[DelegationRow]:
    """The hand-overs of the measure's contact in the measure's cycle, newest first."""
    mc = session.get(MeasureCycle, measure_cycle_id)
    if mc is None or mc.organisation_id != organisation_id or mc.measure.contact_id is None:
        return []
    rows = session.scalars(
        select(Delegation)
        .where(
            Delegation.organisation_id == organisation_id,
            Delegation.cycle_id == mc.cycle_id,
            Delegation.owner_contact_id == mc.measure.contact_id,
        )
        .order_by(Delegation.created_at.desc(), Delegation.id.desc())
    ).all()
    names = {
        c.id: c.name
        for c in session.scalars(
            select(Contact).where(Contact.id.in_({d.by_contact_id for d in rows}))
        )
    }
    return [DelegationRow(d, names.get(d.by_contact_id, "")) for d in rows]


def approve(
    *,
    session: Session,
    clock: Clock,
    organisation_id: int,
    measure_cycle_id: int,
    delegation_id: int,
    actor: str,
) -> Delegation:
    """Let a pending hand-over go out: the colleague's contact and invitation are made now."""
    delegation = _load(session, organisation_id, measure_cycle_id, delegation_id, lock=True)
    if delegation.status != DelegationStatus.PENDING.value:
        raise DelegationActionRefused("not_pending")
    assert delegation.cycle_id is not None, "_load matched it to the measure's cycle"
    mc_ids = scope_ids(
        session,
        organisation_id=organisation_id,
        cycle_id=delegation.cycle_id,
        owner_id=delegation.owner_contact_id,
        phase=Phase(delegation.phase),
    )
    if not mc_ids:
        raise DelegationActionRefused("nothing_open")
    owner = session.get(Contact, delegation.owner_contact_id)
    assert owner is not None  # foreign key
    now = clock.now()
    colleague = create_colleague(session, delegation, owner)
    delegation.delegate_contact_id = colleague.id
    delegation.status = DelegationStatus.ACTIVE.value
    delegation.decided_at = now
    delegation.decided_by = actor
    queue_invitation(session, delegation, colleague, mc_ids, now)
    record(
        session, delegation, "delegation_approved", now=now, actor=actor, measure_cycle_ids=mc_ids
    )
    return delegation


def revoke(
    *,
    session: Session,
    clock: Clock,
    organisation_id: int,
    measure_cycle_id: int,
    delegation_id: int,
    actor: str,
) -> Delegation:
    """Refuse a pending hand-over or withdraw an active one, with the colleague's link."""
    delegation = _load(session, organisation_id, measure_cycle_id, delegation_id, lock=True)
    if not end_delegation(session, delegation, now=clock.now(), actor=actor, reason="coordinator"):
        raise DelegationActionRefused("ended")
    return delegation


def _load(
    session: Session, organisation_id: int, measure_cycle_id: int, delegation_id: int, *, lock: bool
) -> Delegation:
    mc = session.get(MeasureCycle, measure_cycle_id)
    query = select(Delegation).where(Delegation.id == delegation_id)
    if lock:
        query = query.with_for_update()
    delegation = session.scalars(query.execution_options(populate_existing=True)).first()
    if (
        mc is None
        or delegation is None
        or mc.organisation_id != organisation_id
        or delegation.organisation_id != organisation_id
        or delegation.cycle_id != mc.cycle_id
        or delegation.owner_contact_id != mc.measure.contact_id
    ):
        raise DelegationActionRefused("not_found")
    return delegation
