"""Tables of the indicators (Kennzahlen, Wirkungsindikatoren), their values and data requests.

Only structure lives here; what a value means and when it is due is decided in
``series`` and ``requests``. Every row belongs to one organisation.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.catalogue.models import Contact, Goal, Measure
from workflow.db import Base


class Unit(StrEnum):
    """How a value is measured; decides the indicator's kind and how a value is checked."""

    PERCENT = "percent"  # 0..100
    COUNT = "count"  # a non-negative whole number
    RATE = "rate"  # a non-negative ratio, e.g. places per applicant
    CURRENCY = "currency"  # euros, two decimals
    INDEX = "index"  # any number, e.g. an unemployment index
    SCALE = "scale"  # a 5-point survey: counts per scale point, mean computed
    TEXT = "text"  # a written report


class Kind(StrEnum):
    QUANTITATIVE = "quantitative"  # Kennzahl
    SURVEY = "survey"  # Wirkungsindikator from a 5-point survey
    QUALITATIVE = "qualitative"  # Wirkungsindikator as a written report


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    TARGET = "target"


class RequestStatus(StrEnum):
    OPEN = "open"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


def kind_of(unit: str) -> Kind:
    if unit == Unit.SCALE:
        return Kind.SURVEY
    if unit == Unit.TEXT:
        return Kind.QUALITATIVE
    return Kind.QUANTITATIVE


indicator_goal = Table(
    "indicator_goal",
    Base.metadata,
    Column("indicator_id", ForeignKey("indicator.id", ondelete="CASCADE"), primary_key=True),
    Column("goal_id", ForeignKey("goal.id", ondelete="CASCADE"), primary_key=True, index=True),
)

indicator_measure = Table(
    "indicator_measure",
    Base.metadata,
    Column("indicator_id", ForeignKey("indicator.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "measure_id", ForeignKey("measure.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class Indicator(Base):
    """One indicator: what it states, how it is measured, who delivers it and when."""

    __tablename__ = "indicator"
    __table_args__ = (UniqueConstraint("organisation_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    statement: Mapped[str] = mapped_column(Text)
    base_figures: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8))
    # Only for direction "target": the value the series should approach.
    target_value: Mapped[float | None]
    # The survey rhythm: a value is due on ``due_day`` of each month in ``due_months``;
    # the request goes out ``lead_days`` before that day.
    due_months: Mapped[list[int]] = mapped_column(JSON, default=list)
    due_day: Mapped[int] = mapped_column(default=15)
    lead_days: Mapped[int] = mapped_column(default=28)
    # The statistical district the city-wide value covers, e.g. "Stadtgebiet" or
    # "Gebiet der Hauptagentur"; ``districts`` names the Stadtbezirke with values of their own.
    district: Mapped[str] = mapped_column(String(200), default="")
    districts: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_label: Mapped[str] = mapped_column(String(300), default="")
    source_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    source_contact: Mapped[Contact | None] = relationship()
    goals: Mapped[list[Goal]] = relationship(secondary=indicator_goal, order_by=Goal.code)
    measures: Mapped[list[Measure]] = relationship(
        secondary=indicator_measure, order_by=Measure.code
    )

    @property
    def kind(self) -> Kind:
        return kind_of(self.unit)


class DataRequest(Base):
    """The source contact is asked for one period's value: schedule kept like a MeasureCycle's."""

    __tablename__ = "data_request"
    __table_args__ = (
        UniqueConstraint("indicator_id", "period"),
        Index(
            "ix_data_request_next_action_at",
            "next_action_at",
            postgresql_where=text("next_action_at IS NOT NULL"),
            sqlite_where=text("next_action_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id"))
    # "YYYY-MM" of the due date: one request per indicator and rhythm date.
    period: Mapped[str] = mapped_column(String(7))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=RequestStatus.OPEN)
    opened_at: Mapped[datetime]
    due_on: Mapped[date]
    next_action_at: Mapped[datetime | None]
    action_step: Mapped[int] = mapped_column(default=0)
    escalation_level: Mapped[int] = mapped_column(default=0)
    # Counts every new due date (an extension starts a new stay), like MeasureCycle.stay.
    stay: Mapped[int] = mapped_column(default=1)
    delivered_at: Mapped[datetime | None]
    delivered_by: Mapped[str] = mapped_column(String(200), default="")
    # How often values came in for this request: the first delivery, then corrections.
    deliveries: Mapped[int] = mapped_column(default=0)

    indicator: Mapped[Indicator] = relationship(lazy="joined", innerjoin=True)
    contact: Mapped[Contact] = relationship()


class IndicatorValue(Base):
    """One value of an indicator for one survey date and district ("" = city-wide)."""

    __tablename__ = "indicator_value"
    __table_args__ = (UniqueConstraint("indicator_id", "district", "survey_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id"), index=True)
    data_request_id: Mapped[int | None] = mapped_column(ForeignKey("data_request.id"), index=True)
    # Set while the value is the one a department's review reported (``answers``); a value
    # of the data source for the same date replaces it and clears this.
    measure_cycle_id: Mapped[int | None] = mapped_column(ForeignKey("measure_cycle.id"), index=True)
    survey_date: Mapped[date]
    district: Mapped[str] = mapped_column(String(200), default="")
    # Quantitative value, or the survey's mean; None for a written report.
    value: Mapped[float | None]
    counts: Mapped[list[int] | None] = mapped_column(JSON)
    report: Mapped[str] = mapped_column(Text, default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(300), default="")
    delivered_by: Mapped[str] = mapped_column(String(200))
    delivered_by_name: Mapped[str] = mapped_column(String(200), default="")
    delivered_at: Mapped[datetime]
    # Far from the series' course: stored and shown, never refused (see series.outlier).
    flagged: Mapped[bool] = mapped_column(default=False)
    flag_reason: Mapped[str] = mapped_column(String(200), default="")
    revision: Mapped[int] = mapped_column(default=1)
    history: Mapped[list[dict[str, Any]]] = mapped_column(default=list)


class DataDraft(Base):
    """What a source typed for one data request, exactly as typed, until it is delivered.

    Apart from ``FormDraft``, whose key is a measure's stay in a cycle: a data request
    belongs to no cycle. One row per request, whoever of the source's people typed it.
    """

    __tablename__ = "data_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    data_request_id: Mapped[int] = mapped_column(ForeignKey("data_request.id"), unique=True)
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(200))
