"""Tables of the contact forms: unsent drafts and failed link attempts; never a raw token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
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
