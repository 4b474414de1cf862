"""RFC 3464 delivery status notifications, read with the standard library's ``email`` package.

Only a ``multipart/report; report-type=delivery-status`` counts: mail systems that answer
with prose only (or people on holiday) are ignored with a reason, because guessing from
free text would mark working addresses as bouncing.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message

ACTIONS = frozenset({"failed", "delayed", "delivered", "relayed", "expanded"})
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# Where a report read from a mailbox keeps the address it was sent to (our VERP address).
ADDRESS_HEADERS = ("Delivered-To", "X-Original-To", "To")


@dataclass(frozen=True)
class RecipientStatus:
    """One per-recipient block of the delivery-status part."""

    final_recipient: str
    action: str
    status: str  # "5.1.1"; "" if the block names none
    diagnostic: str

    @property
    def permanent(self) -> bool:
        return self.action == "failed" and self.status.startswith("5.")

    @property
    def temporary(self) -> bool:
        return self.action == "delayed" or (
            self.action == "failed" and self.status.startswith("4.")
        )

    @property
    def reason(self) -> str:
        """What the coordinator reads, e.g. "5.1.1 smtp; 550 5.1.1 User unknown"."""
        return " ".join(p for p in (self.status, self.diagnostic) if p)


@dataclass(frozen=True)
class Report:
    message_id: str
    addresses: list[str] = field(default_factory=list)  # candidates for the VERP address
    recipients: list[RecipientStatus] = field(default_factory=list)
    ignored: str = ""  # why this is not a delivery report; "" if it is one

    def failure(self) -> RecipientStatus | None:
        """The block that counts: a permanent failure before a temporary one; None if all
        were delivered (a "delivered"/"relayed"/"expanded" report needs nothing done)."""
        for wanted in ("permanent", "temporary"):
            for block in self.recipients:
                if getattr(block, wanted):
                    return block
        return None


def parse(raw: bytes) -> Report:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    message_id = str(message.get("Message-ID", "") or "").strip()
    addresses = [str(v) for name in ADDRESS_HEADERS for v in message.get_all(name, [])]
    if message.get_content_type() != "multipart/report":
        return Report(message_id, addresses, ignored=f"not a report: {_kind(message)}")
    if message.get_param("report-type", "").lower() != "delivery-status":  # type: ignore[union-attr]
        return Report(message_id, addresses, ignored="not a delivery status report")
    part = next(
        (p for p in message.walk() if p.get_content_type() == "message/delivery-status"), None
    )
    if part is None:
        return Report(message_id, addresses, ignored="report without a delivery-status part")
    blocks = _blocks(part)
    recipients = [_recipient(b) for b in blocks[1:] if b.get("Action") or b.get("Status")]
    if not recipients:
        return Report(message_id, addresses, ignored="delivery-status part names no recipient")
    return Report(message_id, addresses, recipients)


def _kind(message: Message) -> str:
    auto = str(message.get("Auto-Submitted", "") or "").strip().lower()
    return auto if auto and auto != "no" else message.get_content_type()


def _blocks(part: Message) -> list[Message]:
    """The per-message block, then one per recipient (the parser splits at blank lines)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [b for b in payload if isinstance(b, Message)]
    # A part the parser left as text (a wrong transfer encoding): split it ourselves.
    text = part.get_payload(decode=True)
    chunks = re.split(rb"\r?\n\s*\r?\n", text if isinstance(text, bytes) else b"")
    return [email.message_from_bytes(c.strip() + b"\n") for c in chunks if c.strip()]


def _field(block: Message, name: str) -> str:
    value = str(block.get(name, "") or "")
    return " ".join(value.split())  # unfold continuation lines


def _recipient(block: Message) -> RecipientStatus:
    recipient = _field(block, "Final-Recipient") or _field(block, "Original-Recipient")
    status = _STATUS.search(_field(block, "Status"))
    return RecipientStatus(
        final_recipient=recipient.partition(";")[2].strip() or recipient,
        action=_field(block, "Action").lower().partition(" ")[0],
        status=".".join(status.groups()) if status else "",
        diagnostic=_field(block, "Diagnostic-Code")[:500],
    )
