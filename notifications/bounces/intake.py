"""One bounce report in, one address state changed: decode, find the email, record, remember.

Each report is applied once. Mailboxes and mail servers deliver the same report again (an
IMAP read that failed before its expunge, a relay that retried after a lost "250"), so the
report's Message-ID (or, without one, a hash of its bytes) is kept as an audit event of the
organisation, and a report already kept changes nothing. The outbox row is locked while the
report is applied, so two readers of the same report take turns.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from notifications.bounces import dsn, verp
from notifications.bounces.state import record_report
from notifications.models import OutboxMessage
from workflow.config import Settings
from workflow.cycles.models import AuditEvent
from workflow.db import unit_of_work

EVENT = "bounce_report"
ACTOR_PREFIX = "bounce:"


@dataclass(frozen=True)
class Outcome:
    result: str  # "recorded", "duplicate" or "ignored"
    reason: str = ""
    row_id: int | None = None
    email: str = ""
    permanent: bool = False

    @property
    def recorded(self) -> bool:
        return self.result == "recorded"


def report_key(report: dsn.Report, raw: bytes) -> str:
    """Stable across the ways one report reaches us (IMAP and SMTP differ in line endings)."""
    if report.message_id:
        basis = b"mid:" + report.message_id.strip().lower().encode()
    else:
        basis = b"raw:" + raw.replace(b"\r\n", b"\n")
    return hashlib.sha256(basis).hexdigest()[:40]


def _row_id(report: dsn.Report, envelope_to: str | None, settings: Settings) -> int | None:
    candidates = ([envelope_to] if envelope_to else []) + report.addresses
    for address in candidates:
        row_id = verp.decode(address, settings)
        if row_id is not None:
            return row_id
    return None


def _seen(session: Session, organisation_id: int, key: str) -> bool:
    return (
        session.scalars(
            select(AuditEvent.id).where(
                AuditEvent.organisation_id == organisation_id,
                AuditEvent.event == EVENT,
                AuditEvent.actor == ACTOR_PREFIX + key,
            )
        ).first()
        is not None
    )


def process(
    session_factory: sessionmaker[Session],
    raw: bytes,
    *,
    envelope_to: str | None,
    settings: Settings,
    now: datetime,
) -> Outcome:
    report = dsn.parse(raw)
    if report.ignored:
        return Outcome("ignored", report.ignored)
    failure = report.failure()
    if failure is None:
        return Outcome("ignored", "report names no failure")
    row_id = _row_id(report, envelope_to, settings)
    if row_id is None:
        return Outcome("ignored", "no valid return path")
    key = report_key(report, raw)
    with unit_of_work(session_factory) as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.id == row_id).with_for_update()
        ).first()
        if row is None:
            return Outcome("ignored", "unknown email", row_id=row_id)
        if _seen(session, row.organisation_id, key):
            return Outcome("duplicate", row_id=row_id, email=row.recipient_email)
        record_report(
            session,
            organisation_id=row.organisation_id,
            email=row.recipient_email,
            permanent=failure.permanent,
            reason=failure.reason,
            now=now,
            threshold=settings.bounce_temporary_threshold,
        )
        session.add(_marker(row, key, failure, report, now))
        return Outcome(
            "recorded", row_id=row_id, email=row.recipient_email, permanent=failure.permanent
        )


def _marker(
    row: OutboxMessage, key: str, failure: dsn.RecipientStatus, report: dsn.Report, now: datetime
) -> AuditEvent:
    return AuditEvent(
        organisation_id=row.organisation_id,
        measure_cycle_id=None,
        at=now,
        actor=ACTOR_PREFIX + key,
        event=EVENT,
        payload={
            "outbox_id": row.id,
            "email": row.recipient_email.lower(),
            "permanent": failure.permanent,
            "status": failure.status,
            "action": failure.action,
            "report_message_id": report.message_id[:200],
        },
    )
