"""An email's bytes written directly, for the common shape: text and HTML, no attachment.

``email.message.EmailMessage`` parses every header it is given and flattens the whole tree
again on each send: about 40 % of a send's time (bench/FINDINGS.md). The sender's emails
are almost all one shape, so they are written here as bytes once, 7-bit clean (quoted-
printable bodies, RFC 2047 display names), ready for SMTP DATA. Anything this writer does
not handle (attachments, a non-ASCII address, an odd extra header) returns None, and the
caller builds an ``EmailMessage`` as before.
"""

from __future__ import annotations

import secrets
from binascii import b2a_base64, b2a_qp
from collections.abc import Sequence
from dataclasses import dataclass
from email.policy import SMTP
from email.utils import quote

from notifications.subject import fold_subject

CRLF = "\r\n"
# Characters that force a display name into quotes (RFC 5322 "specials").
_SPECIALS = set('()<>[]:;@\\,."')


@dataclass(frozen=True)
class Envelope:
    """Who the message is from (header and envelope) and to whom it goes."""

    sender_name: str
    mail_from: str
    recipient_name: str
    recipient_email: str
    reply_to: str = ""


def _plain(value: str) -> bool:
    return value.isascii() and value.isprintable()


def _encoded_words(text: str) -> str:
    """``text`` as one RFC 2047 word per word, one per line.

    A parser joins adjacent encoded words of a display name with a space, so splitting
    anywhere but at the name's own spaces would add spaces to the name.
    """
    return (CRLF + " ").join(
        "=?utf-8?b?" + b2a_base64(word.encode(), newline=False).decode("ascii") + "?="
        for word in text.split(" ")
    )


def _display_name(name: str) -> str:
    if not name:
        return ""
    if not _plain(name):
        return _encoded_words(name) + " "
    if _SPECIALS.intersection(name):
        return f'"{quote(name)}" '
    return name + " "


def address(name: str, addr_spec: str) -> str:
    """``Name <addr>``: a non-ASCII name encoded, one with specials quoted."""
    return f"{_display_name(' '.join(name.split()))}<{addr_spec}>"


def _body(text: str) -> bytes:
    # Quoted-printable never lets "=_" through unencoded, so the boundary below cannot occur.
    data = text.replace("\r\n", "\n").replace("\n", CRLF).encode("utf-8")
    return b2a_qp(data, quotetabs=False, istext=True, header=False)


def _part(subtype: str, text: str) -> bytes:
    head = (
        f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: quoted-printable{CRLF}{CRLF}"
    )
    # The line break before a boundary belongs to the boundary, not to the body.
    return head.encode("ascii") + _body(text) + b"\r\n"


def message_bytes(
    *,
    subject: str,
    text: str,
    html: str,
    envelope: Envelope,
    headers: Sequence[tuple[str, str]],
) -> bytes | None:
    """The whole message for SMTP DATA, or None if it needs ``EmailMessage`` after all.

    ``headers``: every header besides Subject, From, To and Reply-To, in order, ASCII only.
    """
    addresses = [envelope.mail_from, envelope.recipient_email]
    if envelope.reply_to:
        addresses.append(envelope.reply_to)
    # A line break in an address would start a header of its own ("\r\nBcc: …"):
    # ``EmailMessage`` refuses such an address, and so must this path.
    if not all(_plain(a) and " " not in a for a in addresses):
        return None
    if not all(_plain(name) and _plain(value) for name, value in headers):
        return None
    boundary = "=_zf" + secrets.token_hex(12)
    lines = [
        fold_subject(subject, SMTP).rstrip(CRLF),
        "From: " + address(envelope.sender_name, envelope.mail_from),
        "To: " + address(envelope.recipient_name, envelope.recipient_email),
    ]
    if envelope.reply_to:
        lines.append("Reply-To: " + address(envelope.sender_name, envelope.reply_to))
    lines += [f"{name}: {value}" for name, value in headers]
    lines += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"']
    head = (CRLF.join(lines) + CRLF + CRLF).encode("ascii")
    delimiter = f"--{boundary}{CRLF}".encode("ascii")
    return b"".join(
        [
            head,
            delimiter,
            _part("plain", text),
            delimiter,
            _part("html", html),
            f"--{boundary}--{CRLF}".encode("ascii"),
        ]
    )
