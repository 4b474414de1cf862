"""Sends the outbox: claim rows under a lease, one email per recipient and kind, mark them sent.

At-least-once by construction: a row is marked sent only after the SMTP server accepted
the message. Each claim carries a token, and right before each email the claim's lease is
renewed for just that email's rows, so a long batch is never taken over by a second worker
while the first still sends it. The one window for a duplicate is a crash after the server's
"250 OK" and before the mark commits; the Message-ID is fixed on the rows before sending, and
such rows are resent together and alone, so the copy carries the same Message-ID.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections import defaultdict
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from notifications.bounces.verp import return_path
from notifications.models import Channel, OutboxMessage, OutboxStatus
from notifications.outbox import Draft, enqueue
from notifications.recipients import WITHDRAWN
from notifications.recipients import resolve as resolve_recipients
from notifications.render import RenderedEmail, Renderer
from notifications.smtp import PermanentFailure, SmtpConnection, TemporaryFailure
from notifications.subject import SubjectHeader
from workflow import runtime
from workflow.accounts import Role, User
from workflow.catalogue.models import Organisation
from workflow.conference.consent import WITHDRAWN_NOTE
from workflow.conference.mail import ConsentWithdrawn
from workflow.config import Settings
from workflow.db import unit_of_work
from workflow.organisations.active import of_active_organisation

log = logging.getLogger(__name__)

# Kinds that are never merged with others of their kind: each is its own email.
SINGLE = {"password_reset", "dead_letter", "link_request", "digest", "status_request"}
# Each meeting's invitation is its own email: it carries that meeting's calendar file.
SINGLE |= {"meeting_invitation", "meeting_changed"}
# Each conference's invitation is its own email with its own links.
SINGLE |= {"conference_invitation"}
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)


@dataclass
class SendReport:
    claimed: int = 0
    emails_sent: int = 0
    rows_sent: int = 0
    retried: int = 0
    dead: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


GroupKey = tuple[object, ...]


def group_key(row: OutboxMessage) -> GroupKey:
    from notifications.render import phase_of

    if row.kind in SINGLE:
        return (row.id,)
    return (
        row.organisation_id,
        row.recipient_email.lower(),
        row.kind,
        row.context.get("cycle_id"),
        phase_of(row),
        row.language,
        # Each hand-over is its own email: its link opens one owner's measures only.
        row.context.get("delegation_id"),
        # Each part of a status check is its own email: its link opens that part only.
        row.context.get("status_check_request_id"),
        # A receipt names one submitter and one owner: what a colleague answered in the owner's
        # place never shares an email with what the owner answered (issue 13).
        row.context.get("answered_by"),
        row.context.get("answered_for"),
    )


@dataclass(frozen=True)
class Claim:
    token: str
    ids: list[int]


def claim(session: Session, *, now: datetime, limit: int, lease: timedelta) -> Claim:
    """Take up to ``limit`` sendable rows: pending and due, or sending with an expired lease."""
    token = secrets.token_hex(16)
    ids = list(
        session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.channel == Channel.EMAIL.value,
                # An archived organisation sends nothing, not even what was queued before.
                of_active_organisation(OutboxMessage.organisation_id),
                or_(
                    and_(
                        OutboxMessage.status == OutboxStatus.PENDING.value,
                        OutboxMessage.not_before <= now,
                    ),
                    and_(
                        OutboxMessage.status == OutboxStatus.SENDING.value,
                        OutboxMessage.lease_until < now,
                    ),
                ),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(
                status=OutboxStatus.SENDING.value,
                lease_until=now + lease,
                claim_token=token,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
    return Claim(token, ids)


def message_id(row_ids: list[int], mail_from: str) -> str:
    digest = hashlib.sha256(",".join(map(str, sorted(row_ids))).encode()).hexdigest()[:24]
    domain = mail_from.rpartition("@")[2] or "zielflow.invalid"
    return f"<zf.{digest}@{domain}>"


def build_message(
    rendered: RenderedEmail,
    *,
    rows: list[OutboxMessage],
    sender_name: str,
    mail_from: str,
    now: datetime,
    reply_to: str = "",
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = SubjectHeader.of(rendered.subject)
    msg["From"] = Address(display_name=sender_name, addr_spec=mail_from)
    msg["To"] = Address(display_name=rows[0].recipient_name, addr_spec=rows[0].recipient_email)
    if reply_to:
        # The From address is the system's; a person's reply goes to the organisation's office.
        msg["Reply-To"] = Address(display_name=sender_name, addr_spec=reply_to)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id([r.id for r in rows], mail_from)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Zielflow-Kind"] = rows[0].kind
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    for name, value in rendered.headers:
        msg[name] = value
    for file in rendered.attachments:
        msg.add_attachment(
            file.content,
            maintype=file.maintype,
            subtype=file.subtype,
            filename=file.filename,
            params=dict(file.params),
        )
    return msg


def send_pending(rt: runtime.Runtime | None = None, *, limit: int | None = None) -> SendReport:
    """Claim, render, send and mark everything sendable now; one SMTP connection for all."""
    rt = rt or runtime.current()
    report = SendReport()
    settings = rt.settings
    with unit_of_work(rt.sessions) as session:
        taken = claim(
            session,
            now=rt.clock.now(),
            limit=limit or settings.send_batch_size,
            lease=timedelta(seconds=settings.send_lease_seconds),
        )
    report.claimed = len(taken.ids)
    if taken.ids:
        _run_coroutine(_deliver(rt, taken, report))
    return report


def _run_coroutine(coroutine: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run``, also from a thread whose event loop is already running (a caller's)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


async def _deliver(rt: runtime.Runtime, taken: Claim, report: SendReport) -> None:
    with unit_of_work(rt.sessions) as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id.in_(taken.ids), OutboxMessage.claim_token == taken.token)
            .order_by(OutboxMessage.id)
        ).all()
        # Addresses as they are now (a corrected one included), before rows are grouped.
        withdrawn = resolve_recipients(session, list(rows))
        for row in withdrawn:
            row.status = OutboxStatus.DEAD.value
            row.lease_until = None
            row.last_error = row.last_error or WITHDRAWN
        groups: dict[GroupKey, list[int]] = defaultdict(list)
        for row in rows:
            if row in withdrawn:
                continue
            # Rows that already went out once under a Message-ID (a crash in the window)
            # go out again exactly as before: together, alone, with that Message-ID.
            key = ("resend", row.message_id) if row.message_id else group_key(row)
            groups[key].append(row.id)
    async with SmtpConnection(rt.settings) as smtp:
        for row_ids in groups.values():
            await _deliver_group(rt, smtp, taken.token, row_ids, report)


def _renew(
    session: Session, token: str, row_ids: list[int], now: datetime, lease: timedelta, mid: str
) -> bool:
    """Extend our lease on exactly these rows and fix their Message-ID; False if any row is
    no longer ours (its lease ran out and another worker claimed it)."""
    result = session.connection().execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(row_ids),
            OutboxMessage.claim_token == token,
            OutboxMessage.status == OutboxStatus.SENDING.value,
        )
        .values(lease_until=now + lease, message_id=mid)
    )
    return int(result.rowcount or 0) == len(row_ids)


async def _deliver_group(
    rt: runtime.Runtime, smtp: SmtpConnection, token: str, row_ids: list[int], report: SendReport
) -> None:
    settings = rt.settings
    try:
        with unit_of_work(rt.sessions) as session:
            now = rt.clock.now()
            mid = message_id(row_ids, settings.mail_from)
            if not _renew(
                session, token, row_ids, now, timedelta(seconds=settings.send_lease_seconds), mid
            ):
                session.rollback()
                log.warning("outbox rows %s were taken over by another worker; skipped", row_ids)
                return
            rows = list(
                session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.id.in_(row_ids))
                    .order_by(OutboxMessage.id)
                )
            )
            org = session.get(Organisation, rows[0].organisation_id)
            rendered = Renderer(session, settings, now).render(rows)
            message = build_message(
                rendered,
                rows=rows,
                sender_name=org.office_name if org else "zielflow",
                mail_from=settings.mail_from,
                now=now,
                # A row may name its own reply address (a status request: whoever collects it).
                reply_to=str(rows[0].context.get("reply_to") or "")
                or (org.contact_email if org else ""),
            )
            kind = rows[0].kind
            envelope_sender = _envelope_sender(rows[0].id, settings)
    except ConsentWithdrawn:
        # The actor withdrew after the row was queued: not a failure anyone must act on.
        _failed(rt, token, row_ids, WITHDRAWN_NOTE, permanent=True, report=report, quiet=True)
        return
    except Exception as exc:  # a rendering bug must not stop the other emails
        log.exception("rendering outbox rows %s failed", row_ids)
        _failed(
            rt,
            token,
            row_ids,
            f"render: {type(exc).__name__}: {exc}",
            permanent=False,
            report=report,
        )
        return
    try:
        await smtp.send(message, sender=envelope_sender)
    except PermanentFailure as exc:
        _failed(rt, token, row_ids, str(exc), permanent=True, report=report)
        return
    except TemporaryFailure as exc:
        _failed(
            rt,
            token,
            row_ids,
            str(exc),
            permanent=False,
            report=report,
            keep_message_id=exc.maybe_delivered,
        )
        return
    with unit_of_work(rt.sessions) as session:
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(row_ids),
                OutboxMessage.claim_token == token,
                OutboxMessage.status == OutboxStatus.SENDING.value,
            )
            .values(
                status=OutboxStatus.SENT.value,
                sent_at=rt.clock.now(),
                lease_until=None,
                last_error="",
            )
            .execution_options(synchronize_session=False)
        )
    report.emails_sent += 1
    report.rows_sent += len(row_ids)
    report.by_kind[kind] = report.by_kind.get(kind, 0) + 1


def _envelope_sender(first_row_id: int, settings: Settings) -> str | None:
    """The VERP return path when a bounce domain is set, so that a bounce names its email."""
    return return_path(first_row_id, settings) if settings.bounce_domain else None


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_MAX)


def _failed(
    rt: runtime.Runtime,
    token: str,
    row_ids: list[int],
    error: str,
    *,
    permanent: bool,
    report: SendReport,
    keep_message_id: bool = False,
    quiet: bool = False,
) -> None:
    now = rt.clock.now()
    max_attempts = rt.settings.send_max_attempts
    with unit_of_work(rt.sessions) as session:
        rows = list(
            session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.id.in_(row_ids),
                    OutboxMessage.claim_token == token,
                    OutboxMessage.status == OutboxStatus.SENDING.value,
                )
            )
        )
        dead = [r for r in rows if permanent or r.attempts >= max_attempts]
        for row in rows:
            row.last_error = error[:2000]
            row.lease_until = None
            if row in dead:
                row.status = OutboxStatus.DEAD.value
            else:
                row.status = OutboxStatus.PENDING.value
                row.not_before = now + backoff(row.attempts)
                if not keep_message_id:
                    # The server clearly refused, so the next attempt may regroup the row.
                    row.message_id = None
        if dead and not quiet:
            _tell_coordinators(session, dead, error, now)
    report.dead += len([r for r in rows if r.status == OutboxStatus.DEAD.value])
    report.retried += len([r for r in rows if r.status == OutboxStatus.PENDING.value])
    log.warning(
        "sending %d outbox rows failed (%s): %s",
        len(row_ids),
        "dead" if permanent else "will retry",
        error,
    )


def _tell_coordinators(
    session: Session, dead: list[OutboxMessage], error: str, now: datetime
) -> None:
    first = dead[0]
    if first.kind == "dead_letter":
        log.error("a dead-letter notice itself could not be delivered: %s", error)
        return
    org = session.get(Organisation, first.organisation_id)
    recipients = [
        (u.email, u.name)
        for u in session.scalars(
            select(User).where(
                User.organisation_id == first.organisation_id,
                User.role == Role.COORDINATOR.value,
                User.active.is_(True),
            )
        )
    ]
    if not recipients and org is not None and org.contact_email:
        recipients = [(org.contact_email, org.name)]
    enqueue(
        session,
        [
            Draft(
                organisation_id=first.organisation_id,
                dedupe_key=f"dead:{first.id}:{email}",
                kind="dead_letter",
                recipient_email=email,
                recipient_name=name,
                context={
                    "failed_kind": first.kind,
                    "failed_recipient": first.recipient_email,
                    "attempts": first.attempts,
                    "last_error": error[:500],
                    "measure_cycle_ids": [r.measure_cycle_id for r in dead if r.measure_cycle_id],
                },
            )
            for email, name in recipients
        ],
        now=now,
    )
