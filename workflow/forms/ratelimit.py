"""Rate limiting of wrong form links, counted in the database so it holds across processes.

Only failures are counted, per client address (stored as a keyed hash, never in clear). A
blocked client is refused before its token is looked up, so being blocked says nothing about
whether a token exists. It never logs or stores a token.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from workflow.forms.models import FormAttempt

WINDOW = timedelta(minutes=15)
# Generous, because a whole town hall may share one public address.
MAX_FAILURES = 20
_KEEP = timedelta(days=1)


def client_key(secret: str, address: str) -> str:
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


def is_blocked(session: Session, key: str, now: datetime) -> bool:
    failures = session.scalar(
        select(func.count())
        .select_from(FormAttempt)
        .where(FormAttempt.client_key == key, FormAttempt.at > now - WINDOW)
    )
    return (failures or 0) >= MAX_FAILURES


def record_failure(session: Session, key: str, now: datetime) -> None:
    session.execute(delete(FormAttempt).where(FormAttempt.at <= now - _KEEP))
    session.add(FormAttempt(client_key=key, at=now))
    session.flush()
