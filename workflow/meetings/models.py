"""Tables of a meeting: its agenda items (with their minutes), its guests and its attendance."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflow.db import Base


class AgendaKind(StrEnum):
    """Where an agenda item came from; the proposal fills every kind but ``other``."""

    FIELD_REPORT = "field_report"  # the heads of a field report on it (seed 000's guests)
    DROP_PROPOSAL = "drop_proposal"  # a department proposed to drop the measure
    REVIEW_ACCEPTANCE = "review_acceptance"  # a submitted review waits to be accepted
    ESCALATION = "escalation"  # an item escalated to the body
    INDICATOR_OFF_TRACK = "indicator_off_track"
    OPEN_DECISION = "open_decision"  # a decision of an earlier meeting that is not done
    OTHER = "other"  # typed in by the coordinator


class AgendaItem(Base):
    """One item (TOP) of a meeting's agenda, in order, and what the minutes say about it.

    The reference columns say what the item is about; at most the one its kind needs is set.
    """

    __tablename__ = "agenda_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32), default=AgendaKind.OTHER.value)
    title: Mapped[str] = mapped_column(String(300))
    field_id: Mapped[int | None] = mapped_column(ForeignKey("field.id"))
    measure_cycle_id: Mapped[int | None] = mapped_column(ForeignKey("measure_cycle.id"))
    indicator_id: Mapped[int | None] = mapped_column(ForeignKey("indicator.id"))
    # The earlier decision this item carries forward (kind open_decision).
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id"))
    minutes: Mapped[str] = mapped_column(Text, default="")


class MeetingGuest(Base):
    """Someone invited who is not a member, e.g. a field's head who reports on it."""

    __tablename__ = "meeting_guest"
    __table_args__ = (UniqueConstraint("meeting_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(2), default="de")
    # The field the guest reports on; with ``contact_id`` their measures can be listed.
    field_id: Mapped[int | None] = mapped_column(ForeignKey("field.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))
    # NULL until the minutes record who came.
    present: Mapped[bool | None]


class MeetingAttendance(Base):
    """Whether one member attended one meeting; no row means not recorded."""

    __tablename__ = "meeting_attendance"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("body_member.id"), primary_key=True)
    present: Mapped[bool]
