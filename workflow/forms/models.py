"""Tables of the contact forms: unsent drafts, failed link attempts, hand-overs; never a raw token."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflow.db import Base


class FormDraft(Base):
    """What a contact typed for one measure and phase, exactly as typed, until it is submitted.

    Kept apart from ``MeasureCycle.draft`` on purpose: writing there would bump the row's
    optimistic-lock version on every keystroke and make the coordinator's moves conflict.
    """

    __tablename__ = "form_draft"
    __table_args__ = (UniqueConstraint("measure_cycle_id", "phase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_cycle_id: Mapped[int] = mapped_column(ForeignKey("measure_cycle.id"))
    phase: Mapped[str] = mapped_column(String(32))
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(200))


class FormAttempt(Base):
    """One failed link attempt from one client (hashed address), for rate limiting across processes."""

    __tablename__ = "form_attempt"
    __table_args__ = (Index("ix_form_attempt_client_at", "client_key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class DelegationStatus(StrEnum):
    PENDING = "pending"  # an address outside the organisation: waits for a coordinator
    ACTIVE = "active"  # the colleague's link went out (or will with the next send)
    REVOKED = "revoked"  # refused, withdrawn, or ended with the owner's links


class Delegation(Base):
    """One hand-over of a contact's form (one cycle, one phase) to a colleague.

    The colleague's link opens the owner's measures and lives only as long as this row is
    active and the owner's own links of the scope are not revoked. The colleague's contact
    row exists only once the hand-over went out: a pending one keeps just what was typed.
    """

    __tablename__ = "delegation"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'active', 'revoked')", name="status"),
        Index("ix_delegation_organisation_created", "organisation_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    # None for a data source's hand-over: data requests belong to no cycle.
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycle.id"), index=True)
    phase: Mapped[str] = mapped_column(String(32))
    owner_contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    delegate_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    delegate_email: Mapped[str] = mapped_column(String(320))
    delegate_name: Mapped[str] = mapped_column(String(200))
    by_contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"))
    # The link it was handed on with: the daily limit counts per link.
    form_token_id: Mapped[int | None] = mapped_column(ForeignKey("form_token.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(200))
