"""The "address not reachable" marker the measure, departments and head pages show, and the
coordinator's "reachable again" for a false alarm (notifications/bounces/state.py).

Keyed by address: a contact and a head who share an address share its marker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from notifications.bounces import state
from workflow.accounts import User
from workflow.catalogue.models import Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import AuditEvent

REACHABLE_EVENT = "address_marked_reachable"


@dataclass(frozen=True)
class BounceMark:
    since: date | None
    reason: str


def marks(session: Session, org: Organisation, emails: Iterable[str]) -> dict[str, BounceMark]:
    """The bouncing ones among ``emails``, by lower-cased address; the day in the
    organisation's time zone, as every date on its pages."""
    cal = calendar_of(org)
    return {
        email: BounceMark(
            since=cal.local_date(row.bouncing_since) if row.bouncing_since else None,
            reason=row.reason,
        )
        for email, row in state.bouncing(session, org.id, [e for e in emails if e]).items()
    }


def mark_of(session: Session, org: Organisation, email: str | None) -> BounceMark | None:
    return marks(session, org, [email or ""]).get((email or "").strip().lower())


def mark_reachable(session: Session, *, user: User, email: str, now: datetime, actor: str) -> bool:
    """Ends the bouncing state of ``email``; audited, since it sends mail there again."""
    cleared = state.clear(session, user.organisation_id, email)
    if cleared:
        session.add(
            AuditEvent(
                organisation_id=user.organisation_id,
                measure_cycle_id=None,
                at=now,
                actor=actor,
                event=REACHABLE_EVENT,
                from_state=None,
                to_state=None,
                payload={"email": email.strip().lower()},
            )
        )
        session.flush()
    return cleared
