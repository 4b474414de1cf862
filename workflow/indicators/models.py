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


class Rhythm(StrEnum):
    """When an indicator's value is asked for, and which period it covers."""

    MONTHS = "months"  # due in each of ``due_months``; the value describes the due month
    HALF_YEARLY = "half_yearly"  # due twice a year; the value describes the half-year before
    YEARLY = "yearly"  # due in one month for the previous calendar year
    EVERY_YEARS = "every_years"  # like yearly, every ``every_years`` years from ``first_year``
    EVENT = "event"  # due on each of ``event_dates`` (an election); describes that day


class Computation(StrEnum):
    """How a value follows from its base figures; TYPED means it is typed in directly."""

    TYPED = "typed"
    RATIO = "ratio"  # numerator ÷ denominator (× 100 for a percentage)
    # Share in the measure (numerator ÷ denominator) ÷ share in the population, × 100:
    # 100 means represented as in the population.
    REPRESENTATION_INDEX = "representation_index"


class CheckState(StrEnum):
    """The Monitoringgruppe's look at a value: none yet, or geprüft / bestätigt / korrigiert."""

    UNCHECKED = "unchecked"
    CHECKED = "checked"  # geprüft
    CONFIRMED = "confirmed"  # bestätigt: a flagged value is right as it stands
    CORRECTED = "corrected"  # korrigiert: replaced by the value now stored


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


class IndicatorDimension(Base):
    """One breakdown the organisation keeps (Staatsangehörigkeit, Geschlecht, …) and its
    categories, each ``{"code": …, "label": …}`` in the order they are shown."""

    __tablename__ = "indicator_dimension"
    __table_args__ = (UniqueConstraint("organisation_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    categories: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]


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
    # Breakdowns: codes of the organisation's dimensions; a value is asked per cell of
    # their product, besides the total.
    dimensions: Mapped[list[str]] = mapped_column(JSON, default=list)
    computation: Mapped[str] = mapped_column(String(24), default=Computation.TYPED)
    # What numerator and denominator count, e.g. "Ausländische Kinder in 5. Klassen der
    # Gymnasien" / "Ausländische Kinder in allen 5. Klassen".
    numerator_label: Mapped[str] = mapped_column(String(300), default="")
    denominator_label: Mapped[str] = mapped_column(String(300), default="")
    rhythm: Mapped[str] = mapped_column(String(16), default=Rhythm.MONTHS)
    every_years: Mapped[int] = mapped_column(default=1)
    first_year: Mapped[int | None]
    # ISO dates, for the rhythm "event".
    event_dates: Mapped[list[str]] = mapped_column(JSON, default=list)

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
    # The period the asked value describes, shown apart from the delivery month; None on
    # requests opened before rhythms knew it (their period is the due month).
    reference_start: Mapped[date | None]
    reference_end: Mapped[date | None]

    indicator: Mapped[Indicator] = relationship(lazy="joined", innerjoin=True)
    contact: Mapped[Contact] = relationship()


class IndicatorValue(Base):
    """One value of an indicator for one survey date, district ("" = city-wide) and cell of
    its breakdowns ("" = the total; else e.g. "geschlecht=w;staatsangehoerigkeit=nichtdeutsch",
    dimension codes sorted)."""

    __tablename__ = "indicator_value"
    __table_args__ = (UniqueConstraint("indicator_id", "district", "survey_date", "cell"),)

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
    cell: Mapped[str] = mapped_column(String(200), default="")
    # Base figures as numbers; with a computation other than "typed" they make the value.
    numerator: Mapped[float | None]
    denominator: Mapped[float | None]
    # Percent of the population in the same cell, for the representation index.
    population_share: Mapped[float | None]
    check_state: Mapped[str] = mapped_column(String(12), default=CheckState.UNCHECKED)
    checked_by: Mapped[str] = mapped_column(String(200), default="")
    checked_at: Mapped[datetime | None]
    check_note: Mapped[str] = mapped_column(Text, default="")


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
