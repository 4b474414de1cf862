"""VERP return paths: each email's envelope sender names the outbox row it was sent for.

``bounce+{row_id}-{tag}@{bounce_domain}``; the tag is an HMAC of the row id under the secret
key, so a forged report (anyone can send mail to the bounce domain) cannot mark an address of
an organisation as bouncing by guessing row ids.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from email.utils import parseaddr

from workflow.config import Settings

PREFIX = "bounce"
TAG_LENGTH = 10
# Mail systems may change the case of a local part (RFC 5321 lets them), so match any case.
_LOCAL = re.compile(rf"{PREFIX}\+(\d{{1,18}})-([0-9a-f]{{{TAG_LENGTH}}})", re.IGNORECASE)


def _tag(row_id: int, settings: Settings) -> str:
    mac = hmac.new(settings.secret_key.encode(), str(row_id).encode(), hashlib.sha256)
    return mac.hexdigest()[:TAG_LENGTH]


def return_path(row_id: int, settings: Settings) -> str:
    """The envelope sender for the email whose first outbox row is ``row_id``."""
    if not settings.bounce_domain:
        raise ValueError("bounce_domain is not set")
    return f"{PREFIX}+{row_id}-{_tag(row_id, settings)}@{settings.bounce_domain}"


def decode(address: str, settings: Settings) -> int | None:
    """The row id a VERP address names; None for any other address or a wrong tag."""
    addr = parseaddr(address.strip())[1] or address.strip().strip("<>")
    local, _, domain = addr.rpartition("@")
    if not settings.bounce_domain or domain.lower() != settings.bounce_domain.lower():
        return None
    match = _LOCAL.fullmatch(local)
    if match is None:
        return None
    row_id = int(match.group(1))
    if not hmac.compare_digest(match.group(2).lower(), _tag(row_id, settings)):
        return None
    return row_id
