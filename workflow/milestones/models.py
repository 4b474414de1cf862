"""Milestones of a target agreement, kept as rows once the agreement is in Umsetzung.

The agreement stores them as typed (``TargetAgreement.milestones``); a row per milestone
with a date carries what happened since: asked on its day, reached, moved to a new date.
``next_action_at`` is when the sweep next asks "Meilenstein erreicht?".
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.db import Base


class MilestoneStatus(StrEnum):
    OPEN = "open"
    REACHED = "reached"
    # The agreement was corrected and no longer lists it; kept for the timeline.
    WITHDRAWN = "withdrawn"


class Milestone(Base):
    __tablename__ = "milestone"
    __table_args__ = (
        UniqueConstraint("measure_cycle_id", "position"),
        Index(
            "ix_milestone_next_action_at",
            "next_action_at",
            postgresql_where=text("next_action_at IS NOT NULL"),
            sqlite_where=text("next_action_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    measure_cycle_id: Mapped[int] = mapped_column(ForeignKey("measure_cycle.id"), index=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"), index=True)
    # Its place in the agreement's list, from 0.
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    # The date agreed, and the date it is due now (after moves).
    planned_on: Mapped[date]
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(12), default=MilestoneStatus.OPEN.value)
    reached_on: Mapped[date | None]
    moves: Mapped[int] = mapped_column(default=0)
    # How often "erreicht?" was asked; part of the email's dedupe key with ``due_on``.
    asked: Mapped[int] = mapped_column(default=0)
    next_action_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str] = mapped_column(String(200), default="")
    # Each answer and move: {"at", "by", "reached", "from", "to"}, oldest first.
    history: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
