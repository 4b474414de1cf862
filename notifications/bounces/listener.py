"""A local SMTP server that takes delivery status reports for the bounce domain.

The mail system hands reports for ``@{bounce_domain}`` here; "250" is answered only after the
report was committed, so a report we could not store (the database is away) is answered
"451" and the sending mail system tries again later.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.orm import Session, sessionmaker

from notifications.bounces.intake import Outcome, process
from workflow.config import Settings

log = logging.getLogger(__name__)
# Reports quote at most the original message; anything bigger is not a report of ours.
MAX_REPORT_BYTES = 10 * 1024 * 1024


class BounceHandler:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        now: Callable[[], datetime],
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.now = now
        # The latest outcomes, for tests and a debugger; bounded for a listener that runs for months.
        self.outcomes: deque[Outcome] = deque(maxlen=1000)

    async def handle_RCPT(
        self,
        server: Any,
        session: SmtpSession,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        domain = address.rpartition("@")[2].lower()
        if domain != self.settings.bounce_domain.lower():
            return "550 5.1.1 Not a bounce address of this server"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: SmtpSession, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        try:
            for rcpt in envelope.rcpt_tos:
                outcome = await asyncio.to_thread(
                    process,
                    self.session_factory,
                    data,
                    envelope_to=rcpt,
                    settings=self.settings,
                    now=self.now(),
                )
                self.outcomes.append(outcome)
                log.info("bounce report for %s: %s %s", rcpt, outcome.result, outcome.reason)
        except Exception:
            log.exception("bounce report could not be stored; the sender will retry")
            return "451 4.3.0 Report not stored, please try again later"
        return "250 Report accepted"


def start(
    host: str,
    port: int,
    session_factory: sessionmaker[Session],
    settings: Settings,
    now: Callable[[], datetime],
) -> tuple[Controller, BounceHandler]:
    handler = BounceHandler(session_factory, settings, now)
    controller = Controller(handler, hostname=host, port=port, data_size_limit=MAX_REPORT_BYTES)
    controller.start()
    return controller, handler
