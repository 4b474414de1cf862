"""The decisions register: what a body decided, recommended or asked for, and how far it got.

A decision belongs to the meeting that took it (and usually to one of its agenda items). An
Auftrag (kind ``assignment``) asks a department contact for something by ``due_on``; it keeps
a schedule like a data request's, so the sweep reminds and escalates it with the same policy.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.db import Base


class DecisionKind(StrEnum):
    RESOLUTION = "resolution"  # Beschluss
    RECOMMENDATION = "recommendation"  # Empfehlung
    ASSIGNMENT = "assignment"  # Auftrag
    CHANGE_PROPOSAL = "change_proposal"  # Änderungsvorschlag for a measure


class DecisionStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class ResolutionAction(StrEnum):
    """What a Beschluss does to the catalogue or the cycle when it is recorded."""

    NONE = ""  # a Beschluss that only needs recording
    DROP_MEASURE = "drop_measure"
    ACCEPT_REVIEW = "accept_review"
    CHANGE_RANK = "change_rank"  # ``action_value`` holds the goal's new rank


class Addressee(StrEnum):
    """To whom an Empfehlung goes."""

    COUNCIL = "council"  # Gemeinderat, Stadtrat or Kreistag
    ADMINISTRATION = "administration"  # Verwaltung(sspitze)
    DEPARTMENT = "department"  # ``department_id``


class Decision(Base):
    __tablename__ = "decision"
    __table_args__ = (
        Index("ix_decision_organisation_status", "organisation_id", "status"),
        Index(
            "ix_decision_next_action_at",
            "next_action_at",
            postgresql_where=text("next_action_at IS NOT NULL"),
            sqlite_where=text("next_action_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("agenda_item.id", use_alter=True, name="fk_decision_agenda_item_id_agenda_item")
    )
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), default=DecisionStatus.OPEN.value)
    text: Mapped[str] = mapped_column(Text)
    # What it is about: a measure (and its stay in a cycle, for moves), a department.
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("measure.id"), index=True)
    measure_cycle_id: Mapped[int | None] = mapped_column(ForeignKey("measure_cycle.id"))
    action: Mapped[str] = mapped_column(String(32), default=ResolutionAction.NONE.value)
    action_value: Mapped[str] = mapped_column(String(200), default="")
    addressee: Mapped[str] = mapped_column(String(16), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    # Auftrag: who must answer by when.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    due_on: Mapped[date | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    # When a Beschluss's move or an Änderungsvorschlag reached the catalogue, and by whom.
    applied_at: Mapped[datetime | None]
    applied_by: Mapped[str] = mapped_column(String(200), default="")
    status_changed_at: Mapped[datetime | None]
    status_changed_by: Mapped[str] = mapped_column(String(200), default="")
    # Auftrag schedule, kept like a DataRequest's: the sweep reminds and escalates from it.
    next_action_at: Mapped[datetime | None]
    action_step: Mapped[int] = mapped_column(default=0)
    escalation_level: Mapped[int] = mapped_column(default=0)
    stay: Mapped[int] = mapped_column(default=1)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str] = mapped_column(String(200), default="")
