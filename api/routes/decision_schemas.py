"""Request and response shapes of /api/v1/decisions; validation only, no database access.

Codes (kind, status, action, addressee) are the enums of workflow/decisions/models.py, so the
OpenAPI document lists every allowed value; the German label travels alongside.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.routes.schemas import Id, NoNul, OneLine
from workflow.decisions.models import Addressee, DecisionKind, DecisionStatus, ResolutionAction

Wording = Annotated[NoNul, StringConstraints(min_length=1, max_length=5000)]
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))]


class DecisionIn(BaseModel):
    """One decision of a meeting; the inputs its kind does not use are ignored."""

    model_config = ConfigDict(extra="forbid")
    meeting_id: Id
    kind: DecisionKind
    text: Wording = Field(description="Wortlaut; beim Änderungsvorschlag die Änderung")
    agenda_item_id: Id | None = None
    measure_cycle_id: Id | None = Field(
        default=None, description="Beschluss drop_measure/accept_review: die Maßnahme im Zyklus"
    )
    measure_id: Id | None = Field(
        default=None, description="Änderungsvorschlag, change_rank: die Maßnahme"
    )
    action: ResolutionAction = Field(
        default=ResolutionAction.NONE, description="nur beim Beschluss; leer: ohne Wirkung"
    )
    action_value: Annotated[OneLine, StringConstraints(max_length=200)] = Field(
        default="", description="change_rank: der neue Rang des Ziels (1–4)"
    )
    addressee: Addressee | None = Field(default=None, description="nur bei der Empfehlung")
    department_id: Id | None = Field(default=None, description="Empfehlung an einen Fachbereich")
    contact_id: Id | None = Field(default=None, description="Auftrag: wer ihn erhält")
    due_on: Day | None = Field(default=None, description="Auftrag: zu erledigen bis")


class DecisionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: DecisionStatus


class ChangesIn(BaseModel):
    """The measure's fields as the Änderungsvorschlag changes them; only those given change."""

    model_config = ConfigDict(extra="forbid")
    title: Annotated[OneLine, StringConstraints(min_length=1, max_length=500)] | None = None
    description: Annotated[NoNul, StringConstraints(max_length=20_000)] | None = None
    department_id: Id | None = None
    goal_id: Id | None = None
    contact_id: Id | None = Field(default=None, description="null: keine Ansprechperson")


class DecisionOut(BaseModel):
    id: int
    kind: DecisionKind
    kind_label: str
    status: DecisionStatus
    status_label: str
    text: str
    meeting_id: int
    held_on: date
    body_id: int
    body_name: str
    agenda_item_id: int | None
    agenda_title: str
    measure_id: int | None
    measure_code: str
    measure_title: str
    measure_cycle_id: int | None
    action: ResolutionAction
    action_value: str
    addressee: str
    department_id: int | None
    department_name: str
    contact_id: int | None
    contact_name: str
    due_on: date | None
    created_at: datetime
    applied_at: datetime | None
    status_changed_at: datetime | None
    answer: str
    answered_at: datetime | None
