"""A local SMTP server that keeps what it receives: as .eml files for the demo, in memory for tests."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from email.message import EmailMessage
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
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
            if self.directory is not None:
                name = f"{time.time_ns()}-{len(self.messages):05d}.eml"
                (self.directory / name).write_bytes(raw)
        self.stored.set()
        if self.after_store_delay_seconds:
            await asyncio.sleep(self.after_store_delay_seconds)
        return "250 Message accepted for delivery"


def start_sink(
    host: str, port: int, directory: Path | None = None
) -> tuple[Controller, CapturingHandler]:
    handler = CapturingHandler(directory)
    controller = Controller(handler, hostname=host, port=port)
    controller.start()
    return controller, handler
