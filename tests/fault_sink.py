"""An SMTP sink that misbehaves on a script (refuse, fail, hang, hold for a kill); it never decides a verdict.

Per recipient it can refuse the first RCPT with a 4xx, answer every DATA with a 5xx, or hang on
the first RCPT until the client gives up; once, for the next message of anyone, it can hold the
SMTP transaction before RCPT is answered (nothing stored) or after the message is stored and
before "250" is sent, so a test can kill the worker at exactly that point; or it can signal
the n-th stored copy without holding it, for a kill a few milliseconds after a "250". It logs every
stored copy with the client's port, so a duplicate can be traced to the process that sent it, and
notes each copy whose client hung up without another word after it: such a client may never have
read the "250" (killed, or it stopped waiting), so sending the message again is its duty.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from notifications.sink import CapturingHandler

REFUSAL = "451 4.7.1 Greylisted, please try again later"
FAILURE = "554 5.7.1 Message refused by policy"


@dataclass(frozen=True)
class StoredCopy:
    message_id: str
    kind: str
    recipient: str
    at: float  # time.monotonic() when the sink stored it
    client_port: int
    # The client hung up after this copy without another command (no QUIT, no next MAIL).
    abandoned: bool = False


class FaultySink(CapturingHandler):
    """``CapturingHandler`` plus scripted faults; thread-safe for a test thread that scripts it."""

    def __init__(self, hang_seconds: float = 60.0, hold_seconds: float = 60.0) -> None:
        super().__init__(None)
        self.hang_seconds = hang_seconds
        self.hold_seconds = hold_seconds
        self.refuse_once: set[str] = set()
        self.hang_once: set[str] = set()
        self.fail_always: set[str] = set()
        self.hold: str | None = None  # "rcpt" or "stored": the next message is held there
        self.held = threading.Event()
        self.held_port: int | None = None
        self.copies: list[StoredCopy] = []
        self.abandoned: set[int] = set()  # indexes into ``copies``
        # Signal (without holding anything) when the n-th copy is stored, for a kill that
        # lands at a random moment just after a "250": before or after the rows are marked.
        self.signal_copy: int | None = None
        self.copy_stored = threading.Event()
        self.copy_port: int | None = None
        self.injected: Counter[str] = Counter()
        self._script = threading.Lock()

    def arm_hold(self, where: str) -> None:
        assert where in {"rcpt", "stored"}
        with self._script:
            self.held.clear()
            self.held_port = None
            self.hold = where

    def disarm_hold(self) -> None:
        with self._script:
            self.hold = None

    def _take(self, where: str, session: Session) -> bool:
        with self._script:
            if self.hold != where:
                return False
            self.hold = None
            self.held_port = _port(session)
        self.held.set()
        return True

    async def handle_RCPT(
        self,
        server: Any,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        who = address.lower()
        with self._script:
            refuse = who in self.refuse_once
            hang = not refuse and who in self.hang_once
            self.refuse_once.discard(who)
            if hang:
                self.hang_once.discard(who)
        if refuse:
            self.injected["smtp 4xx"] += 1
            return REFUSAL
        if hang:
            self.injected["smtp hang"] += 1
            # The client times out and hangs up; aiosmtpd then cancels this sleep.
            await asyncio.sleep(self.hang_seconds)
            return "421 4.4.2 Timeout"
        if who not in self.fail_always and self._take("rcpt", session):
            await asyncio.sleep(self.hold_seconds)
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        recipients = [r.lower() for r in envelope.rcpt_tos]
        if any(r in self.fail_always for r in recipients):
            self.injected["smtp 5xx"] += 1
            return FAILURE
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
            self.copies.append(
                StoredCopy(
                    message_id=str(message["Message-ID"]),
                    kind=str(message["X-Zielflow-Kind"]),
                    recipient=recipients[0] if recipients else "",
                    at=time.monotonic(),
                    client_port=_port(session),
                )
            )
            signal = len(self.copies) == self.signal_copy
            session.unanswered_copy = len(self.copies) - 1  # type: ignore[attr-defined]
        if signal:
            self.copy_port = _port(session)
            self.copy_stored.set()
        self.stored.set()
        if self._take("stored", session):
            await asyncio.sleep(self.hold_seconds)  # stored, but "250" never reaches the client
        return "250 Message accepted for delivery"

    def snapshot(self) -> list[StoredCopy]:
        with self._lock:
            return [
                replace(c, abandoned=True) if i in self.abandoned else c
                for i, c in enumerate(self.copies)
            ]

    def hung_up(self, session: Session) -> None:
        index = getattr(session, "unanswered_copy", None)
        if index is not None:
            with self._lock:
                self.abandoned.add(index)


class _WatchfulSMTP(SMTP):
    """Notes whether a client said anything after its last stored copy before hanging up."""

    async def _spoke(self) -> None:
        if self.session is not None:
            self.session.unanswered_copy = None  # type: ignore[attr-defined]

    async def smtp_MAIL(self, arg: str | None) -> None:
        await self._spoke()
        await super().smtp_MAIL(arg)

    async def smtp_RSET(self, arg: str) -> None:
        await self._spoke()
        await super().smtp_RSET(arg)

    async def smtp_NOOP(self, arg: str) -> None:
        await self._spoke()
        await super().smtp_NOOP(arg)

    async def smtp_QUIT(self, arg: str) -> None:
        await self._spoke()
        await super().smtp_QUIT(arg)

    def connection_lost(self, error: Exception | None) -> None:
        if self.session is not None and isinstance(self.event_handler, FaultySink):
            self.event_handler.hung_up(self.session)
        super().connection_lost(error)


class _WatchfulController(Controller):
    def factory(self) -> SMTP:
        return _WatchfulSMTP(self.handler, **self.SMTP_kwargs)


def _port(session: Session) -> int:
    peer = session.peer
    return int(peer[1]) if isinstance(peer, tuple) and len(peer) > 1 else 0


def start_faulty_sink(port: int) -> tuple[Controller, FaultySink]:
    handler = FaultySink()
    controller = _WatchfulController(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, handler
