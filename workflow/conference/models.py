"""Tables of the Integrationskonferenz and its directory of actors.

An actor (Träger, migrant organisation, association, religious community, the press) is not
a department contact: it has no measures, only a contact person and the consents it gave.
Nothing is sent to an actor without a live consent for that purpose. The survey on the day
is anonymous: a response knows its conference and a hash of the device's cookie, nothing
about a person.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.db import Base


class ActorKind(StrEnum):
    PROVIDER = "provider"  # Träger
    MIGRANT_ORGANISATION = "migrant_organisation"  # Migrantenorganisation
    ASSOCIATION = "association"  # Verein, Verband
    RELIGIOUS_COMMUNITY = "religious_community"  # Religionsgemeinschaft
    PRESS = "press"  # Presse
    OTHER = "other"


class ConsentPurpose(StrEnum):
    INVITATIONS = "invitations"  # Einladungen zur Integrationskonferenz
    ACTIVITY_REPORTS = "activity_reports"  # Abfrage der eigenen Aktivitäten je Ziel


class InvitationStatus(StrEnum):
    INVITED = "invited"
    REGISTERED = "registered"  # angemeldet
    DECLINED = "declined"  # abgesagt


class QuestionKind(StrEnum):
    SCALE = "scale"  # five points, labelled per question
    TEXT = "text"  # free text, e.g. "Was ist gut gelaufen?" for one field


class ActorTokenPurpose(StrEnum):
    # Opens one invitation: register, decline, unsubscribe from invitations.
    INVITATION = "invitation"
    # Opens one actor's activity report for one year.
    ACTIVITY_REPORT = "activity_report"


class Actor(Base):
    __tablename__ = "actor"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(24))
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(2), default="de")
    created_at: Mapped[datetime]
    archived_at: Mapped[datetime | None]


class ActorConsent(Base):
    """One consent an actor gave for one purpose: when, how, recorded by whom; withdrawable.
    A withdrawn consent stays as the record of what was allowed until when."""

    __tablename__ = "actor_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actor.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(24))
    given_on: Mapped[date]
    # How it was given: "schriftlich", "per E-Mail vom …", "mündlich bei …".
    how: Mapped[str] = mapped_column(String(300))
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_how: Mapped[str] = mapped_column(String(300), default="")


class Conference(Base):
    __tablename__ = "conference"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    held_on: Mapped[date]
    # e.g. "14:00 bis 18:00 Uhr"; free text, the day is what counts.
    time_label: Mapped[str] = mapped_column(String(100), default="")
    place: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # The short link's code (/k/<code>): random, unguessable enough to keep strangers out of
    # a small room's survey, short enough to type from a projected slide.
    survey_code: Mapped[str] = mapped_column(String(16), unique=True)
    survey_opens_at: Mapped[datetime | None]
    survey_closes_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))

    questions: Mapped[list[ConferenceQuestion]] = relationship(
        order_by="ConferenceQuestion.position", cascade="all, delete-orphan"
    )


class ConferenceQuestion(Base):
    __tablename__ = "conference_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conference.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    # A scale question feeds this survey indicator's value of the conference's day.
    indicator_id: Mapped[int | None] = mapped_column(ForeignKey("indicator.id"), index=True)
    # A free-text question belongs to a Handlungsfeld.
    field_id: Mapped[int | None] = mapped_column(ForeignKey("field.id"), index=True)
    # Five labels, from scale point 1 to 5, e.g. "sehr wichtig" … "überhaupt nicht wichtig".
    scale_labels: Mapped[list[str]] = mapped_column(JSON, default=list)


class ConferenceInvitation(Base):
    __tablename__ = "conference_invitation"
    __table_args__ = (UniqueConstraint("conference_id", "actor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conference.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actor.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=InvitationStatus.INVITED)
    invited_at: Mapped[datetime]
    invited_by: Mapped[str] = mapped_column(String(200))
    answered_at: Mapped[datetime | None]
    participants: Mapped[int] = mapped_column(default=0)
    remark: Mapped[str] = mapped_column(Text, default="")


class ActorToken(Base):
    """An emailed link for an actor: 256-bit random, stored only as its SHA-256 hash."""

    __tablename__ = "actor_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actor.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(24))
    conference_id: Mapped[int | None] = mapped_column(ForeignKey("conference.id"), index=True)
    # The report year, for purpose "activity_report".
    year: Mapped[int | None]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class SurveyResponse(Base):
    """One device's answers to one conference's survey; the device is known only by the
    hash of a random cookie value, so one device answers once and nobody is identified."""

    __tablename__ = "survey_response"
    __table_args__ = (UniqueConstraint("conference_id", "device_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conference.id"), index=True)
    device_hash: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime]


class SurveyAnswer(Base):
    __tablename__ = "survey_answer"
    __table_args__ = (UniqueConstraint("response_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_response.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("conference_question.id"), index=True)
    # 1..5 for a scale question; None for free text or "keine Angabe".
    scale_value: Mapped[int | None]
    text: Mapped[str] = mapped_column(Text, default="")


class ActorActivity(Base):
    """What an actor reported doing for one goal in one year (seed 004, C-K1)."""

    __tablename__ = "actor_activity"
    __table_args__ = (
        UniqueConstraint("actor_id", "goal_id", "year"),
        Index("ix_actor_activity_organisation_year", "organisation_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actor.id"), index=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goal.id"), index=True)
    year: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime]
