"""Accounts of coordinators, steering-group members and admins; passwords only as argon2 hashes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflow.db import Base

_hasher = PasswordHash((Argon2Hasher(),))
MIN_PASSWORD_LENGTH = 12


class Role(StrEnum):
    COORDINATOR = "coordinator"
    STEERING = "steering"
    ADMIN = "admin"


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


class PasswordTooShort(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooShort(f"Das Passwort muss mindestens {MIN_PASSWORD_LENGTH} Zeichen haben.")
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher.verify(password, password_hash)


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
    email = email.strip().lower()
    user = session.scalars(select(User).where(User.email == email)).first()
    if user is None:
        user = User(
            organisation_id=organisation_id,
            email=email,
            name=name,
            role=role.value,
            password_hash=hash_password(password),
            created_at=now,
        )
        session.add(user)
    else:
        user.role = role.value
        user.password_hash = hash_password(password)
    session.flush()
    return user
