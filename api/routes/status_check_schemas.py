"""Request and response shapes of /api/v1/status-checks; validation only, no database access.

The Stand of an answer is the enum of workflow/status_checks/models.py ("" while unanswered),
so the OpenAPI document lists every allowed value; the German label travels alongside.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.routes.schemas import OneLine

Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))]
Code = Annotated[OneLine, StringConstraints(max_length=32)]


class StatusCheckIn(BaseModel):
    """Which measures to ask about; the given parts all apply, none at all means every
    running measure with a contact."""

    model_config = ConfigDict(extra="forbid")
    field: Annotated[OneLine, StringConstraints(max_length=16)] = Field(
        default="", description="Code des Handlungsfelds, z. B. B"
    )
    goal: Annotated[OneLine, StringConstraints(max_length=16)] = Field(
        default="", description="Code des Ziels, z. B. B1"
    )
    department: Annotated[OneLine, StringConstraints(max_length=200)] = Field(
        default="", description="Name des Fachbereichs"
    )
    measure_codes: list[Code] = Field(
        default_factory=list, max_length=500, description="Codes einzelner Maßnahmen"
    )
    due_on: Day = Field(description="Antwort erbeten bis (höchstens ein Jahr voraus)")
    title: Annotated[OneLine, StringConstraints(max_length=200)] = ""
    cycle_year: Annotated[int, Field(ge=2000, le=2100)] | None = Field(
        default=None, description="Zyklus; ohne Angabe der neueste"
    )


class MilestoneOut(BaseModel):
    milestone_id: int
    text: str
    planned_on: date | None
    reached: bool
    new_date: date | None


class ItemOut(BaseModel):
    id: int
    measure_id: int
    measure_code: str
    measure_title: str
    stand: Literal["", "on_track", "delayed", "at_risk", "done"]
    stand_label: str
    note: str
    answered_at: datetime | None
    revision: int
    milestones: list[MilestoneOut]
    indicator_values: dict[str, Any]


class PartOut(BaseModel):
    """One contact's part: one email, one form, one reminder schedule."""

    id: int
    contact_id: int
    contact_name: str
    department_name: str
    due_on: date
    answered_at: datetime | None
    reminders_sent: int
    escalation_level: int
    overdue: bool
    items: list[ItemOut]


class StatusCheckOut(BaseModel):
    id: int
    title: str
    selection: dict[str, Any]
    selection_label: str
    origin: Literal["manual", "scheduled"]
    origin_label: str
    body_name: str
    due_on: date
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    closed: bool
    contacts_total: int
    contacts_answered: int
    contacts_overdue: int
    measures_total: int
    measures_answered: int


class StatusCheckDetail(StatusCheckOut):
    parts: list[PartOut]
