"""Tables of the Sachstandsabfrage: a status check, each contact's part of it, each measure's answer.

A status check asks for the current state of a chosen set of measures by a due date. It
never moves a measure: it is its own tracked request. Each contact gets one part
(``StatusCheckRequest``) with one schedule of reminders and escalations, like a data
request's, and one form for all their measures (``StatusCheckItem``). A scheduled check
(``origin`` "scheduled") is opened by the sweep at the policy's months of Umsetzung.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.catalogue.models import Contact, Measure
from workflow.db import Base


class Origin(StrEnum):
    MANUAL = "manual"  # started by a coordinator or a body member
    SCHEDULED = "scheduled"  # opened by the sweep at a month of Umsetzung


class Stand(StrEnum):
    """What a contact reports; ``delayed`` is also what a missed milestone implies."""

    ON_TRACK = "on_track"  # im Plan
    DELAYED = "delayed"  # verzögert
    AT_RISK = "at_risk"  # gefährdet
    DONE = "done"  # abgeschlossen


class StatusCheck(Base):
    __tablename__ = "status_check"
    __table_args__ = (UniqueConstraint("organisation_id", "dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    # The cycle that was newest when the check opened; its policy sets the reminders.
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    origin: Mapped[str] = mapped_column(String(16), default=Origin.MANUAL.value)
    # Unique per organisation: "manual:<random>" or "scheduled:<cycle>:<month>:<local date>",
    # so a second sweep on the same day opens nothing twice.
    dedupe_key: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200), default="")
    # How the measures were chosen, as asked: {"field": "F1"}, {"measure_ids": [...]}, …
    selection: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Set when a body member started it for a measure in the body's scope.
    body_id: Mapped[int | None] = mapped_column(ForeignKey("body.id"), index=True)
    due_on: Mapped[date]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    # Corrections are taken until the coordinator closes the check.
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str] = mapped_column(String(200), default="")


class StatusCheckRequest(Base):
    """One contact's part of a check: one email, one link, one form, one schedule."""

    __tablename__ = "status_check_request"
    __table_args__ = (
        UniqueConstraint("status_check_id", "contact_id"),
        Index(
            "ix_status_check_request_next_action_at",
            "next_action_at",
            postgresql_where=text("next_action_at IS NOT NULL"),
            sqlite_where=text("next_action_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    status_check_id: Mapped[int] = mapped_column(ForeignKey("status_check.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    opened_at: Mapped[datetime]
    due_on: Mapped[date]
    # Schedule kept like a DataRequest's; the sweep reminds and escalates from it.
    next_action_at: Mapped[datetime | None]
    action_step: Mapped[int] = mapped_column(default=0)
    escalation_level: Mapped[int] = mapped_column(default=0)
    stay: Mapped[int] = mapped_column(default=1)
    # Set when every item of the part has an answer; corrections keep it.
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str] = mapped_column(String(200), default="")
    # What was typed and not yet sent, exactly as typed, keyed by form field name.
    draft: Mapped[dict[str, Any]] = mapped_column(default=dict)
    draft_updated_at: Mapped[datetime | None]
    draft_updated_by: Mapped[str] = mapped_column(String(200), default="")

    contact: Mapped[Contact] = relationship()
    status_check: Mapped[StatusCheck] = relationship()


class StatusCheckItem(Base):
    """One measure in one contact's part, and the answer once given."""

    __tablename__ = "status_check_item"
    __table_args__ = (
        UniqueConstraint("request_id", "measure_id"),
        # A scheduled check asks each stay in Umsetzung once per month of the policy;
        # manual items carry no month (NULLs never collide).
        UniqueConstraint("measure_cycle_id", "scheduled_month"),
        Index("ix_status_check_item_measure_answered", "measure_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    status_check_id: Mapped[int] = mapped_column(ForeignKey("status_check.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("status_check_request.id"), index=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"))
    # The measure's newest stay when the check opened (None if it had none).
    measure_cycle_id: Mapped[int | None] = mapped_column(ForeignKey("measure_cycle.id"))
    scheduled_month: Mapped[int | None]
    stand: Mapped[str] = mapped_column(String(16), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    # Per milestone of the agreement: {"milestone_id": 3, "reached": true} or
    # {"milestone_id": 3, "reached": false, "new_date": "2027-05-31"}.
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    # {indicator code: value as typed and checked}; also written to the indicator's series.
    indicator_values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str] = mapped_column(String(200), default="")
    revision: Mapped[int] = mapped_column(default=0)
    # Earlier answers, oldest first, each as stored before a correction replaced it.
    history: Mapped[list[dict[str, Any]]] = mapped_column(default=list)

    measure: Mapped[Measure] = relationship()
    request: Mapped[StatusCheckRequest] = relationship()
