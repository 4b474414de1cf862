"""Sends the outbox: claim rows under a lease, one email per recipient and kind, mark them sent.

At-least-once by construction: a row is marked sent only after the SMTP server accepted
the message. Each claim carries a token; its lease is renewed for all its rows in one
statement whenever it could run out during the next send (every SMTP step timing out), so
a long batch is never taken over by a second worker while the first still sends it.

The pipeline (``_Delivery``): one thread renders the claim ahead in chunks of
``RENDER_CHUNK`` emails, each chunk one transaction with its rows' Message-IDs fixed and
what the templates read prefetched; most emails are written as bytes (notifications/mime.py).
``ZIELFLOW_SMTP_CONNECTIONS`` connections send them. A second thread marks each sent email
(on PostgreSQL over a connection of its own, one UPDATE in autocommit:
notifications/mark_connection.py); the marks waiting at one moment share one statement, and
each connection awaits its previous email's mark after RCPT and before DATA, so the mark
overlaps the server's answers. A chunk's form links are written when its transaction ends,
in one INSERT.

The duplicate windows: (1) a crash after the server's "250" and before the mark commits
leaves at most one email per connection sent and unmarked (one with the default single
connection, as before); (2) a connection that drops while waiting for the "250". The
Message-ID is fixed on the rows before sending, and such rows are resent together and
alone, so the copy carries the same Message-ID. Rendered but unsent emails of a dead
worker are resent the same way; their form links were never seen by anyone.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, bindparam, or_, select, tuple_, update
from sqlalchemy.orm import Session, joinedload

from notifications.bounces.verp import return_path
from notifications.mark_connection import MarkConnection
from notifications.mime import Envelope, message_bytes
from notifications.models import Channel, OutboxMessage, OutboxStatus
from notifications.outbox import Draft, enqueue
from notifications.outbox_search import NOT_YET_SENT
from notifications.recipients import WITHDRAWN, recipient_contact_id
from notifications.recipients import resolve as resolve_recipients
from notifications.render import RenderedEmail, Renderer
from notifications.smtp import PermanentFailure, TemporaryFailure
from notifications.smtp_pool import RawSmtpConnection
from notifications.subject import SubjectHeader
from workflow import runtime
from workflow.accounts import Role, User
from workflow.catalogue.models import Contact, Measure, Organisation
from workflow.conference.consent import WITHDRAWN_NOTE
from workflow.conference.mail import ConsentWithdrawn
from workflow.config import LEASE_TIMEOUTS, Settings
from workflow.cycles.models import MeasureCycle
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
# Emails rendered in one transaction: large enough to save round trips, small enough that
# SQLite's write lock (held while rendering) never stalls a mark for long.
RENDER_CHUNK = 8
# The most rows a claim grows to with its recipients' further rows: its rows are marked in
# one statement, and SQLite takes at most 32,766 parameters per statement.
CLAIM_MAX_ROWS = 10_000
T = TypeVar("T")


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
    lease_until: datetime | None = None


def claim(session: Session, *, now: datetime, limit: int, lease: timedelta) -> Claim:
    """Take up to ``limit`` sendable rows (pending and due, or sending with an expired lease)
    in the order they were queued, and with them the other sendable rows of their recipients.

    Rows are grouped into emails within a claim only: a recipient whose rows lay on both
    sides of the limit got two emails the same morning (at a cycle's opening, one invitation
    per measure). So a claim cut at its limit takes its recipients whole, up to
    ``CLAIM_MAX_ROWS`` rows in all; only a recipient with more than that is split.
    An address stored in another spelling (case) is not taken along; within a claim
    ``group_key`` still puts it into the same email.
    """
    token = secrets.token_hex(16)
    taken = session.execute(
        select(OutboxMessage.id, OutboxMessage.organisation_id, OutboxMessage.recipient_email)
        .where(*_sendable(now))
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    ids = [row.id for row in taken]
    room = CLAIM_MAX_ROWS - len(ids)
    if len(ids) == limit and room > 0:  # cut at the limit: its recipients may have more rows
        recipients = {(row.organisation_id, row.recipient_email) for row in taken}
        ids += _same_recipients(session, ids, recipients, now=now, limit=room)
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
    return Claim(token, ids, now + lease)


def _sendable(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        OutboxMessage.channel == Channel.EMAIL.value,
        # An archived organisation sends nothing, not even what was queued before.
        of_active_organisation(OutboxMessage.organisation_id),
        NOT_YET_SENT,  # the partial index of such rows, not the whole outbox
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


def _same_recipients(
    session: Session,
    ids: list[int],
    recipients: set[tuple[int, str]],
    *,
    now: datetime,
    limit: int,
) -> list[int]:
    """Sendable rows beyond ``ids`` addressed to one of ``recipients`` (organisation and
    address as stored)."""
    recipient = tuple_(OutboxMessage.organisation_id, OutboxMessage.recipient_email)
    return list(
        session.scalars(
            select(OutboxMessage.id)
            .where(*_sendable(now), OutboxMessage.id.not_in(ids), recipient.in_(recipients))
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


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
    await _Delivery(rt, taken, report).run()


@dataclass(frozen=True)
class Outgoing:
    """One email, built and with its rows' Message-ID fixed, waiting for a connection."""

    row_ids: list[int]
    kind: str
    sender: str
    recipient: str
    data: bytes | None  # the message as SMTP bytes (notifications/mime.py) ...
    message: EmailMessage | None  # ... or, for a shape it does not write, the message object


class _Delivery:
    """One claim's emails: rendered in a thread, sent over the pool, each marked once sent.

    The rendering thread works ahead in small chunks (one transaction each), so the next
    emails are built while the server answers; a second thread marks sent emails (those
    waiting share a commit) and renews the lease. A connection sends the next email's DATA
    only once the previous one is marked, so a killed worker leaves at most one email per
    connection sent and unmarked (the documented duplicate window).
    """

    def __init__(self, rt: runtime.Runtime, taken: Claim, report: SendReport) -> None:
        self.rt = rt
        self.taken = taken
        self.report = report
        self.lease = timedelta(seconds=rt.settings.send_lease_seconds)
        # A send may take every SMTP step's timeout; the lease must outlast that at its start.
        self.min_lease = timedelta(seconds=LEASE_TIMEOUTS * rt.settings.smtp_timeout_seconds)
        self.lease_until = taken.lease_until or rt.clock.now()
        self.ours: set[int] = set(taken.ids)
        self.finished: set[int] = set()
        self.render_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="send-render")
        self.mark_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="send-mark")
        self.renewing = asyncio.Lock()
        self.marking_lock = threading.Lock()
        self.to_mark: list[tuple[Outgoing, asyncio.Future[None]]] = []
        self.mark_connection = MarkConnection(rt.engine)

    async def _in(self, thread: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(thread, fn, *args)

    async def run(self) -> None:
        try:
            groups = await self._in(self.render_thread, self._groups)
            if groups:
                await self._pipeline(groups)
        finally:
            self.render_thread.shutdown()
            self.mark_thread.submit(self.mark_connection.close)
            self.mark_thread.shutdown()

    async def _pipeline(self, groups: list[list[int]]) -> None:
        connections = min(self.rt.settings.smtp_connections, len(groups))
        queue: asyncio.Queue[Outgoing | None] = asyncio.Queue(maxsize=2 * RENDER_CHUNK)
        tasks = [asyncio.create_task(self._produce(groups, queue, connections))]
        tasks += [asyncio.create_task(self._consume(queue)) for _ in range(connections)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- the rendering thread --------------------------------------------------------------

    def _groups(self) -> list[list[int]]:
        """The claim's rows as emails: withdrawn addresses dead, the rest grouped."""
        with unit_of_work(self.rt.sessions) as session:
            rows = session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(self.taken.ids),
                    OutboxMessage.claim_token == self.taken.token,
                )
                .order_by(OutboxMessage.id)
            ).all()
            # Addresses as they are now (a corrected one included), before rows are grouped;
            # the contacts loaded in one query first, so that each row's lookup is a hit.
            held = _prefetch_contacts(session, list(rows))
            withdrawn = resolve_recipients(session, list(rows))
            del held
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
        self.finished.update(r.id for r in withdrawn)
        return list(groups.values())

    def _render_chunk(self, chunk: list[list[int]]) -> list[Outgoing]:
        """Render ``chunk`` in one transaction; if any email fails, each again in its own."""
        try:
            with unit_of_work(self.rt.sessions) as session:
                return self._render_together(session, chunk)
        except _ChunkFailed:
            pass
        built = (
            _prepare_group(self.rt, self.taken.token, ids, self.report)
            for ids in chunk
            if self._still_ours(ids)
        )
        return [out for out in built if out is not None]

    def _render_together(self, session: Session, chunk: list[list[int]]) -> list[Outgoing]:
        now = self.rt.clock.now()
        kept = [ids for ids in chunk if self._still_ours(ids)]
        mail_from = self.rt.settings.mail_from
        mids = {tuple(ids): message_id(ids, mail_from) for ids in kept}
        if mids:
            session.execute(
                update(OutboxMessage),
                [{"id": i, "message_id": mid} for ids, mid in mids.items() for i in ids],
            )
        wanted = [i for ids in kept for i in ids]
        rows = {
            r.id: r
            for r in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(wanted)))
        }
        # Held here so that the renderer's gets and lazy loads find them in the identity map,
        # which holds objects only weakly: one query per kind for the chunk, not per email.
        held = _prefetch(session, list(rows.values()))
        orgs = {
            o.id: o
            for o in session.scalars(
                select(Organisation).where(
                    Organisation.id.in_({r.organisation_id for r in rows.values()})
                )
            )
        }
        renderer = Renderer(session, self.rt.settings, now, defer_links=True)
        renderer.know_sent_reminders(
            r.measure_cycle_id for r in rows.values() if r.measure_cycle_id
        )
        built: list[Outgoing] = []
        for ids in kept:
            group = [rows[i] for i in ids]
            try:
                built.append(_build(renderer, group, orgs.get(group[0].organisation_id), now))
            except Exception as exc:
                # Roll back the whole chunk; each of its emails is then rendered on its own.
                raise _ChunkFailed from exc
        renderer.write_links()
        del held
        return built

    def _still_ours(self, ids: list[int]) -> bool:
        if all(i in self.ours for i in ids):
            return True
        log.warning("outbox rows %s were taken over by another worker; skipped", ids)
        return False

    def _renew(self) -> None:
        """Extend the lease of every row of the claim still being sent, in one statement.

        A transaction of its own: inside a chunk's it would lock rows being marked sent.
        """
        with unit_of_work(self.rt.sessions) as session:
            self._renew_in(session, self.rt.clock.now())

    def _renew_in(self, session: Session, now: datetime) -> None:
        pending = [i for i in self.taken.ids if i not in self.finished]
        if not pending:
            return
        kept = session.connection().execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(pending),
                OutboxMessage.claim_token == self.taken.token,
                OutboxMessage.status == OutboxStatus.SENDING.value,
            )
            .values(lease_until=now + self.lease)
            .returning(OutboxMessage.id)
        )
        self.ours = set(kept.scalars())
        self.lease_until = now + self.lease

    # -- the event loop --------------------------------------------------------------------

    async def _produce(
        self, groups: list[list[int]], queue: asyncio.Queue[Outgoing | None], senders: int
    ) -> None:
        start, size = 0, 1
        while start < len(groups):
            # The first chunks are small, so that the first email leaves soon.
            chunk = groups[start : start + size]
            start, size = start + size, min(2 * size, RENDER_CHUNK)
            await self._keep_lease()
            for out in await self._in(self.render_thread, self._render_chunk, chunk):
                await queue.put(out)
        for _ in range(senders):
            await queue.put(None)

    async def _consume(self, queue: asyncio.Queue[Outgoing | None]) -> None:
        smtp = RawSmtpConnection(self.rt.settings)
        marking: asyncio.Future[None] | None = None
        async with smtp:
            while (out := await queue.get()) is not None:
                marking = await self._send(smtp, out, marking)
            if marking is not None:
                await marking

    async def _send(
        self, smtp: RawSmtpConnection, out: Outgoing, marking: asyncio.Future[None] | None
    ) -> asyncio.Future[None] | None:
        """Send ``out``; returns the future of its mark, which the next email awaits.

        The previous email's mark commits while this one's MAIL and RCPT are answered, and
        always before its DATA: one email per connection is all a killed worker can leave
        stored by the server and unmarked.
        """
        await self._keep_lease()
        if not self._still_ours(out.row_ids):
            return marking
        ids = out.row_ids
        try:
            if out.data is not None:
                await smtp.send_bytes(
                    out.data, sender=out.sender, recipients=[out.recipient], before_data=marking
                )
            else:
                assert out.message is not None
                if marking is not None:
                    await marking
                await smtp.send(out.message, sender=out.sender)
        except PermanentFailure as exc:
            await self._after_failure(marking, ids, str(exc), permanent=True, kept=False)
            return None
        except TemporaryFailure as exc:
            await self._after_failure(
                marking, ids, str(exc), permanent=False, kept=exc.maybe_delivered
            )
            return None
        return self._mark(out)

    def _mark(self, out: Outgoing) -> asyncio.Future[None]:
        """Queue ``out``'s mark; the marks of all connections waiting then share one commit."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        with self.marking_lock:
            self.to_mark.append((out, done))
            start = len(self.to_mark) == 1
        if start:
            self.mark_thread.submit(self._mark_queued, loop)
        return done

    def _mark_queued(self, loop: asyncio.AbstractEventLoop) -> None:
        with self.marking_lock:
            batch, self.to_mark = self.to_mark, []
        try:
            _mark_sent(
                self.rt,
                self.taken.token,
                [i for out, _ in batch for i in out.row_ids],
                self.mark_connection,
            )
        except Exception as exc:
            for _, done in batch:
                loop.call_soon_threadsafe(done.set_exception, exc)
            return
        for out, done in batch:
            self.finished.update(out.row_ids)
            self.report.emails_sent += 1
            self.report.rows_sent += len(out.row_ids)
            self.report.by_kind[out.kind] = self.report.by_kind.get(out.kind, 0) + 1
            loop.call_soon_threadsafe(done.set_result, None)

    async def _after_failure(
        self,
        marking: asyncio.Future[None] | None,
        ids: list[int],
        error: str,
        *,
        permanent: bool,
        kept: bool,
    ) -> None:
        if marking is not None:  # a refusal before DATA left the previous mark unawaited
            await marking
        await self._in(self.mark_thread, self._failed, ids, error, permanent, kept)

    def _failed(self, ids: list[int], error: str, permanent: bool, maybe_delivered: bool) -> None:
        _failed(
            self.rt,
            self.taken.token,
            ids,
            error,
            permanent=permanent,
            report=self.report,
            keep_message_id=maybe_delivered,
        )
        self.finished.update(ids)

    async def _keep_lease(self) -> None:
        """Renew the whole claim's lease once it could run out during the next send.

        While the lease holds no other worker can take a row, so ``ours`` is only
        re-read here; one statement per renewal, not one per email.
        """
        async with self.renewing:
            if self.lease_until - self.rt.clock.now() < self.min_lease:
                await self._in(self.mark_thread, self._renew)


def _prefetch_contacts(session: Session, rows: list[OutboxMessage]) -> list[object]:
    ids = {i for r in rows if (i := recipient_contact_id(r)) is not None}
    if not ids:
        return []
    return list(session.scalars(select(Contact).where(Contact.id.in_(ids))))


def _prefetch(session: Session, rows: list[OutboxMessage]) -> list[object]:
    """Load what rendering ``rows`` reads by primary key: contacts, measures in cycle with
    their measures and departments, cycles."""
    held = _prefetch_contacts(session, rows)
    mc_ids = {r.measure_cycle_id for r in rows if r.measure_cycle_id}
    if mc_ids:
        held += (
            session.scalars(
                select(MeasureCycle)
                .where(MeasureCycle.id.in_(mc_ids))
                .options(
                    joinedload(MeasureCycle.measure).joinedload(Measure.department),
                    joinedload(MeasureCycle.cycle),
                )
            )
            .unique()
            .all()
        )
    return held


class _ChunkFailed(Exception):
    """An email of a chunk failed to render; the chunk's transaction is rolled back."""


def _build(
    renderer: Renderer, rows: list[OutboxMessage], org: Organisation | None, now: datetime
) -> Outgoing:
    """Render ``rows`` (one email) and write it as bytes, or as a message where bytes won't do."""
    settings = renderer.settings
    rendered = renderer.render(rows)
    first = rows[0]
    sender_name = org.office_name if org else "zielflow"
    # A row may name its own reply address (a status request: whoever collects it).
    reply_to = str(first.context.get("reply_to") or "") or (org.contact_email if org else "")
    mid = message_id([r.id for r in rows], settings.mail_from)
    data = None
    if not rendered.attachments:
        data = message_bytes(
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            envelope=Envelope(
                sender_name,
                settings.mail_from,
                first.recipient_name,
                first.recipient_email,
                reply_to,
            ),
            headers=[
                ("Date", format_datetime(now)),
                ("Message-ID", mid),
                ("Auto-Submitted", "auto-generated"),
                ("X-Zielflow-Kind", first.kind),
                *rendered.headers,
            ],
        )
    message = None
    if data is None:
        message = build_message(
            rendered,
            rows=rows,
            sender_name=sender_name,
            mail_from=settings.mail_from,
            now=now,
            reply_to=reply_to,
        )
    return Outgoing(
        row_ids=[r.id for r in rows],
        kind=first.kind,
        sender=_envelope_sender(first.id, settings) or settings.mail_from,
        recipient=first.recipient_email,
        data=data,
        message=message,
    )


def _prepare_group(
    rt: runtime.Runtime, token: str, row_ids: list[int], report: SendReport
) -> Outgoing | None:
    """One email in its own transaction: lease, Message-ID, render; a failure is recorded."""
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
                return None
            rows = list(
                session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.id.in_(row_ids))
                    .order_by(OutboxMessage.id)
                )
            )
            org = session.get(Organisation, rows[0].organisation_id)
            return _build(Renderer(session, settings, now), rows, org, now)
    except ConsentWithdrawn:
        # The actor withdrew after the row was queued: not a failure anyone must act on.
        _failed(rt, token, row_ids, WITHDRAWN_NOTE, permanent=True, report=report, quiet=True)
        return None
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
        return None


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


# Built once, with bound values: building the UPDATE and its cache key for every mark took
# three times as long as SQLite took to run it (0.3–0.5 against 0.11 ms).
_MARK_SENT = (
    update(OutboxMessage)
    .where(
        OutboxMessage.id.in_(bindparam("row_ids", expanding=True)),
        OutboxMessage.claim_token == bindparam("token"),
        OutboxMessage.status == OutboxStatus.SENDING.value,
    )
    .values(
        status=OutboxStatus.SENT.value,
        sent_at=bindparam("sent_at", type_=OutboxMessage.__table__.c.sent_at.type),
        lease_until=None,
        last_error="",
    )
)


def _mark_sent(
    rt: runtime.Runtime, token: str, row_ids: list[int], held: MarkConnection | None = None
) -> None:
    params = {"row_ids": row_ids, "token": token, "sent_at": rt.clock.now()}
    if held is not None and held.holds:
        held.execute(_MARK_SENT, params)
        return
    with unit_of_work(rt.sessions) as session:
        session.connection().execute(_MARK_SENT, params)


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
