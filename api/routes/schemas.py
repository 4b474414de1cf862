"""Request and response shapes of the JSON API; validation only, no database access."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from workflow.cycles.queries import ItemRow
from workflow.machine import LABELS_DE, State

MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=MAX_ID)]


# Text may hold tabs and line breaks, nothing else invisible (PostgreSQL refuses NUL, a
# spreadsheet the noncharacters U+FFFE and U+FFFF); a name, code or address is one line: no
# line break may reach a mail header or a CSV cell.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _text(value: str) -> str:
    if _CONTROL_IN_TEXT.search(value):
        raise PydanticCustomError(
            "control_character", "Der Text enthält ein unzulässiges Steuerzeichen."
        )
    return value


def _one_line(value: str) -> str:
    if _CONTROL_IN_LINE.search(value):
        raise PydanticCustomError(
            "control_character",
            "Darf keinen Zeilenumbruch und kein anderes Steuerzeichen enthalten.",
        )
    return value


def _email(value: str) -> str:
    _one_line(value)
    if not _EMAIL.match(value):
        raise PydanticCustomError(
            "email_invalid", "Keine gültige E-Mail-Adresse (Beispiel: name@stadt.de)."
        )
    return value


# Lengths come from the columns (see Annotated[..., Field]).
NoNul = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_text)]
OneLine = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_one_line)]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=320), AfterValidator(_email)
]


class ErrorBody(BaseModel):
    code: str
    message: str = Field(description="für Menschen, auf Deutsch")
    details: Any = None


class ErrorOut(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (400, "Fehlerhafte Anfrage"),
        (401, "Nicht angemeldet"),
        (403, "Keine Berechtigung"),
        (404, "Nicht gefunden"),
        (409, "Konflikt"),
        (422, "Ungültige Eingaben"),
    )
}


class ItemOut(BaseModel):
    id: int
    cycle_id: int
    year: int
    state: str
    state_label: str
    version: int
    due_on: date | None
    overdue: bool
    days_overdue: int
    escalation_level: int
    measure_id: int
    measure_code: str
    measure_title: str
    goal_code: str
    goal_name: str
    goal_rank: int
    field_id: int
    field_code: str
    field_name: str
    department_id: int
    department_name: str
    contact_id: int | None
    contact_name: str | None
    contact_email: str | None

    @classmethod
    def of(cls, row: ItemRow) -> ItemOut:
        data = {k: getattr(row, k) for k in _FROM_ROW}
        return cls(**data, state_label=LABELS_DE[State(row.state)])


# ItemOut's fields that ItemRow holds (all but the label), named once rather than per row.
_FROM_ROW = tuple(
    k for k in ItemOut.model_fields if k in ItemRow.__dataclass_fields__ or hasattr(ItemRow, k)
)


class ItemDetailOut(ItemOut):
    allowed_events: list[str]


class ItemPage(BaseModel):
    items: list[ItemOut]
    total: int
    page: int
    page_size: int


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: Annotated[NoNul, Field(min_length=1, max_length=64)]
    version: Version
    payload: dict[str, Any] = Field(default_factory=dict)


class VersionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Version


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor: str
    event: str
    from_state: str | None
    to_state: str | None
    payload: dict[str, Any]


class GroupOut(BaseModel):
    id: int
    code: str
    name: str
    total: int
    overdue: int
    by_state: dict[str, int]


class PipelineOut(BaseModel):
    cycle_id: int
    year: int
    total: int
    by_state: dict[str, int]
    by_field: list[GroupOut]
    by_department: list[GroupOut]
    overdue_total: int
    overdue_by_level: dict[str, int] = Field(description="escalation level → overdue items")


class CycleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    year: int
    starts_on: date
    ends_on: date
    opened_at: datetime
    policy: dict[str, Any]


class OpenCycleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int = Field(ge=2000, le=2100)
    policy: dict[str, Any] | None = None
    confirm: bool = Field(
        default=False,
        description="Ein neues Jahr außerhalb von Vorjahr bis Folgejahr ausdrücklich eröffnen",
    )


class OpenCycleOut(BaseModel):
    cycle: CycleOut
    created: int
    carried_forward: int
    still_running: int
    already_open: int


class DeletedCycleOut(BaseModel):
    year: int
    measures: int
    messages: int
    links: int


class OutboxOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    channel: str
    status: str
    recipient_email: str
    recipient_name: str
    measure_cycle_id: int | None
    created_at: datetime
    not_before: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str


class OutboxPage(BaseModel):
    items: list[OutboxOut]
    total: int
    page: int
    page_size: int


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str
    name: str
    role: str
    active: bool


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    name: Annotated[OneLine, Field(max_length=200)] = ""
    role: Literal["coordinator", "steering", "admin"]
    password: Annotated[str, StringConstraints(min_length=12, max_length=200)]


# A coordinator accepts a meeting's worth of reviews at once; more than this in one
# transaction holds the row locks of too many measures for too long.
MAX_BATCH_ITEMS = 500


class BatchItemIn(TransitionIn):
    """One move of a batch: the single endpoint's body and the id of the measure-in-cycle."""

    id: Id


def _distinct_ids(items: list[BatchItemIn]) -> list[BatchItemIn]:
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise PydanticCustomError(
            "duplicate_id",
            "Jede Maßnahme darf im Stapel nur einmal vorkommen.",
        )
    return items


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: Annotated[
        list[BatchItemIn],
        Field(min_length=1, max_length=MAX_BATCH_ITEMS),
        AfterValidator(_distinct_ids),
    ]


class BatchItemOut(BaseModel):
    id: int
    state: str
    state_label: str
    version: int


class BatchOut(BaseModel):
    items: list[BatchItemOut]


class BatchItemError(BaseModel):
    index: int = Field(description="Position im Stapel, ab 0")
    id: int
    status: int = Field(description="was der einzelne Aufruf geantwortet hätte")
    code: str
    message: str = Field(description="für Menschen, in der Sprache der Anfrage")
    details: dict[str, Any]


class KeysetPage(BaseModel):
    """A page of ``GET /api/v1/measure-cycles``; ``total`` is null on pages asked by ``after``."""

    items: list[ItemOut]
    total: int | None = Field(description="Anzahl aller Treffer; null, wenn after angegeben ist")
    page: int
    page_size: int
    next: str | None = Field(
        description="Cursor der nächsten Seite (für after); null auf der letzten"
    )


class BatchRefusedDetails(BaseModel):
    items: list[BatchItemError] = Field(description="nur die abgelehnten Änderungen")


class BatchRefusedBody(BaseModel):
    code: Literal["batch_refused"]
    message: str = Field(description="für Menschen, in der Sprache der Anfrage")
    details: BatchRefusedDetails


class BatchRefusedOut(BaseModel):
    error: BatchRefusedBody
