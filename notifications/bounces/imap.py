"""Reads the bounce mailbox once over IMAP: each report is applied, then deleted.

A message is flagged ``\\Deleted`` and expunged only after its report was committed, so a
crash or a database that is away leaves it in the mailbox for the next read; the report's
marker (notifications/bounces/intake.py) makes that second read harmless.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from notifications.bounces.intake import Outcome, process
from workflow.config import Settings

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 60.0


@dataclass
class ReadReport:
    counts: dict[str, int] = field(default_factory=dict)  # by Outcome.result
    failed: int = 0  # left in the mailbox for the next read

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.result] = self.counts.get(outcome.result, 0) + 1


def _connect(settings: Settings) -> imaplib.IMAP4:
    host, port = settings.bounce_imap_host, settings.bounce_imap_port
    if settings.bounce_imap_tls == "tls":
        context = ssl.create_default_context()
        return imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=TIMEOUT_SECONDS)
    return imaplib.IMAP4(host, port, timeout=TIMEOUT_SECONDS)


def _raw(fetched: list[object]) -> bytes | None:
    # imaplib gives a literal as a (header, bytes) pair among the response's parts.
    for part in fetched:
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
            return part[1]
    return None


def read_mailbox(
    session_factory: sessionmaker[Session], settings: Settings, now: Callable[[], datetime]
) -> ReadReport:
    """One pass over the folder; raises OSError/imaplib.IMAP4.error if the server fails."""
    report = ReadReport()
    conn = _connect(settings)
    try:
        if settings.bounce_imap_user:
            conn.login(settings.bounce_imap_user, settings.bounce_imap_password)
        typ, _ = conn.select(settings.bounce_imap_folder)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"cannot select {settings.bounce_imap_folder!r}")
        # UIDs, not sequence numbers: an expunge renumbers the sequence, never the UIDs.
        _, data = conn.uid("SEARCH", "ALL")
        for uid in (data[0] or b"").split():
            _one(conn, uid, session_factory, settings, now, report)
    finally:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            log.warning("logout from the bounce mailbox failed")
    return report


def _one(
    conn: imaplib.IMAP4,
    uid: bytes,
    session_factory: sessionmaker[Session],
    settings: Settings,
    now: Callable[[], datetime],
    report: ReadReport,
) -> None:
    _, fetched = conn.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
    raw = _raw(list(fetched))
    if raw is None:
        report.failed += 1
        return
    try:
        outcome = process(session_factory, raw, envelope_to=None, settings=settings, now=now())
    except Exception:  # the database is away: the message waits for the next read
        log.exception("bounce report %s could not be processed; kept in the mailbox", uid)
        report.failed += 1
        return
    report.add(outcome)
    if outcome.result == "ignored":
        log.info("bounce mailbox message %s ignored: %s", uid, outcome.reason)
    conn.uid("STORE", uid.decode(), "+FLAGS", "(\\Deleted)")
    conn.expunge()
