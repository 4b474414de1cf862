"""Tables of bodies (Gremien), their scope, composition rules, members and meetings.

A membership is never deleted: ending it sets ``left_on``, so the body's history stays.
No special-category personal data (origin, religion, …) is stored about a member; whom a
member represents is a role in the body, not a trait of the person.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.db import Base


class BodyKind(StrEnum):
    STEERING_GROUP = "steering_group"  # Steuerungsgruppe: decides, receives escalations
    ADVISORY_BOARD = "advisory_board"  # Begleitgremium
    MANAGEMENT_GROUP = "management_group"  # Lenkungsgruppe
    MONITORING_GROUP = "monitoring_group"  # Monitoringgruppe
    WORKING_GROUP = "working_group"  # Arbeitsgruppe
    INTEGRATION_COUNCIL = "integration_council"  # Integrationsrat
    OTHER = "other"


class BodyScope(StrEnum):
    ALL_FIELDS = "all"
    SOME_FIELDS = "fields"  # the fields listed in body_field
    INDICATORS = "indicators"  # indicators only, no measures


class DigestCadence(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    BEFORE_MEETING = "before_meeting"
    ON_CHANGE = "on_change"


class Represents(StrEnum):
    ADMINISTRATION = "administration"  # Verwaltung
    COUNCIL_GROUP = "council_group"  # Ratsfraktion (its name in represents_name)
    CIVIL_SOCIETY = "civil_society"  # Zivilgesellschaft
    INTEGRATION_COUNCIL = "integration_council"  # Integrationsrat / Migrantenorganisation
    TOWN = "town"  # a town of the district (its name in represents_name)
    GUEST = "guest"  # Gast


class MemberRole(StrEnum):
    CHAIR = "chair"
    MEMBER = "member"
    DEPUTY = "deputy"  # stands in for ``deputy_of``


class Body(Base):
    """A Gremium; the former steering group, whose rows became bodies of kind steering_group."""

    __tablename__ = "body"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(
        String(32), default=BodyKind.STEERING_GROUP.value, server_default="steering_group"
    )
    scope: Mapped[str] = mapped_column(
        String(16), default=BodyScope.ALL_FIELDS.value, server_default="all"
    )
    digest_cadence: Mapped[str] = mapped_column(
        String(16), default=DigestCadence.WEEKLY.value, server_default="weekly"
    )
    meetings_per_year: Mapped[int] = mapped_column(default=2, server_default="2")


class BodyField(Base):
    """One field (Handlungsfeld) of a body whose scope is ``fields``."""

    __tablename__ = "body_field"

    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"), primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("field.id"), primary_key=True, index=True)


class CompositionRule(Base):
    """A rule: at least ``minimum`` current members who represent ``represents``."""

    __tablename__ = "body_composition_rule"
    __table_args__ = (UniqueConstraint("body_id", "represents"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"), index=True)
    represents: Mapped[str] = mapped_column(String(32))
    minimum: Mapped[int]


class BodyMember(Base):
    """One membership: a person in a body from ``joined_on`` until the day ``left_on``.

    ``joined_on`` NULL means "since before records began"; ``left_on`` NULL means current.
    A person who leaves and returns gets a second row; only one may be open at a time.
    """

    __tablename__ = "body_member"
    __table_args__ = (
        Index(
            "ix_body_member_open_email",
            "body_id",
            "email",
            unique=True,
            postgresql_where=text("left_on IS NULL"),
            sqlite_where=text("left_on IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(2), default="de", server_default="de")
    # "frau", "herr" or "" (not stated); emails greet accordingly (workflow/salutation.py).
    salutation: Mapped[str] = mapped_column(String(8), default="", server_default="")
    # NULL: not stated (rows from before bodies existed); such members count for no rule.
    represents: Mapped[str | None] = mapped_column(String(32))
    # The council group's or the town's name, or the organisation a member comes from.
    represents_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # The town a member of a district's body speaks for; its items reach that member too.
    represents_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id"), index=True
    )
    role: Mapped[str] = mapped_column(
        String(16), default=MemberRole.MEMBER.value, server_default="member"
    )
    deputy_of_id: Mapped[int | None] = mapped_column(ForeignKey("body_member.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    joined_on: Mapped[date | None]
    left_on: Mapped[date | None]
    # Digest bookkeeping of this membership (notifications/digest.py): the last regular
    # period decided for it (sent or skipped), when its last digest was queued, and what
    # that digest reported as open ({item key: escalation level}). "New" and "resolved"
    # are relative to these, so bodies and members never consume each other's items.
    digest_period: Mapped[str] = mapped_column(String(40), default="", server_default="")
    last_digest_at: Mapped[datetime | None]
    digest_reported: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")

    def is_current(self, day: date) -> bool:
        return (self.joined_on is None or self.joined_on <= day) and (
            self.left_on is None or self.left_on > day
        )


class Meeting(Base):
    """A meeting of a body: when and where, and the minutes' general part.

    Its agenda, guests and attendance live in ``workflow.meetings.models``.
    """

    __tablename__ = "meeting"
    __table_args__ = (UniqueConstraint("body_id", "held_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"), index=True)
    held_on: Mapped[date]
    title: Mapped[str] = mapped_column(String(200), default="")
    # Local wall-clock start "HH:MM" in the organisation's time zone; NULL: not fixed yet.
    starts_at: Mapped[str | None] = mapped_column(String(5))
    place: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # Minutes that belong to no single agenda item (opening, date of the next meeting …).
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
