"""Tables of the catalogue and of who is who; every row belongs to one organisation."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.db import Base

DEFAULT_OFFICE_NAME = "Koordinierungsstelle Integration"


class OrganisationKind(StrEnum):
    CITY = "city"
    DISTRICT = "district"
    TOWN = "town"
    STATE = "state"


class MeasureStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    DROPPED = "dropped"
    COMPLETED = "completed"


class Organisation(Base):
    """A city, a district, or a town steered by its district (``parent``)."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default=OrganisationKind.CITY)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    state: Mapped[str] = mapped_column(String(2), default="NW")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    # Who signs the emails and reports (From name, footer, report cover); see
    # workflow/organisation_settings.py. The contact email above becomes the Reply-To.
    office_name: Mapped[str] = mapped_column(
        String(200), default=DEFAULT_OFFICE_NAME, server_default=DEFAULT_OFFICE_NAME
    )
    office_address: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # The organisation's own mail domains, comma-separated; a form handed on to an address
    # elsewhere waits for a coordinator. None: the domains of its contacts (forms/mail_domains.py).
    mail_domains: Mapped[str | None] = mapped_column(Text)
    # The words this organisation uses (workflow/terms.py): "fachbereich" or "amt" for its
    # departments, and its council ("" means by kind: Rat for a city or town, Kreistag for
    # a district).
    unit_term: Mapped[str] = mapped_column(
        String(16), default="fachbereich", server_default="fachbereich"
    )
    council_term: Mapped[str] = mapped_column(String(16), default="", server_default="")
    # An archived organisation keeps its data but sends nothing and admits nobody.
    archived_at: Mapped[datetime | None]
    # A town that declines appears in its district's reports as counts only.
    shares_with_district: Mapped[bool] = mapped_column(default=True, server_default=true())


class Concept(Base):
    __tablename__ = "concept"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    adopted_on: Mapped[date | None]


class Field(Base):
    """A Handlungsfeld."""

    __tablename__ = "field"
    __table_args__ = (UniqueConstraint("organisation_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    concept_id: Mapped[int | None] = mapped_column(ForeignKey("concept.id"))
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(300))
    # The field's Annahmen, printed before its goals in the monitoring report.
    assumptions: Mapped[str] = mapped_column(Text, default="")


class Goal(Base):
    """A Ziel within a field, ranked 1 (most important and urgent) to 4."""

    __tablename__ = "goal"
    __table_args__ = (UniqueConstraint("organisation_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("field.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(500))
    rank: Mapped[int]
    # A town's goal may serve a goal of its district (seed 002: "Vernetzung mit den Zielen").
    district_goal_id: Mapped[int | None] = mapped_column(ForeignKey("goal.id"), index=True)

    field: Mapped[Field] = relationship(lazy="joined", foreign_keys=[field_id])


class Department(Base):
    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class Contact(Base):
    """A person reached by email: department contact, department head or data source."""

    __tablename__ = "contact"
    __table_args__ = (UniqueConstraint("organisation_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(2), default="de")
    # "frau", "herr" or "" (not stated, or a function address such as "Amtsleitung
    # Sozialamt"); emails greet accordingly (workflow/salutation.py).
    salutation: Mapped[str] = mapped_column(String(8), default="", server_default="")
    # The department head is the contact escalations go to before the steering group.
    is_head: Mapped[bool] = mapped_column(default=False)


class Measure(Base):
    """A Maßnahme: a concrete action serving a goal, owned by a department."""

    __tablename__ = "measure"
    __table_args__ = (UniqueConstraint("organisation_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goal.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=MeasureStatus.ACTIVE)
    interviewed_at: Mapped[datetime | None]

    goal: Mapped[Goal] = relationship(lazy="joined")
    department: Mapped[Department] = relationship()
    contact: Mapped[Contact | None] = relationship()
