"""Tables of a cycle: the year, each measure's stay in it, its answers and its audit trail."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    FetchedValue,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from workflow.catalogue.models import Measure
from workflow.db import Base


class Cycle(Base):
    """One year of the process for one organisation, with its deadline policy."""

    __tablename__ = "cycle"
    __table_args__ = (UniqueConstraint("organisation_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    year: Mapped[int]
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    opened_at: Mapped[datetime]
    policy: Mapped[dict[str, Any]]


class MeasureCycle(Base):
    """A measure's stay in one cycle: where it stands, when it is due, what comes next."""

    __tablename__ = "measure_cycle"
    __table_args__ = (
        UniqueConstraint("cycle_id", "measure_id"),
        # The sweep's query is a range scan on this index and touches no row that is not due.
        Index(
            "ix_measure_cycle_next_action_at",
            "next_action_at",
            postgresql_where=text("next_action_at IS NOT NULL"),
            sqlite_where=text("next_action_at IS NOT NULL"),
        ),
        Index("ix_measure_cycle_org_state", "organisation_id", "state"),
        # The sweep's carry-forward pass looks for stays in Neuplanung across all cycles: a
        # handful of rows, found without reading the others.
        Index(
            "ix_measure_cycle_replanning",
            "id",
            postgresql_where=text("state = 'replanning'"),
            sqlite_where=text("state = 'replanning'"),
        ),
        # The scheduled status checks look per cycle for stays in Umsetzung begun early enough.
        Index(
            "ix_measure_cycle_implementation",
            "cycle_id",
            "entered_state_at",
            postgresql_where=text("state = 'implementation'"),
            sqlite_where=text("state = 'implementation'"),
        ),
        # The list's order (by code, then id) within one organisation, walked by its pages.
        Index("ix_measure_cycle_org_code", "organisation_id", "measure_code", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"), index=True)
    # The measure's code, copied by triggers (revision 0014) whatever writes the stay, so
    # that a list sorted by code sorts the stays without first joining every one to its
    # measure. Never written here: the database sets it.
    measure_code: Mapped[str | None] = mapped_column(String(32), server_default=FetchedValue())
    state: Mapped[str] = mapped_column(String(32))
    entered_state_at: Mapped[datetime]
    due_on: Mapped[date | None]
    next_action_at: Mapped[datetime | None]
    # Which step of the state's action plan the sweep does next, and how far it escalated.
    action_step: Mapped[int] = mapped_column(default=0)
    escalation_level: Mapped[int] = mapped_column(default=0)
    # Counts every entry into a state (and every extension), so dedupe keys of a second
    # stay in the same state differ from the first's.
    stay: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    draft: Mapped[dict[str, Any]] = mapped_column(default=dict)

    measure: Mapped[Measure] = relationship(lazy="joined")
    cycle: Mapped[Cycle] = relationship()

    __mapper_args__ = {"version_id_col": version}


class Interview(Base):
    """What the coordinator recorded in the Erstgespräch about one measure."""

    __tablename__ = "interview"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_cycle_id: Mapped[int] = mapped_column(ForeignKey("measure_cycle.id"), unique=True)
    held_on: Mapped[date | None]
    participants: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(String(16))
    implementation_status: Mapped[str] = mapped_column(String(32), default="")
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(200))


class TargetAgreement(Base):
    """The department's commitment for the next 12 months for one measure."""

    __tablename__ = "target_agreement"
    __table_args__ = (
        # The sweep's catch-up of milestone rows looks only at agreements not yet dealt with:
        # a few, found without reading every agreement of every stay in Umsetzung.
        Index(
            "ix_target_agreement_milestones_unsynced",
            "id",
            postgresql_where=text("NOT milestones_synced"),
            sqlite_where=text("milestones_synced = 0"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_cycle_id: Mapped[int] = mapped_column(ForeignKey("measure_cycle.id"), unique=True)
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    targets: Mapped[str] = mapped_column(Text, default="")
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    # True once the sweep's catch-up owes the agreement nothing: its milestone rows were
    # brought in line with ``milestones`` (``workflow.milestones.sync``), or its stay is past
    # Umsetzung. A new list makes it False again.
    milestones_synced: Mapped[bool] = mapped_column(default=False, server_default=false())
    indicator_targets: Mapped[dict[str, Any]] = mapped_column(default=dict)
    responsible: Mapped[str] = mapped_column(String(200), default="")
    resources: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None]
    submitted_by: Mapped[str] = mapped_column(String(200), default="")
    accepted_at: Mapped[datetime | None]

    @validates("milestones")
    def _new_list_not_yet_synced(self, _key: str, value: list[dict[str, Any]]) -> Any:
        self.milestones_synced = False
        return value


class Review(Base):
    """The department's 12-month review of one measure, and its proposal for the next cycle."""

    __tablename__ = "review"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_cycle_id: Mapped[int] = mapped_column(ForeignKey("measure_cycle.id"), unique=True)
    achievement: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    indicator_values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    obstacles: Mapped[str] = mapped_column(Text, default="")
    proposal: Mapped[str] = mapped_column(String(16))
    proposal_text: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None]
    submitted_by: Mapped[str] = mapped_column(String(200), default="")
    accepted_at: Mapped[datetime | None]


class AuditEvent(Base):
    """Append-only: one row for every move, extension and answer; never updated."""

    __tablename__ = "audit_event"
    # Reminders look up the latest address correction of their contact by event name
    # (workflow/forms/ladder_restart.py): without it, each one would read the whole trail.
    __table_args__ = (Index("ix_audit_event_event", "event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    measure_cycle_id: Mapped[int | None] = mapped_column(ForeignKey("measure_cycle.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


# A stay without a deadline counts under this date: never before any day, so never overdue.
NO_DEADLINE = date(9999, 12, 31)


class PipelineCount(Base):
    """How many stays share one (cycle, goal, department, state, level, deadline), folded.

    Kept by database triggers on ``measure_cycle`` and ``measure`` (revision 0012): every
    insert, move, level change or deletion appends -1/+1 rows to ``pipeline_count_change`` in
    the same transaction; the sweep folds those into this table
    (``workflow.cycles.pipeline_store``). The pipeline reads both, a few thousand rows
    instead of every stay; ``zielflow db check`` compares them with a full count.
    """

    __tablename__ = "pipeline_count"

    cycle_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    goal_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    department_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(32), primary_key=True)
    escalation_level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    due_by: Mapped[date] = mapped_column(primary_key=True)
    n: Mapped[int]


class PipelineCountChange(Base):
    """One stay entering (+1) or leaving (-1) a count, not yet folded (see PipelineCount).

    Only appended to, so concurrent transitions never wait for each other on a shared row.
    """

    __tablename__ = "pipeline_count_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int]
    goal_id: Mapped[int]
    department_id: Mapped[int]
    state: Mapped[str] = mapped_column(String(32))
    escalation_level: Mapped[int]
    due_by: Mapped[date]
    n: Mapped[int]
