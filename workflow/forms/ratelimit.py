"""Rate limiting of failures (wrong form links, wrong passwords), counted in the database so it
holds across processes.

Only failures are counted, under a keyed hash of what they concern (a client address, an
account), never in clear. Per client address a hard limit: ``MAX_FAILURES`` in ``WINDOW``,
then nothing until the oldest leaves the window. Per account only a slow-down: after
``ACCOUNT_FREE_FAILURES`` each further try waits twice as long as the one before, never more
than ``ACCOUNT_MAX_WAIT``, so nobody can lock an account out by guessing wrong on purpose.
A client made to wait is refused before anything is looked up, and its try is not counted.
It never logs or stores a token or a password.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from workflow.forms.models import FormAttempt

WINDOW = timedelta(minutes=15)
# Generous, because a whole town hall may share one public address.
MAX_FAILURES = 20
ACCOUNT_FREE_FAILURES = 5
ACCOUNT_MAX_WAIT = timedelta(seconds=60)
_KEEP = timedelta(days=1)


def client_key(secret: str, address: str) -> str:
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


def _recent(key: str, now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (FormAttempt.client_key == key, FormAttempt.at > now - WINDOW)


def is_blocked(session: Session, key: str, now: datetime) -> bool:
    failures = session.scalar(
        select(func.count()).select_from(FormAttempt).where(*_recent(key, now))
    )
    return (failures or 0) >= MAX_FAILURES


def address_wait(session: Session, key: str, now: datetime) -> timedelta | None:
    """How long a blocked client address still waits (until enough failures left the window)."""
    times = session.scalars(
        select(FormAttempt.at).where(*_recent(key, now)).order_by(FormAttempt.at)
    ).all()
    if len(times) < MAX_FAILURES:
        return None
    return times[len(times) - MAX_FAILURES] + WINDOW - now


def account_wait(session: Session, key: str, now: datetime) -> timedelta | None:
    """How long the next try for an account waits after its recent failures, or None."""
    failures, last = session.execute(
        select(func.count(), func.max(FormAttempt.at)).where(*_recent(key, now))
    ).one()
    if failures < ACCOUNT_FREE_FAILURES or last is None:
        return None
    doublings = min(failures - ACCOUNT_FREE_FAILURES, 16)
    wait = min(timedelta(seconds=2**doublings), ACCOUNT_MAX_WAIT)
    left = last + wait - now
    return left if left > timedelta(0) else None


def record_failure(session: Session, key: str, now: datetime) -> None:
    session.execute(delete(FormAttempt).where(FormAttempt.at <= now - _KEEP))
    session.add(FormAttempt(client_key=key, at=now))
    session.flush()


def clear_failures(session: Session, key: str) -> None:
    session.execute(delete(FormAttempt).where(FormAttempt.client_key == key))
