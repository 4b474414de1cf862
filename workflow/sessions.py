"""Server-side sign-in sessions, and ending a user's access: sign-out, new password, deactivation.

The browser's signed cookie holds only a random session key; the table keeps its SHA-256,
so a copied cookie dies with its row. A session ends when its user signs out, signs in
anew, gets a new password or is deactivated, and after ``idle`` without a request. Never
commits, and never writes in a read request's transaction (``last_seen_at`` is written at
most once a minute, in a transaction of its own).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from workflow.accounts import (
    AccountRefused,
    ApiToken,
    PasswordResetToken,
    User,
    holds_memberships,
    note_memberships,
)
from workflow.db import Base, unit_of_work

TOUCH_INTERVAL = timedelta(minutes=1)
# However busy, a session ends this long after sign-in (the cookie's own lifetime too).
MAX_AGE = timedelta(hours=12)


class UserSession(Base):
    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # The organisation chosen with the switcher; NULL: the user's home organisation.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()


def start_session(session: Session, *, user: User, now: datetime) -> str:
    """A new session for ``user``; returns the raw key for the cookie (never stored)."""
    raw = secrets.token_urlsafe(32)
    session.add(
        UserSession(user_id=user.id, key_hash=_sha256(raw), created_at=now, last_seen_at=now)
    )
    session.flush()
    return raw


def end_session(session: Session, *, raw: str, now: datetime) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.key_hash == _sha256(raw), UserSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_sessions(session: Session, *, user_id: int, now: datetime) -> None:
    """Every open session of the user ends: sign-in elsewhere with the old password stops."""
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def user_for_session(
    session: Session,
    raw: str,
    now: datetime,
    *,
    idle: timedelta,
    sessions: sessionmaker[Session] | None = None,
) -> User | None:
    """The signed-in user of a live session, or None (unknown, ended, idle too long, too old,
    deactivated). With ``sessions`` the touch gets a transaction of its own (read requests)."""
    found = signed_in(session, raw, now, idle=idle, sessions=sessions)
    return found[0] if found else None


def signed_in(
    session: Session,
    raw: str,
    now: datetime,
    *,
    idle: timedelta,
    sessions: sessionmaker[Session] | None = None,
) -> tuple[User, int | None] | None:
    """The user of a live session and the organisation chosen in it (None: the home one)."""
    # The session row, its user and whether the user works anywhere else in one statement.
    found = session.execute(
        select(UserSession, User, holds_memberships())
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.key_hash == _sha256(raw))
    ).first()
    if found is None:
        return None
    row, user, held = found
    if row.ended_at is not None:
        return None
    if now - row.last_seen_at >= idle or now - row.created_at >= MAX_AGE:
        return None
    if not user.active:
        return None
    note_memberships(session, user.id, bool(held))
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        touch = update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
        if sessions is None:
            session.execute(touch)
        else:
            with unit_of_work(sessions) as own:
                own.execute(touch)
    return user, row.organisation_id


def choose_organisation(session: Session, *, raw: str, organisation_id: int | None) -> None:
    """The switcher's choice: later requests of this session act for ``organisation_id``."""
    session.execute(
        update(UserSession)
        .where(UserSession.key_hash == _sha256(raw), UserSession.ended_at.is_(None))
        .values(organisation_id=organisation_id)
    )


def deactivate_user(
    session: Session, *, organisation_id: int, user_id: int, by_user_id: int | None, now: datetime
) -> User:
    """Switch an account of the organisation off: its sessions, tokens and reset links end.

    Refuses (``AccountRefused``) an account of another organisation as unknown, and one's own
    account (``by_user_id``), so an organisation cannot lock out its last admin by accident.
    """
    user = session.get(User, user_id)
    if user is None or user.organisation_id != organisation_id:
        raise AccountRefused("unknown_account")
    if user.id == by_user_id:
        raise AccountRefused("own_account")
    user.active = False
    end_sessions(session, user_id=user.id, now=now)
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
    session.flush()
    return user
