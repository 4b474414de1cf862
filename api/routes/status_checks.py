"""JSON routes of the status checks (Sachstandsabfragen): everyone signed in reads, coordinators
start and close.

A refusal of the core (also closing a closed check) is 422 with its code, its sentence in
the reader's language and its parameters; a check of another organisation answers 404,
exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.deps import Coordinator, Reader, SessionDep, actor_of, organisation_of, today_of
from api.errors import ApiError
from api.i18n import reader_language, translate
from api.routes.schemas import ERRORS, MAX_ID
from api.routes.status_check_schemas import (
    ItemOut,
    MilestoneOut,
    PartOut,
    StatusCheckDetail,
    StatusCheckIn,
    StatusCheckOut,
)
from api.status_check_rows import CheckRow, PartRow, check_row, check_rows, measure_codes, parts_of
from api.status_check_text import NOT_FOUND, error_text, selection_text, stand_text
from workflow import runtime
from workflow.accounts import User
from workflow.status_checks.errors import StatusCheckRefused
from workflow.status_checks.selection import Selection
from workflow.status_checks.service import close_status_check, open_status_check

router = APIRouter(
    prefix="/api/v1/status-checks",
    tags=["status-checks"],
    responses=ERRORS,
    dependencies=[Depends(require_csrf)],  # cookie sessions must echo the token; tokens need not
)
StatusCheckId = Annotated[int, Path(ge=1, le=MAX_ID)]


@contextmanager
def refusals() -> Iterator[None]:
    """A refusal of the core as the API's error shape, in the reader's language."""
    try:
        yield
    except StatusCheckRefused as exc:
        if exc.code == NOT_FOUND:
            raise _not_found() from None
        details: dict[str, Any] = {k: str(v) for k, v in exc.params.items()}
        if exc.field:
            details["field"] = exc.field
        raise ApiError(422, exc.code, details=details, wording=partial(error_text, exc)) from None


def _not_found() -> ApiError:
    return ApiError(404, "not_found", wording=partial(translate, "status_checks.error.not_found"))


def _out(row: CheckRow, codes: dict[int, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "selection": row.selection,
        "selection_label": selection_text(row.selection, reader_language(), codes),
        "origin": row.origin,
        "origin_label": translate(f"status_checks.origin.{row.origin}", reader_language()),
        "body_name": row.body_name,
        "due_on": row.due_on,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "closed_at": row.closed_at,
        "closed": row.closed,
        "contacts_total": row.parts,
        "contacts_answered": row.answered_parts,
        "contacts_overdue": 0 if row.closed else row.overdue_parts,
        "measures_total": row.measures,
        "measures_answered": row.answered_measures,
    }


def _part(part: PartRow) -> PartOut:
    return PartOut(
        id=part.id,
        contact_id=part.contact_id,
        contact_name=part.contact_name,
        department_name=part.department_name,
        due_on=part.due_on,
        answered_at=part.answered_at,
        reminders_sent=part.action_step,
        escalation_level=part.escalation_level,
        overdue=part.overdue,
        items=[
            ItemOut(
                id=i.id,
                measure_id=i.measure_id,
                measure_code=i.measure_code,
                measure_title=i.measure_title,
                stand=i.stand,
                stand_label=stand_text(i.stand, reader_language()),
                note=i.note,
                answered_at=i.answered_at,
                revision=i.revision,
                milestones=[
                    MilestoneOut(
                        milestone_id=m.milestone_id,
                        text=m.text,
                        planned_on=m.due_on,
                        reached=m.reached,
                        new_date=m.new_date,
                    )
                    for m in i.milestones
                ],
                indicator_values=i.indicator_values,
            )
            for i in part.items
        ],
    )


def _detail(session: Session, user: User, status_check_id: int) -> StatusCheckDetail:
    today = today_of(organisation_of(session, user))
    row = check_row(
        session, organisation_id=user.organisation_id, status_check_id=status_check_id, today=today
    )
    if row is None:
        raise _not_found()
    parts = parts_of(session, status_check_id=row.id, today=today)
    return StatusCheckDetail.model_validate(
        _out(row, measure_codes(session, [row])) | {"parts": [_part(p) for p in parts]}
    )


@router.get("", response_model=list[StatusCheckOut], summary="Sachstandsabfragen, neueste zuerst")
def list_status_checks(
    user: Reader,
    session: SessionDep,
    state: Annotated[
        Literal["open", "closed"] | None,
        Query(description="open: laufende, closed: abgeschlossene; ohne Angabe alle"),
    ] = None,
) -> list[StatusCheckOut]:
    rows = check_rows(
        session,
        organisation_id=user.organisation_id,
        today=today_of(organisation_of(session, user)),
        state=state,
    )
    codes = measure_codes(session, rows)
    return [StatusCheckOut.model_validate(_out(r, codes)) for r in rows]


@router.post(
    "", response_model=StatusCheckDetail, status_code=201, summary="Sachstandsabfrage starten"
)
def start_status_check(
    payload: StatusCheckIn, user: Coordinator, session: SessionDep
) -> StatusCheckDetail:
    with refusals():
        check = open_status_check(
            session,
            clock=runtime.current().clock,
            organisation_id=user.organisation_id,
            selection=Selection(
                field=payload.field,
                goal=payload.goal,
                department=payload.department,
                measure_codes=tuple(payload.measure_codes),
            ),
            due_on=payload.due_on,
            actor=actor_of(user),
            title=payload.title,
            cycle_year=payload.cycle_year,
        )
    return _detail(session, user, check.id)


@router.get(
    "/{status_check_id}",
    response_model=StatusCheckDetail,
    summary="Eine Sachstandsabfrage mit den Antworten je Ansprechperson",
)
def read_status_check(
    status_check_id: StatusCheckId, user: Reader, session: SessionDep
) -> StatusCheckDetail:
    return _detail(session, user, status_check_id)


@router.post(
    "/{status_check_id}/close",
    response_model=StatusCheckDetail,
    summary="Sachstandsabfrage abschließen: keine Antworten und Korrekturen mehr",
)
def close_check(
    status_check_id: StatusCheckId, user: Coordinator, session: SessionDep
) -> StatusCheckDetail:
    with refusals():
        close_status_check(
            session,
            clock=runtime.current().clock,
            organisation_id=user.organisation_id,
            status_check_id=status_check_id,
            actor=actor_of(user),
        )
    return _detail(session, user, status_check_id)
