"""Form links: 256-bit random tokens, stored only as SHA-256 hashes, scoped and expiring.

A token opens one contact's forms for one cycle and one phase, or (phase ``data_delivery``,
no cycle) one data source contact's open data requests, or (phase ``assignment``) one
contact's open Aufträge of the organisation. A colleague's token after a hand-over
(``delegated_from_contact_id``) belongs to the owner's scope: revoking the scope revokes it
too. Issuing a replacement with ``reissue`` revokes every older live token of that scope;
reminders issue additional tokens (each email's link works until it expires), so an older
email's link keeps working. The raw token exists only in the email and in the visitor's
address bar: never log it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, func, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflow.db import Base
from workflow.deadlines import BusinessCalendar, DeadlinePolicy


class Phase(StrEnum):
    TARGET_AGREEMENT = "target_agreement"
    REVIEW = "review"
    # Indicator values from a data source contact: scoped to the contact alone, no cycle.
    DATA_DELIVERY = "data_delivery"
    # A body's Aufträge to one contact: every open one of the organisation, whatever the
    # cycle; the token names the newest cycle when the Auftrag was opened, as its CHECK asks.
    ASSIGNMENT = "assignment"
    # One contact's part of one status check (``status_check_request_id``); its cycle is
    # the check's.
    STATUS_CHECK = "status_check"
    # One milestone's "erreicht?" question (``milestone_id``); its cycle is the measure's stay's.
    MILESTONE = "milestone"


class FormToken(Base):
    __tablename__ = "form_token"
    __table_args__ = (
        # A cycle's forms need their cycle; data deliveries belong to no cycle.
        CheckConstraint(
            "(phase = 'data_delivery' AND cycle_id IS NULL)"
            " OR (phase <> 'data_delivery' AND cycle_id IS NOT NULL)",
            name="scope",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycle.id"), index=True)
    phase: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    issued_by: Mapped[str] = mapped_column(String(200))
    # Set when a contact handed the form to a colleague: whose form this token opens.
    delegated_from_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))
    last_used_at: Mapped[datetime | None]
    # The one request a status-check or milestone token opens; None for every other phase.
    status_check_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("status_check_request.id"), index=True
    )
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestone.id"), index=True)


class TokenState(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii", "replace")).hexdigest()


def issue_token(
    *,
    session: Session,
    organisation_id: int,
    contact_id: int,
    cycle_id: int | None,
    phase: Phase,
    expires_at: datetime,
    now: datetime,
    issued_by: str,
    delegated_from_contact_id: int | None = None,
    status_check_request_id: int | None = None,
    milestone_id: int | None = None,
    flush: bool = True,
    into: list[dict[str, Any]] | None = None,
) -> str:
    """A new token for the scope; returns the raw value, which is never stored.

    ``flush=False`` leaves the row to the next flush. ``into`` takes the row's values
    instead of the session: a caller issuing many links in one transaction (the sender's
    chunk of emails) writes them with ``write_tokens`` in one statement, without an ORM
    object per link.
    """
    raw = secrets.token_urlsafe(32)  # 32 bytes = 256 bits of randomness
    values: dict[str, Any] = {
        "organisation_id": organisation_id,
        "token_hash": hash_token(raw),
        "contact_id": contact_id,
        "cycle_id": cycle_id,
        "phase": phase.value,
        "created_at": now,
        "expires_at": expires_at,
        "revoked_at": None,
        "issued_by": issued_by,
        "delegated_from_contact_id": delegated_from_contact_id,
        "last_used_at": None,
        "status_check_request_id": status_check_request_id,
        "milestone_id": milestone_id,
    }
    if into is not None:
        into.append(values)
        return raw
    session.add(FormToken(**values))
    if flush:
        session.flush()
    return raw


def write_tokens(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the links ``issue_token`` collected ``into`` ``rows``, and empty the list."""
    if rows:
        session.connection().execute(insert(FormToken), rows)
        rows.clear()


def _owner() -> Any:
    """Whose measures a token opens: the owner's after a hand-over, else its holder's."""
    return func.coalesce(FormToken.delegated_from_contact_id, FormToken.contact_id)


def revoke_scope(
    *,
    session: Session,
    contact_id: int,
    cycle_id: int,
    phase: Phase,
    now: datetime,
    issued_until: datetime | None = None,
) -> int:
    """Revoke every live token that opens ``contact_id``'s measures of the cycle and phase:
    the contact's own and every colleague's it was handed on to (only those issued up to
    ``issued_until``, if given). Returns how many."""
    conditions = [
        _owner() == contact_id,
        FormToken.cycle_id == cycle_id,
        FormToken.phase == phase.value,
    ]
    if issued_until is not None:
        conditions.append(FormToken.created_at <= issued_until)
    return _revoke(session, now, *conditions)


def revoke_owned(*, session: Session, contact_id: int, now: datetime) -> int:
    """Revoke every live token that opens ``contact_id``'s measures, in every cycle and phase."""
    return _revoke(session, now, _owner() == contact_id)


def revoke_held(
    *,
    session: Session,
    contact_id: int,
    now: datetime,
    delegated_from: int | None = None,
    cycle_id: int | None = None,
    phase: Phase | None = None,
) -> int:
    """Revoke the live tokens ``contact_id`` holds; narrowed to one hand-over when
    ``delegated_from`` (and the cycle and phase) are given."""
    conditions: list[Any] = [FormToken.contact_id == contact_id]
    if delegated_from is not None:
        conditions.append(FormToken.delegated_from_contact_id == delegated_from)
    if cycle_id is not None:
        conditions.append(FormToken.cycle_id == cycle_id)
    if phase is not None:
        conditions.append(FormToken.phase == phase.value)
    return _revoke(session, now, *conditions)


def _revoke(session: Session, now: datetime, *conditions: Any) -> int:
    result = session.execute(
        update(FormToken).where(FormToken.revoked_at.is_(None), *conditions).values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def reissue(
    *,
    session: Session,
    organisation_id: int,
    contact_id: int,
    cycle_id: int,
    phase: Phase,
    expires_at: datetime,
    now: datetime,
    issued_by: str,
) -> str:
    """Revoke every live token of the scope, then issue one new one."""
    revoke_scope(session=session, contact_id=contact_id, cycle_id=cycle_id, phase=phase, now=now)
    return issue_token(
        session=session,
        organisation_id=organisation_id,
        contact_id=contact_id,
        cycle_id=cycle_id,
        phase=phase,
        expires_at=expires_at,
        now=now,
        issued_by=issued_by,
    )


def look_up(session: Session, raw: str, now: datetime) -> tuple[TokenState, FormToken | None]:
    """What a presented token is; the caller must not tell an UNKNOWN visitor anything more."""
    token = session.scalars(
        select(FormToken).where(FormToken.token_hash == hash_token(raw))
    ).first()
    if token is None:
        return TokenState.UNKNOWN, None
    if token.revoked_at is not None:
        return TokenState.REVOKED, token
    if token.expires_at <= now:
        return TokenState.EXPIRED, token
    return TokenState.VALID, token


def form_url(base_url: str, raw: str) -> str:
    return f"{base_url.rstrip('/')}/f/{raw}"


def default_expiry(due_on: date, policy: DeadlinePolicy, cal: BusinessCalendar) -> datetime:
    """End of the day ``policy.link_valid_days_after_due`` days after the phase's due date.

    Counted in the organisation's time zone, so a link never dies in the middle of a local day.
    """
    last_day = due_on + timedelta(days=policy.link_valid_days_after_due)
    return cal.at_local(last_day + timedelta(days=1), 0)
