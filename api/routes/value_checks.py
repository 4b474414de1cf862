"""JSON routes of the Monitoringgruppe's checks of indicator values.

Everyone signed in reads the values not yet checked; coordinators, admins and current
members of a Monitoringgruppe record a step (geprüft / bestätigt / korrigiert). A refusal
of the core is 422 with its code and its sentence in the reader's language; a value of
another organisation answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from api.csrf import require_csrf
from api.deps import Reader, SessionDep, actor_of, organisation_of, today_of
from api.errors import ApiError
from api.routes.schemas import ERRORS, MAX_ID
from workflow import runtime
from workflow.indicators.checks import (
    MAX_NOTE,
    CheckRefused,
    ValueRow,
    check_value,
    data_status,
    may_check,
)

router = APIRouter(
    prefix="/api/v1/indicator-values",
    tags=["indicators"],
    responses=ERRORS,
    dependencies=[Depends(require_csrf)],  # cookie sessions must echo the token; tokens need not
)
ValueId = Annotated[int, Path(ge=1, le=MAX_ID)]
Figure = Annotated[float | None, Field(default=None, allow_inf_nan=False)]


class UncheckedOut(BaseModel):
    id: int
    indicator_code: str
    statement: str
    unit: str
    survey_date: date
    district: str
    value: float | None
    flagged: bool
    flag_reason: str
    delivered_at: datetime


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["checked", "confirmed", "corrected"]
    note: str = Field(default="", max_length=MAX_NOTE)
    # Only with "corrected": the right value, or for a computed indicator its base figures.
    value: Figure = None
    numerator: Figure = None
    denominator: Figure = None
    population_share: Figure = None


class CheckOut(BaseModel):
    id: int
    check_state: str
    revision: int
    value: float | None


def _checker(user: Reader, session: SessionDep) -> None:
    """Who may check, decided before the body is read: a reader outside the Monitoringgruppe
    hears "forbidden", not what was wrong with a body they may not send at all."""
    if not may_check(session, user=user, day=today_of(organisation_of(session, user))):
        raise ApiError(403, "forbidden", reason="http.forbidden")


def _out(row: ValueRow, flagged: bool) -> UncheckedOut:
    fields = asdict(row)
    return UncheckedOut(id=fields.pop("value_id"), flagged=flagged, **fields)


@router.get(
    "/unchecked",
    response_model=list[UncheckedOut],
    summary="Kennzahlenwerte: noch nicht geprüft (auffällige zuerst)",
)
def unchecked_values(user: Reader, session: SessionDep) -> list[UncheckedOut]:
    today = today_of(organisation_of(session, user))
    status = data_status(session, user.organisation_id, today)
    return [_out(r, True) for r in status.flagged] + [_out(r, False) for r in status.unchecked]


@router.post(
    "/{value_id}/check",
    response_model=CheckOut,
    summary="Kennzahlenwert: geprüft, bestätigt oder korrigiert",
    dependencies=[Depends(_checker)],
)
def check(value_id: ValueId, body: CheckIn, user: Reader, session: SessionDep) -> CheckOut:
    try:
        checked = check_value(
            session=session,
            organisation_id=user.organisation_id,
            value_id=value_id,
            state=body.state,
            by=actor_of(user),
            now=runtime.current().clock.now(),
            note=body.note,
            corrected_value=body.value,
            numerator=body.numerator,
            denominator=body.denominator,
            population_share=body.population_share,
        )
    except CheckRefused as exc:
        raise _refusal(exc) from None
    return CheckOut(
        id=checked.value_id,
        check_state=checked.state,
        revision=checked.revision,
        value=checked.value,
    )


def _refusal(exc: CheckRefused) -> ApiError:
    status = 404 if exc.code == "indicator.check_not_found" else 422
    code = "not_found" if status == 404 else exc.code.removeprefix("indicator.")
    details: dict[str, Any] = {k: str(v) for k, v in exc.params.items()}
    if exc.field:
        details["field"] = exc.field
    return ApiError(status, code, details=details, reason=exc.code, params=exc.params)
