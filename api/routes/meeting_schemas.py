"""Request and response shapes of the meetings API; validation only, no database access.

Kinds of agenda items are the enum of workflow/meetings/models.py, so the OpenAPI document
lists every allowed value; German labels and reasons travel alongside.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.routes.body_schemas import Day, Language, Name
from api.routes.schemas import Email, Id, NoNul, OneLine
from workflow.meetings.models import AgendaKind

Time = Annotated[
    str, Field(pattern=r"^([01]?\d|2[0-3])[:.][0-5]\d$", description="SS:MM, z. B. 17:00")
]
Place = Annotated[OneLine, StringConstraints(max_length=300)]
Title = Annotated[OneLine, StringConstraints(max_length=200)]
ItemTitle = Annotated[OneLine, StringConstraints(min_length=1, max_length=300)]
Minutes = Annotated[NoNul, StringConstraints(max_length=20_000)]


class MeetingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    held_on: Day
    starts_at: Time | None = Field(default=None, description="leer: Uhrzeit noch offen")
    place: Place = ""
    title: Title = ""


class GuestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    email: Email
    language: Language = "de"
    field_id: Id | None = Field(default=None, description="das Handlungsfeld, zu dem er berichtet")
    contact_id: Id | None = None


class AttendanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: Id
    present: bool


class GuestAttendanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    present: bool


class MinutesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agenda_item_id: Id
    minutes: Minutes


class MeetingPatch(BaseModel):
    """Only what changes. ``guests`` replaces the list (a guest who stays keeps the record of
    attendance); attendance and minutes may be given from the meeting's day on."""

    model_config = ConfigDict(extra="forbid")
    held_on: Day | None = None
    starts_at: Time | None = None
    place: Place | None = None
    title: Title | None = None
    notes: Minutes | None = Field(default=None, description="allgemeiner Teil der Niederschrift")
    guests: list[GuestIn] | None = Field(default=None, max_length=200)
    attendance: list[AttendanceIn] | None = Field(default=None, max_length=500)
    guest_attendance: list[GuestAttendanceIn] | None = Field(default=None, max_length=200)
    minutes: list[MinutesIn] | None = Field(default=None, max_length=100)


class AgendaItemIn(BaseModel):
    """A sourced item names what it is about (the reference its kind needs); a free item has
    kind ``other``. ``id`` keeps a stored item, its minutes, and takes only title and place."""

    model_config = ConfigDict(extra="forbid")
    id: Id | None = None
    kind: AgendaKind = AgendaKind.OTHER
    title: ItemTitle
    field_id: Id | None = None
    measure_cycle_id: Id | None = None
    indicator_id: Id | None = None
    decision_id: Id | None = None


class AgendaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[AgendaItemIn] = Field(max_length=100, description="in der Reihenfolge der TOPs")


class AgendaItemOut(BaseModel):
    id: int
    position: int
    kind: AgendaKind
    kind_label: str
    title: str
    field_id: int | None
    measure_cycle_id: int | None
    indicator_id: int | None
    decision_id: int | None
    minutes: str


class ProposedItemOut(BaseModel):
    key: str = Field(description="z. B. field_report:3")
    kind: AgendaKind
    kind_label: str
    title: str
    field_id: int | None
    measure_cycle_id: int | None
    indicator_id: int | None
    decision_id: int | None
    reason: str = Field(description="Code des Anlasses")
    reason_text: str = Field(description="der Anlass in Worten, auf Deutsch")
    details: dict[str, str]
    on_agenda: bool = Field(description="steht bereits in der Tagesordnung")


class GuestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    email: str
    language: str
    field_id: int | None
    contact_id: int | None
    present: bool | None


class ProposedGuestOut(BaseModel):
    name: str
    email: str
    language: str
    field_id: int
    contact_id: int
    department: str


class AttendanceOut(BaseModel):
    member_id: int
    name: str
    present: bool | None = Field(description="null: nicht erfasst")


class MeetingOut(BaseModel):
    id: int
    body_id: int
    held_on: date
    starts_at: str | None
    place: str
    title: str
    agenda_items: int


class MeetingDetailOut(MeetingOut):
    body_name: str
    notes: str
    held: bool = Field(description="der Tag der Sitzung ist gekommen")
    agenda: list[AgendaItemOut]
    guests: list[GuestOut]
    proposed_guests: list[ProposedGuestOut]
    attendance: list[AttendanceOut]
