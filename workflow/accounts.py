"""Accounts of coordinators, steering-group members and admins, and their API tokens.

Passwords are kept only as argon2 hashes, tokens only as SHA-256 hashes. Sessions, and the
ending of a user's access, live in ``workflow.sessions``. Never commits; never picks a
sentence for a refusal (``AccountRefused`` carries a code, the edge words it).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Select,
    String,
    bindparam,
    exists,
    false,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from workflow.catalogue.models import Organisation
from workflow.db import Base, pin, unit_of_work

_hasher = PasswordHash((Argon2Hasher(),))
MIN_PASSWORD_LENGTH = 12
PASSWORD_RESET_VALID = timedelta(hours=1)
API_TOKEN_LIFETIME = timedelta(days=90)
# One @, a dot in the domain, nothing blank or invisible: the shape a mail server will accept.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")


class Role(StrEnum):
    COORDINATOR = "coordinator"
    STEERING = "steering"
    ADMIN = "admin"


class TokenScope(StrEnum):
    READ = "read"
    WRITE = "write"


class AccountRefused(ValueError):
    """A refused account change; ``code`` names why, ``params`` fill the edge's sentence.

    Codes: ``invalid_email``, ``other_organisation``, ``unknown_account``, ``own_account``.
    """

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # Platform operator: manages the installation's organisations, above their admins.
    operator: Mapped[bool] = mapped_column(default=False, server_default=false())


class Membership(Base):
    """A further organisation a user works for, with a role there.

    The user's own row keeps the home organisation and role; a membership adds one more
    (a district officer who also coordinates a small town). Every request acts on one
    organisation, named by the caller (api/deps.py).
    """

    __tablename__ = "membership"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


# session.info: ids of users the session's request knows to hold no membership beyond their
# home organisation, so that ``workflow.memberships.places_of`` need not ask again.
HOME_ONLY = "zielflow_home_only_users"


def holds_memberships() -> ColumnElement[bool]:
    """A column for the statement that loads a user: whether any membership row exists."""
    return exists().where(Membership.user_id == User.id).label("holds_memberships")


def note_memberships(session: Session, user_id: int, held: bool) -> None:
    known: set[int] = session.info.setdefault(HOME_ONLY, set())
    if held:
        known.discard(user_id)
    else:
        known.add(user_id)


class PasswordTooShort(ValueError):
    """``code`` and ``params`` for the edge's sentence; ``str()`` is the code."""

    code = "account.password_too_short"

    def __init__(self) -> None:
        super().__init__(self.code)
        self.params = {"minimum": MIN_PASSWORD_LENGTH}


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooShort()
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher.verify(password, password_hash)


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == email.strip().lower())).first()


def normalise_email(raw: str) -> str:
    """The address as stored (trimmed, lower case), or ``AccountRefused("invalid_email")``."""
    email = raw.strip().lower()
    if len(email) > 320 or not _EMAIL.match(email):
        raise AccountRefused("invalid_email", email=raw.strip())
    return email


def add_or_update_user(
    *,
    session: Session,
    organisation_id: int,
    email: str,
    role: Role,
    password: str,
    now: datetime,
    name: str = "",
) -> User:
    """Create the account, or set role and password of the organisation's own one.

    An address held by another organisation is refused, never taken over. The password is
    hashed first either way, so a refusal takes as long as a success. A new password ends
    the account's sessions; a deactivated account of the organisation becomes active again.
    """
    from workflow.sessions import end_sessions  # it imports this module's models

    email = normalise_email(email)
    password_hash = hash_password(password)
    user = user_by_email(session, email)
    if user is None:
        user = User(
            organisation_id=organisation_id,
            email=email,
            name=name,
            role=role.value,
            password_hash=password_hash,
            created_at=now,
        )
        session.add(user)
    elif user.organisation_id != organisation_id:
        raise AccountRefused("other_organisation", email=email)
    else:
        user.role = role.value
        user.password_hash = password_hash
        user.active = True
        end_sessions(session, user_id=user.id, now=now)
    session.flush()
    return user


class PasswordResetToken(Base):
    """One emailed reset link; only the SHA-256 of its random token is stored."""

    __tablename__ = "password_reset_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ApiToken(Base):
    """A bearer token for scripts, shown once at creation; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the raw token, so a user can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    # Tokens from before scopes existed had the account's full rights: "write".
    scope: Mapped[str] = mapped_column(String(8), server_default=TokenScope.WRITE.value)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    def state(self, now: datetime) -> str:
        """``active``, ``expired`` or ``revoked``, as the account page shows it."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()


@cache
def dummy_hash() -> str:
    """Verified against when the email is unknown, so a login takes as long either way.

    Made once per process, not on import: every command-line call imports this module, and
    one argon2 hash costs a sixth of a second. The web application makes it at start-up, so
    that the first unknown address is not answered more slowly than a known one.
    """
    return _hasher.hash("zielflow-timing-equaliser")


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = user_by_email(session, email)
    if user is None or not user.active:
        _hasher.verify(password, dummy_hash())
        return None
    return user if verify_password(password, user.password_hash) else None


def request_password_reset(session: Session, email: str, now: datetime) -> bool:
    """Queue a reset email for an active account; the caller says the same thing either way.

    The outbox renderer calls ``issue_password_reset`` at send time, so no raw token is
    ever stored. One request per account and quarter hour: the dedupe key drops the rest.
    """
    from notifications.outbox import Draft, enqueue

    user = user_by_email(session, email)
    if user is None or not user.active:
        return False
    bucket = int(now.timestamp()) // 900
    enqueue(
        session,
        [
            Draft(
                organisation_id=user.organisation_id,
                dedupe_key=f"password_reset:{user.id}:{bucket}",
                kind="password_reset",
                recipient_email=user.email,
                recipient_name=user.name,
                context={"user_id": user.id},
            )
        ],
        now=now,
    )
    return True


def issue_password_reset(session: Session, user_id: int, now: datetime) -> str:
    """A fresh reset token for the user (older unused ones stop working); returns the raw value."""
    session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
    raw = secrets.token_urlsafe(32)  # 256 bits
    session.add(
        PasswordResetToken(
            user_id=user_id,
            token_hash=_sha256(raw),
            created_at=now,
            expires_at=now + PASSWORD_RESET_VALID,
        )
    )
    session.flush()
    return raw


def valid_reset_token(session: Session, raw: str, now: datetime) -> PasswordResetToken | None:
    token = session.scalars(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == _sha256(raw))
    ).first()
    if token is None or token.used_at is not None or token.expires_at <= now:
        return None
    return token


def reset_password(session: Session, raw: str, new_password: str, now: datetime) -> User | None:
    """Set a new password with a reset token; None if the token is unknown, used or expired.

    Every session of the account ends: whoever else was signed in must sign in anew."""
    from workflow.sessions import end_sessions  # it imports this module's models

    token = valid_reset_token(session, raw, now)
    if token is None:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    user.password_hash = hash_password(new_password)  # raises PasswordTooShort first
    token.used_at = now
    end_sessions(session, user_id=user.id, now=now)
    session.flush()
    return user


def create_api_token(
    session: Session,
    user: User,
    name: str,
    now: datetime,
    *,
    scope: TokenScope = TokenScope.WRITE,
    lifetime: timedelta = API_TOKEN_LIFETIME,
) -> tuple[ApiToken, str]:
    """A new bearer token; the raw value is returned once and never stored."""
    raw = "zf_" + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name.strip()[:200] or "API",
        token_hash=_sha256(raw),
        prefix=raw[:10],
        scope=scope.value,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(token)
    session.flush()
    return token, raw


def revoke_api_token(session: Session, user: User, token_id: int, now: datetime) -> bool:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        return False
    token.revoked_at = now
    return True


TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


@cache
def _token_lookup() -> Select[ApiToken, User, Organisation, bool]:
    """Built once (every API request runs it): the token by its hash, with its user, the
    user's home organisation and whether the user works anywhere else."""
    return (
        select(ApiToken, User, Organisation, holds_memberships())
        .join(User, User.id == ApiToken.user_id)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(ApiToken.token_hash == bindparam("token_hash"))
    )


def user_for_api_token(
    session: Session, raw: str, now: datetime, *, sessions: sessionmaker[Session] | None = None
) -> tuple[User, ApiToken] | None:
    """The token's user and the token, or None if unknown, revoked, expired or deactivated.

    ``last_used_at`` is written at most every few minutes and in a transaction of its own
    (``sessions``), so that a read request writes nothing and requests with one token do not
    queue behind each other's row lock."""
    # Whether the user works anywhere else, every request asks next (kept for the session).
    row = session.execute(_token_lookup(), {"token_hash": _sha256(raw)}).first()
    if row is None:
        return None
    token, user, home, held = row
    if token.state(now) != "active" or not user.active:
        return None
    pin(session, home)
    note_memberships(session, user.id, bool(held))
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_INTERVAL:
        if sessions is None:
            token.last_used_at = now
        else:
            with unit_of_work(sessions) as own:
                own.execute(
                    update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
                )
    return user, token
