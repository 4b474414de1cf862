"""What a bounce report does to an address's state, and the questions the senders ask of it.

A permanent failure marks the address bouncing at once; temporary ones are counted and mark
it only at ``threshold`` (a full mailbox for a day is no reason to stop). A later success says
nothing here: only a coordinator's correction or ``clear`` ends bouncing, because a mail system
that accepted the next message may still drop it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.bounces.models import AddressBounce, AddressState

TEMPORARY_THRESHOLD = 5


def _key(email: str) -> str:
    return email.strip().lower()


def record_report(
    session: Session,
    *,
    organisation_id: int,
    email: str,
    permanent: bool,
    reason: str,
    now: datetime,
    threshold: int = TEMPORARY_THRESHOLD,
) -> AddressBounce:
    """Apply one report to the address; returns its row (new or updated). Idempotence is the
    caller's: the same report applied twice counts a temporary failure twice."""
    address = _key(email)
    row = session.scalars(
        select(AddressBounce).where(
            AddressBounce.organisation_id == organisation_id, AddressBounce.email == address
        )
    ).first()
    if row is None:
        row = AddressBounce(organisation_id=organisation_id, email=address, temporary_count=0)
        session.add(row)
    row.last_report_at = now
    row.reason = reason[:2000]
    if not permanent:
        row.temporary_count = (row.temporary_count or 0) + 1
    if (permanent or row.temporary_count >= threshold) and row.state != AddressState.BOUNCING:
        row.state = AddressState.BOUNCING.value
        row.bouncing_since = now
        row.notified_at = None
    session.flush()
    return row


def bouncing(
    session: Session, organisation_id: int, emails: Iterable[str]
) -> dict[str, AddressBounce]:
    """The bouncing ones among ``emails`` (lower-cased keys), in one query."""
    wanted = {_key(e) for e in emails}
    if not wanted:
        return {}
    rows = session.scalars(
        select(AddressBounce).where(
            AddressBounce.organisation_id == organisation_id,
            AddressBounce.email.in_(wanted),
            AddressBounce.state == AddressState.BOUNCING.value,
        )
    )
    return {r.email: r for r in rows}


def is_bouncing(session: Session, organisation_id: int, email: str) -> bool:
    return bool(bouncing(session, organisation_id, [email]))


def clear(session: Session, organisation_id: int, email: str) -> bool:
    """The address works again (a coordinator says so); True if it was bouncing."""
    rows = bouncing(session, organisation_id, [email])
    for row in rows.values():
        row.state = AddressState.OK.value
        row.temporary_count = 0
        row.bouncing_since = None
    session.flush()
    return bool(rows)
