"""Retention rules (issue 17): old email bodies are thinned out, long-archived contacts erased.

Both rules are off at 0 and run with every sweep; each is idempotent, so running it every few
minutes costs one query once nothing is left to do.

A sent or dead email keeps its row, recipient address, dedupe key and Message-ID: dedupe,
the audit of who was mailed when, the bounce match and the check whether a meeting's
invitees need a change email all read them (and the dedupe key carries the address anyway).
What goes is what the email said: the recipient's name and every text in ``context`` except
the few technical values later code compares (see ``_KEPT_TEXT``); numbers (ids, stays)
stay. A marker with the number of days tells the mail viewer why the content is gone.

An archived contact is erased with ``erase_person(force=False)``: one with open items, or
whose address is still that of an active account, is skipped and reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, sessionmaker

from notifications.models import OutboxMessage, OutboxStatus
from workflow.accounts import User
from workflow.catalogue.archive import ArchivedKind, ArchivedRecord
from workflow.catalogue.models import Contact, Organisation
from workflow.config import Settings
from workflow.db import unit_of_work
from workflow.privacy.erase import PersonHasOpenItems, erase_person
from workflow.privacy.selection import OpenItem

log = logging.getLogger(__name__)

# Set in a pruned row's context: after how many days its content went.
PRUNED = "pruned_after_days"
PRUNED_STATUSES = (OutboxStatus.SENT.value, OutboxStatus.DEAD.value)
# Texts that are no personal data and that code reads from sent rows: the meeting change
# check compares the announced day and start; the phase names the email's purpose.
_KEPT_TEXT = frozenset({"held_on", "starts_at", "previous", "phase", "state"})
_ERASED_EMAIL = "geloescht-%@invalid"


@dataclass(frozen=True)
class SkippedContact:
    contact_id: int
    reason: str  # "open_items" or "active_account"
    items: tuple[OpenItem, ...] = ()


@dataclass
class RetentionReport:
    emails_pruned: int = 0
    contacts_erased: int = 0
    skipped: list[SkippedContact] = field(default_factory=list)


def apply_retention(
    session_factory: sessionmaker[Session], settings: Settings, now: datetime
) -> RetentionReport:
    report = RetentionReport()
    if settings.retention_sent_email_days > 0:
        report.emails_pruned = prune_sent_emails(
            session_factory,
            days=settings.retention_sent_email_days,
            now=now,
            batch_size=settings.sweep_batch_size,
        )
    if settings.retention_archived_contact_years > 0:
        erase_archived_contacts(
            session_factory, years=settings.retention_archived_contact_years, now=now, into=report
        )
    if report.emails_pruned or report.contacts_erased:
        log.info(
            "retention: %d email bodies pruned, %d archived contacts erased, %d skipped",
            report.emails_pruned,
            report.contacts_erased,
            len(report.skipped),
        )
    return report


def pruned_after(context: dict[str, Any] | None) -> int | None:
    """The days after which a row's content was deleted, None if it still has it."""
    value = (context or {}).get(PRUNED)
    return value if isinstance(value, int) else None


def prune_sent_emails(
    session_factory: sessionmaker[Session], *, days: int, now: datetime, batch_size: int
) -> int:
    """Thin out sent and dead rows older than ``days``; one transaction per batch."""
    cutoff = now - timedelta(days=days)
    pruned, after_id = 0, 0
    while True:
        with unit_of_work(session_factory) as session:
            rows = session.scalars(_old_unpruned(cutoff, after_id).limit(batch_size)).all()
            for row in rows:
                row.context = _thinned(row.context, days)
                row.recipient_name = ""
        if not rows:
            return pruned
        pruned += len(rows)
        after_id = rows[-1].id  # by id, so a row that stays unmatched can never loop


def _old_unpruned(cutoff: datetime, after_id: int) -> Any:
    return (
        select(OutboxMessage)
        .where(
            OutboxMessage.id > after_id,
            OutboxMessage.status.in_(PRUNED_STATUSES),
            func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) < cutoff,
            OutboxMessage.context[PRUNED].as_integer().is_(None),
        )
        .order_by(OutboxMessage.id)
    )


def _thinned(context: dict[str, Any] | None, days: int) -> dict[str, Any]:
    kept = {
        key: value
        for key, value in (context or {}).items()
        if value is None
        or isinstance(value, int | float)
        or (key in _KEPT_TEXT and isinstance(value, str))
    }
    return {**kept, PRUNED: days}


def erase_archived_contacts(
    session_factory: sessionmaker[Session], *, years: int, now: datetime, into: RetentionReport
) -> None:
    """Erase contacts archived before ``years`` ago, one transaction each: an erasure walks
    the whole organisation, and one contact's refusal must not hold up the others."""
    cutoff = _years_before(now, years)
    for organisation_id, contact_id, email in _due_contacts(session_factory, cutoff):
        with unit_of_work(session_factory) as session:
            organisation = session.get(Organisation, organisation_id)
            assert organisation is not None
            if _has_active_account(session, organisation_id, email):
                # Erasing the address would also lock out the account holder.
                into.skipped.append(SkippedContact(contact_id, "active_account"))
                continue
            try:
                erase_person(session, organisation, email, force=False, now=now)
            except PersonHasOpenItems as refused:
                into.skipped.append(SkippedContact(contact_id, "open_items", tuple(refused.items)))
                continue
            into.contacts_erased += 1


def _due_contacts(
    session_factory: sessionmaker[Session], cutoff: datetime
) -> list[tuple[int, int, str]]:
    """(organisation, contact, address) of contacts archived before ``cutoff``, not yet erased."""
    with session_factory() as session:
        rows = session.execute(
            select(Contact.organisation_id, Contact.id, Contact.email)
            .join(
                ArchivedRecord,
                and_(
                    ArchivedRecord.kind == ArchivedKind.CONTACT.value,
                    ArchivedRecord.record_id == Contact.id,
                    ArchivedRecord.organisation_id == Contact.organisation_id,
                ),
            )
            .where(ArchivedRecord.archived_at < cutoff, ~Contact.email.like(_ERASED_EMAIL))
            .order_by(Contact.id)
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _has_active_account(session: Session, organisation_id: int, email: str) -> bool:
    found = session.scalar(
        select(User.id).where(
            User.organisation_id == organisation_id,
            func.lower(User.email) == email.strip().lower(),
            User.active.is_(True),
        )
    )
    return found is not None


def _years_before(now: datetime, years: int) -> datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February in a year without one
        return now.replace(year=now.year - years, day=28)
