"""JSON routes of the catalogue: fields, goals, departments, contacts and measures.

Create, read, update and archive; nothing is ever deleted, because cycles and audit
trails point at these rows. Every reference must belong to the caller's organisation.
"""

# No ``from __future__ import annotations`` here: the routes below are built in a loop and
# FastAPI must see their body models as objects, not as names it cannot resolve.
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.deps import Coordinator, Reader, SessionDep, actor_of
from api.errors import ApiError
from api.routes.common import field_empty, not_found, unknown_reference
from api.routes.schemas import ERRORS, MAX_ID, Email, NoNul, OneLine
from workflow import runtime
from workflow.accounts import User
from workflow.catalogue import archive
from workflow.catalogue.archive import ArchivedKind
from workflow.catalogue.contact_edit import ContactEditRefused, update_contact
from workflow.catalogue.models import Contact, Department, Goal, Measure, MeasureStatus
from workflow.catalogue.models import Field as FieldRow
from workflow.db import Base
from workflow.forms.contact_links import contact_archived

router = APIRouter(prefix="/api/v1", tags=["catalogue"], responses=ERRORS)
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
Ref = Annotated[int, Field(ge=1, le=MAX_ID)]


# Codes, names and titles are one line; only a description may span several.
Code16 = Annotated[OneLine, Field(min_length=1, max_length=16)]
Code32 = Annotated[OneLine, Field(min_length=1, max_length=32)]
Name200 = Annotated[OneLine, Field(min_length=1, max_length=200)]
Name300 = Annotated[OneLine, Field(min_length=1, max_length=300)]
Name500 = Annotated[OneLine, Field(min_length=1, max_length=500)]
LongText = Annotated[NoNul, Field(max_length=20_000)]
Rank = Annotated[int, Field(ge=1, le=4)]
# How emails greet the person (workflow/salutation.py); "" for none or a function address.
Salutation = Literal["", "frau", "herr"]
_SALUTATION = "frau, herr oder leer (keine Angabe, z. B. bei einer Funktionsadresse)"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldIn(_In):
    code: Code16
    name: Name300


class FieldPatch(_In):
    code: Code16 | None = None
    name: Name300 | None = None


class FieldOut(BaseModel):
    id: int
    code: str
    name: str
    archived: bool


class GoalIn(_In):
    field_id: Ref
    code: Code16
    name: Name500
    rank: Rank


class GoalPatch(_In):
    field_id: Ref | None = None
    code: Code16 | None = None
    name: Name500 | None = None
    rank: Rank | None = None


class GoalOut(BaseModel):
    id: int
    field_id: int
    code: str
    name: str
    rank: int
    archived: bool


class DepartmentIn(_In):
    name: Name200


class DepartmentPatch(_In):
    name: Name200 | None = None


class DepartmentOut(BaseModel):
    id: int
    name: str
    archived: bool


class ContactIn(_In):
    department_id: Ref | None = None
    name: Name200
    email: Email
    language: Literal["de", "en"] = "de"
    salutation: Salutation = Field(default="", description=_SALUTATION)
    is_head: bool = False


class ContactPatch(_In):
    department_id: Ref | None = None
    name: Name200 | None = None
    email: Email | None = None
    language: Literal["de", "en"] | None = None
    salutation: Salutation | None = Field(default=None, description=_SALUTATION)
    is_head: bool | None = None


class ContactOut(BaseModel):
    id: int
    department_id: int | None
    name: str
    email: str
    language: str
    salutation: str
    is_head: bool
    archived: bool


class MeasureIn(_In):
    goal_id: Ref
    department_id: Ref
    contact_id: Ref | None = None
    code: Code32
    title: Name500
    description: LongText = ""


class MeasurePatch(_In):
    goal_id: Ref | None = None
    department_id: Ref | None = None
    contact_id: Ref | None = None
    code: Code32 | None = None
    title: Name500 | None = None
    description: LongText | None = None


class MeasureOut(BaseModel):
    id: int
    goal_id: int
    department_id: int
    contact_id: int | None
    code: str
    title: str
    description: str
    status: str
    archived: bool


# Which reference fields point at which table, checked to belong to the caller's organisation.
_REFERENCES: dict[str, type[Base]] = {
    "field_id": FieldRow,
    "goal_id": Goal,
    "department_id": Department,
    "contact_id": Contact,
}


def _check_references(session: Session, org_id: int, values: dict[str, Any]) -> None:
    for key, model in _REFERENCES.items():
        ref = values.get(key)
        if ref is None:
            continue
        row = session.get(model, ref)
        if row is None or row.organisation_id != org_id:  # type: ignore[attr-defined]
            raise unknown_reference(key, ref)


def _flush_unique(session: Session, kind: str) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ApiError(409, "duplicate", reason=f"api.duplicate.{kind}") from None


def _update_contact(session: Session, row: Contact, values: dict[str, Any], user: User) -> None:
    """A contact's PATCH; a new address ends the links sent to the old one and sends new ones."""
    try:
        update_contact(
            session, row, values, now=runtime.current().clock.now(), actor=actor_of(user)
        )
    except ContactEditRefused as exc:
        problem = exc.problems[0]
        if problem.code == "unknown_reference":
            raise unknown_reference(problem.setting, problem.params["value"]) from None
        raise ApiError(409, "duplicate", reason="api.duplicate.contact") from None


def _register(
    *,
    path: str,
    kind_code: str,
    label: str,
    model: type[Base],
    kind: ArchivedKind | None,
    create: type[_In],
    patch: type[_In],
    out: type[BaseModel],
) -> None:
    """Adds list, create, read, update and archive routes for one catalogue table.

    ``kind_code`` names the table in the error sentences (``api.not_found.<kind_code>``),
    which call a department by the reader's organisation's word; ``label`` is the German
    name in the OpenAPI summaries, one document for every organisation.
    """

    def archived_set(session: Session, org_id: int) -> set[int]:
        return archive.archived_ids(session, org_id, kind) if kind else set()

    def to_out(row: Any, archived: set[int]) -> BaseModel:
        data = {k: getattr(row, k) for k in out.model_fields if k != "archived"}
        is_archived = (
            row.status == MeasureStatus.ARCHIVED.value if kind is None else row.id in archived
        )
        return out(**data, archived=is_archived)

    def load(session: Session, org_id: int, record_id: int) -> Any:
        row = session.get(model, record_id)
        if row is None or row.organisation_id != org_id:  # type: ignore[attr-defined]
            raise not_found(kind_code, record_id)
        return row

    def list_rows(user: Reader, session: SessionDep, include_archived: bool = False) -> list[Any]:
        archived = archived_set(session, user.organisation_id)
        rows = session.scalars(
            select(model).where(model.organisation_id == user.organisation_id).order_by(model.id)  # type: ignore[attr-defined]
        )
        result = [to_out(r, archived) for r in rows]
        return [r for r in result if include_archived or not r.archived]  # type: ignore[attr-defined]

    def create_row(body: create, user: Coordinator, session: SessionDep) -> Any:  # type: ignore[valid-type]
        values = body.model_dump()  # type: ignore[attr-defined]
        _check_references(session, user.organisation_id, values)
        row = model(organisation_id=user.organisation_id, **values)
        session.add(row)
        _flush_unique(session, kind_code)
        return to_out(row, set())

    def read_row(record_id: RecordId, user: Reader, session: SessionDep) -> Any:
        return to_out(
            load(session, user.organisation_id, record_id),
            archived_set(session, user.organisation_id),
        )

    def update_row(record_id: RecordId, body: patch, user: Coordinator, session: SessionDep) -> Any:  # type: ignore[valid-type]
        row = load(session, user.organisation_id, record_id)
        values = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        for key in (
            "code",
            "name",
            "title",
            "email",
            "goal_id",
            "department_id",
            "field_id",
            "rank",
            "salutation",
        ):
            if key in values and values[key] is None:
                raise field_empty(key)
        if model is Contact:
            # The dashboard's contact page changes contacts through the same function.
            _update_contact(session, row, values, user)
        else:
            _check_references(session, user.organisation_id, values)
            for key, value in values.items():
                setattr(row, key, value)
            _flush_unique(session, kind_code)
        return to_out(row, archived_set(session, user.organisation_id))

    def archive_row(record_id: RecordId, user: Coordinator, session: SessionDep) -> Any:
        row = load(session, user.organisation_id, record_id)
        if kind is None:
            if row.status == MeasureStatus.ACTIVE.value:
                row.status = MeasureStatus.ARCHIVED.value
        else:
            now = runtime.current().clock.now()
            archived = archive.archive(
                session,
                organisation_id=user.organisation_id,
                kind=kind,
                record_id=row.id,
                now=now,
                actor=actor_of(user),
            )
            if archived and kind is ArchivedKind.CONTACT:
                # Its links, and every link handed on to it or from it, stop working.
                contact_archived(session=session, contact_id=row.id, now=now, actor=actor_of(user))
        session.flush()
        return to_out(row, archived_set(session, user.organisation_id))

    add: Callable[..., Any] = router.add_api_route
    add(f"/{path}", list_rows, methods=["GET"], response_model=list[out], summary=f"{label}: Liste")  # type: ignore[valid-type]
    add(
        f"/{path}",
        create_row,
        methods=["POST"],
        response_model=out,
        status_code=201,
        summary=f"{label}: anlegen",
    )
    add(
        f"/{path}/{{record_id}}",
        read_row,
        methods=["GET"],
        response_model=out,
        summary=f"{label}: lesen",
    )
    add(
        f"/{path}/{{record_id}}",
        update_row,
        methods=["PATCH"],
        response_model=out,
        summary=f"{label}: ändern",
    )
    add(
        f"/{path}/{{record_id}}/archive",
        archive_row,
        methods=["POST"],
        response_model=out,
        summary=f"{label}: archivieren",
    )
    for route in router.routes[-5:]:
        route.operation_id = f"{route.name}_{path}".replace("-", "_")  # type: ignore[attr-defined]


_register(
    path="fields",
    kind_code="field",
    label="Handlungsfeld",
    model=FieldRow,
    kind=ArchivedKind.FIELD,
    create=FieldIn,
    patch=FieldPatch,
    out=FieldOut,
)
_register(
    path="goals",
    kind_code="goal",
    label="Ziel",
    model=Goal,
    kind=ArchivedKind.GOAL,
    create=GoalIn,
    patch=GoalPatch,
    out=GoalOut,
)
_register(
    path="departments",
    kind_code="department",
    label="Fachbereich",
    model=Department,
    kind=ArchivedKind.DEPARTMENT,
    create=DepartmentIn,
    patch=DepartmentPatch,
    out=DepartmentOut,
)
_register(
    path="contacts",
    kind_code="contact",
    label="Ansprechperson",
    model=Contact,
    kind=ArchivedKind.CONTACT,
    create=ContactIn,
    patch=ContactPatch,
    out=ContactOut,
)
_register(
    path="measures",
    kind_code="measure",
    label="Maßnahme",
    model=Measure,
    kind=None,
    create=MeasureIn,
    patch=MeasurePatch,
    out=MeasureOut,
)
