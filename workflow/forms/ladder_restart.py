"""What every reminder ladder shares after a contact's address was corrected: the rule for its
new start and the mark that keeps its restarted messages apart from the old address's.

A measure's restart is recorded on the measure (``contact_address_changed``); the contact's
other open items (data requests, status check parts, Aufträge, milestone questions) share one
``contact_ladders_restarted`` event per correction. Its id, as ``:after:<id>``, ends the
dedupe key of the fresh link and of every reminder sent after it: the restarted ladder
repeats step indexes, and without the mark those reminders would count as sent already.
Escalations carry no mark, so none is sent twice. Reads and writes nothing but the event and
the outbox query; never commits.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from notifications.outbox_search import NOT_YET_SENT, key_matches
from workflow.cycles.models import AuditEvent
from workflow.cycles.stay import first_follow_up
from workflow.deadlines import BusinessCalendar, DeadlinePolicy, Step, StepKind

EVENT = "contact_ladders_restarted"


def restart_at(
    plan: list[Step], now: datetime, policy: DeadlinePolicy, cal: BusinessCalendar
) -> datetime | None:
    """When the first step of ``plan`` is due again: not before the new link had two working
    days (as after any request); an automatic move keeps its own time. None without a plan."""
    if not plan:
        return None
    first = plan[0]
    if first.kind is StepKind.AUTO:
        return first.at
    return max(first.at, first_follow_up(now, policy, cal))


def record(
    session: Session,
    *,
    organisation_id: int,
    contact_id: int,
    now: datetime,
    actor: str,
    items: dict[str, list[int]],
) -> str:
    """Write the correction's event naming the restarted items; returns its mark."""
    event = AuditEvent(
        organisation_id=organisation_id,
        measure_cycle_id=None,
        at=now,
        actor=actor,
        event=EVENT,
        from_state=None,
        to_state=None,
        payload={"contact_id": contact_id, **items},
    )
    session.add(event)
    session.flush()
    return f":after:{event.id}"


def mark_of(session: Session, contact_id: int | None) -> str:
    """The mark of the contact's latest correction; empty before any, so the keys of items
    never restarted stay as they were."""
    if contact_id is None:
        return ""
    latest = session.scalar(
        select(func.max(AuditEvent.id)).where(
            AuditEvent.event == EVENT,
            AuditEvent.payload["contact_id"].as_integer() == contact_id,
        )
    )
    return f":after:{latest}" if latest else ""


def link_waiting(session: Session, key_prefix: str, kinds: Collection[str]) -> bool:
    """Whether a queued email of the item brings a link anyway: it is sent to the contact's
    address at send time, so a second one would arrive twice."""
    return (
        session.scalar(
            select(OutboxMessage.id)
            .where(
                key_matches(OutboxMessage.dedupe_key, key_prefix, ""),
                OutboxMessage.kind.in_(kinds),
                NOT_YET_SENT,
            )
            .limit(1)
        )
        is not None
    )
