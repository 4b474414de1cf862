"""Keeps form tokens out of the logs: rewrites ``/f/<token>`` in every record of the web loggers.

Uvicorn's access log writes the full request path, and a form link's path is its secret.
Never add a handler or change a level here: this only rewrites what others log.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_TOKEN_PATH = re.compile(r"/f/[^/\s?#\"']+")
REDACTED = "/f/[redacted]"
# Loggers whose records can carry a request path or URL; records are filtered where they are
# created, so each logger that writes them needs the filter (propagation skips logger filters).
LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "httpx", "fastapi", "starlette", "api")


def redact(text: str) -> str:
    return _TOKEN_PATH.sub(REDACTED, text)


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactFormTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_value(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_value(v) for k, v in record.args.items()}
        return True


_FILTER = RedactFormTokens()


def install_log_redaction() -> None:
    """Idempotent: adds the one filter instance to each web logger that lacks it."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
