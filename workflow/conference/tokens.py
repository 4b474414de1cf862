"""Emailed links for actors: 256-bit random tokens, stored only as SHA-256 hashes.

An ``invitation`` token opens one actor's invitation to one conference (register, decline,
unsubscribe); an ``activity_report`` token opens one actor's activity report for one year.
The raw token exists only in the email and the visitor's address bar: never log it.
Never commits.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation
from workflow.conference.models import ActorToken, ActorTokenPurpose
from workflow.cycles.calendar import calendar_of
from workflow.forms.tokens import TokenState, hash_token


def issue_actor_token(
    session: Session,
    *,
    organisation_id: int,
    actor_id: int,
    purpose: ActorTokenPurpose,
    expires_at: datetime,
    now: datetime,
    conference_id: int | None = None,
    year: int | None = None,
) -> str:
    """A new token for the scope; returns the raw value, which is never stored."""
    raw = secrets.token_urlsafe(32)  # 32 bytes = 256 bits of randomness
    session.add(
        ActorToken(
            organisation_id=organisation_id,
            token_hash=hash_token(raw),
            actor_id=actor_id,
            purpose=purpose.value,
            conference_id=conference_id,
            year=year,
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
            last_used_at=None,
        )
    )
    session.flush()
    return raw


def issue_actor_link(
    session: Session,
    *,
    org: Organisation,
    actor_id: int,
    purpose: ActorTokenPurpose,
    last_day: date,
    now: datetime,
    conference_id: int | None = None,
    year: int | None = None,
) -> str:
    """A token for an email's link that works to the end of ``last_day``, counted in the
    organisation's time zone so a link never dies in the middle of a local day."""
    return issue_actor_token(
        session,
        organisation_id=org.id,
        actor_id=actor_id,
        purpose=purpose,
        expires_at=calendar_of(org).at_local(last_day + timedelta(days=1), 0),
        now=now,
        conference_id=conference_id,
        year=year,
    )


def verify_actor_token(
    session: Session, raw: str, *, purpose: ActorTokenPurpose, now: datetime
) -> tuple[TokenState, ActorToken | None]:
    """What a presented token is; a token of another purpose is UNKNOWN here, so a link of
    one kind never opens a page of another."""
    token = session.scalars(
        select(ActorToken).where(ActorToken.token_hash == hash_token(raw))
    ).first()
    if token is None or token.purpose != purpose.value:
        return TokenState.UNKNOWN, None
    if token.revoked_at is not None:
        return TokenState.REVOKED, token
    if token.expires_at <= now:
        return TokenState.EXPIRED, token
    return TokenState.VALID, token


def revoke_actor_tokens(
    session: Session,
    *,
    actor_id: int,
    now: datetime,
    purpose: ActorTokenPurpose | None = None,
    conference_id: int | None = None,
    year: int | None = None,
) -> int:
    """Revoke the actor's live tokens, narrowed by purpose, conference and year if given."""
    conditions: list[Any] = [ActorToken.actor_id == actor_id, ActorToken.revoked_at.is_(None)]
    if purpose is not None:
        conditions.append(ActorToken.purpose == purpose.value)
    if conference_id is not None:
        conditions.append(ActorToken.conference_id == conference_id)
    if year is not None:
        conditions.append(ActorToken.year == year)
    result = session.execute(update(ActorToken).where(*conditions).values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)
