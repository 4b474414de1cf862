"""POST /api/v1/measure-cycles/{id}/status-request: ask a measure's contact for the status.

Members of a body whose scope covers the measure, coordinators and admins may ask; the domain
(workflow/bodies/status_request.py) decides and names a refusal by its code, and this module
words it (``refusal_text``, used by the dashboard too). A measure of another organisation
answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api import formats
from api.csrf import require_csrf
from api.deps import Reader, SessionDep, organisation_of
from api.errors import ApiError
from api.i18n import translate
from api.routes.schemas import ERRORS, MAX_ID
from workflow import runtime
from workflow.bodies.status_request import EVENT, StatusRequestRefused, request_status
from workflow.cycles.models import AuditEvent

router = APIRouter(
    prefix="/api/v1/measure-cycles",
    tags=["measure-cycles"],
    responses=ERRORS,
    dependencies=[Depends(require_csrf)],  # cookie sessions must echo the token; tokens need not
)
ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="id of the measure-in-cycle")]
STATUS = {
    "measure_not_found": 404,
    "not_allowed": 403,
    "no_contact": 409,
    "already_requested": 409,
    "note_too_long": 422,
    "note_control_character": 422,
}


class StatusRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(
        default="",
        description="kurzer Hinweis an die Ansprechperson, höchstens 1000 Zeichen "
        "(Zeilenumbrüche erlaubt, andere Steuerzeichen nicht)",
    )


class StatusRequestOut(BaseModel):
    measure_cycle_id: int
    requested_at: datetime
    contact_name: str = Field(description="wer gefragt wird")
    body_name: str = Field(description="für welches Gremium gefragt wird; leer: Koordinierung")
    note: str


def refusal_text(exc: StatusRequestRefused, lang: str, timezone: str) -> str:
    """The refusal in the reader's language; a moment is shown in the organisation's time."""
    params: dict[str, object] = dict(exc.params)
    if "at" in params:
        local = datetime.fromisoformat(str(params.pop("at"))).astimezone(ZoneInfo(timezone))
        params["day"] = formats.day(local.date(), lang)
        params["time"] = local.strftime("%H:%M")
    return translate(f"status_request.error.{exc.code}", lang, **params)


def _worded(exc: StatusRequestRefused, timezone: str) -> Callable[[str], str]:
    """The refusal's sentence in whichever language the reader turns out to read."""
    return lambda lang: refusal_text(exc, lang, timezone)


def refusal_status(exc: StatusRequestRefused) -> int:
    return STATUS.get(exc.code, 422)


@router.post(
    "/{item_id}/status-request",
    response_model=StatusRequestOut,
    status_code=201,
    summary="Sachstand bei der Ansprechperson erfragen (E-Mail und Eintrag im Verlauf)",
)
def ask_for_status(
    item_id: ItemId, body: StatusRequestIn, user: Reader, session: SessionDep
) -> StatusRequestOut:
    try:
        request_status(
            session=session,
            clock=runtime.current().clock,
            measure_cycle_id=item_id,
            user=user,
            note=body.note,
        )
    except StatusRequestRefused as exc:
        timezone = organisation_of(session, user).timezone
        raise ApiError(
            refusal_status(exc),
            exc.code,
            details=exc.params,
            wording=_worded(exc, timezone),
        ) from None
    event = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.measure_cycle_id == item_id,
            AuditEvent.event == EVENT,
            AuditEvent.actor == f"user:{user.id}",
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).one()
    return StatusRequestOut(
        measure_cycle_id=item_id,
        requested_at=event.at,
        contact_name=str(event.payload.get("contact", "")),
        body_name=str(event.payload.get("body", "")),
        note=str(event.payload.get("note", "")),
    )
