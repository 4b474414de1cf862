"""A local SMTP server that keeps what it receives: as .eml files for the demo, in memory for tests."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session


class CapturingHandler:
    """Stores every accepted message; a test can make it refuse or fail on purpose."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.fail_with: str | None = None  # e.g. "451 4.3.0 try later" or "554 5.0.0 no"
        self.delay_seconds: float = 0.0
        # For fault-injection tests: stall before RCPT is answered (nothing stored yet), or
        # after a message is stored but before "250" reaches the client.
        self.rcpt_delay_seconds: float = 0.0
        self.after_store_delay_seconds: float = 0.0
        self.rcpt_seen = threading.Event()
        self.stored = threading.Event()
        self._lock = threading.Lock()
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    async def handle_RCPT(
        self,
        server: Any,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        self.rcpt_seen.set()
        if self.rcpt_delay_seconds:
            await asyncio.sleep(self.rcpt_delay_seconds)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.fail_with:
            return self.fail_with
        raw = (
            envelope.content
            if isinstance(envelope.content, bytes)
            else str(envelope.content).encode()
        )
        with self._lock:
            self._store(raw)
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
            if self.directory is not None:
                name = f"{time.time_ns()}-{len(self.envelopes):05d}.eml"
                (self.directory / name).write_bytes(raw)
        self.stored.set()
        if self.after_store_delay_seconds:
            await asyncio.sleep(self.after_store_delay_seconds)
        return "250 Message accepted for delivery"

    def _store(self, raw: bytes) -> None:
        self.messages.append(parsed(raw))


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def plain_text(message: EmailMessage) -> str:
    """The message's text/plain parts, joined."""
    return "\n".join(
        str(part.get_content())
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )


@dataclass(frozen=True, slots=True)
class Received:
    """A message as a long run keeps it: what it is counted and found by, and its plain
    text only for the kinds whose text is read."""

    kind: str
    message_id: str
    to: str  # the address alone, in lower case
    text: str | None


# Only the header block is parsed: the body stays one unparsed string.
_HEADERS = BytesHeaderParser(policy=email.policy.compat32)


class RecordingHandler(CapturingHandler):
    """Keeps a ``Received`` per message instead of the message: parsing every whole message
    and holding tens of thousands of them cost ``zielflow simulate`` more than sending them.
    ``text_of``: the kinds whose plain text is kept (their links are followed)."""

    def __init__(self, text_of: Collection[str] = ()) -> None:
        super().__init__(None)
        self.text_of = frozenset(text_of)
        self.received: list[Received] = []

    def _store(self, raw: bytes) -> None:
        head = _HEADERS.parsebytes(raw)
        kind = str(head["X-Zielflow-Kind"] or "")
        self.received.append(
            Received(
                kind=kind,
                message_id=str(head["Message-ID"] or "").strip(),
                to=parseaddr(str(head["To"] or ""))[1].lower(),
                text=plain_text(parsed(raw)) if kind in self.text_of else None,
            )
        )


def start_sink(
    host: str, port: int, directory: Path | None = None, handler: CapturingHandler | None = None
) -> tuple[Controller, CapturingHandler]:
    """``handler``: one made by the caller (e.g. a ``RecordingHandler``); ``directory`` is
    then the handler's own."""
    handler = handler or CapturingHandler(directory)
    controller = Controller(handler, hostname=host, port=port)
    controller.start()
    return controller, handler
