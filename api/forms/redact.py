"""Keeps secrets in URLs out of the logs: one list of path patterns whose last part is a secret.

Uvicorn's access log writes the full request path, and some paths are credentials: a form
link ``/f/<token>`` and a password-reset link ``/passwort/neu/<token>``. Every record of the
web loggers is rewritten against ``SECRET_PATHS``; a new route that carries a secret in its
path adds its prefix there and nowhere else. Never add a handler or change a level here:
this only rewrites what others log.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# Path prefixes followed by a secret segment. Order does not matter: the prefixes do not nest.
SECRET_PATHS: tuple[str, ...] = ("/f/", "/passwort/neu/", "/einladung/", "/aktivitaeten/")
_SEGMENT = r"[^/\s?#\"']+"
_SECRET = re.compile("(" + "|".join(re.escape(p) for p in SECRET_PATHS) + ")" + _SEGMENT)
MARK = "[redacted]"
# What a form link becomes; kept as a name of its own for the form tests and callers.
REDACTED = f"/f/{MARK}"
# Loggers whose records can carry a request path or URL; records are filtered where they are
# created, so each logger that writes them needs the filter (propagation skips logger filters).
LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "httpx", "fastapi", "starlette", "api")


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: m.group(1) + MARK, text)


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactSecretPaths(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_value(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_value(v) for k, v in record.args.items()}
        return True


# The name the form tests and older callers know.
RedactFormTokens = RedactSecretPaths
_FILTER = RedactSecretPaths()


def install_log_redaction() -> None:
    """Idempotent: adds the one filter instance to each web logger that lacks it."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
