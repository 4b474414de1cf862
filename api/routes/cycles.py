"""JSON routes of cycles: list, open a year, read and change its deadline policy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import ValidationError
from sqlalchemy import select

from api.deps import Coordinator, Reader, SessionDep, actor_of
from api.errors import ApiError
from api.routes.common import cycle_or_404
from api.routes.schemas import ERRORS, CycleOut, OpenCycleIn, OpenCycleOut
from workflow import runtime
from workflow.cycles.models import Cycle
from workflow.cycles.service import open_cycle
from workflow.deadlines import DeadlinePolicy

router = APIRouter(prefix="/api/v1/cycles", tags=["cycles"], responses=ERRORS)
Year = Annotated[int, Path(ge=2000, le=2100)]
# Upper bounds the policy model leaves open: beyond these a number is a typing error.
MAX_DAYS = 366


def checked_policy(raw: dict[str, Any]) -> DeadlinePolicy:
    """A DeadlinePolicy from JSON, or 422 saying which field is wrong (in German)."""
    try:
        policy = DeadlinePolicy.model_validate(raw)
    except ValidationError as exc:
        details = [{"loc": list(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        raise ApiError(
            422, "policy_invalid", "Die Fristenregel ist ungültig.", {"errors": details}
        ) from None
    days = [
        policy.interview_days,
        policy.agreement_days,
        policy.review_days,
        policy.assessment_days,
        policy.link_valid_days_after_due,
        *policy.reminder_offsets_days,
        *(s.days_overdue for s in policy.escalation_steps),
    ]
    if any(d > MAX_DAYS for d in days) or len(days) > 40:
        raise ApiError(
            422,
            "policy_invalid",
            f"Fristen und Versätze dürfen höchstens {MAX_DAYS} Tage betragen.",
        )
    return policy


@router.get("", response_model=list[CycleOut], summary="Alle Zyklen")
def list_cycles(user: Reader, session: SessionDep) -> list[CycleOut]:
    cycles = session.scalars(
        select(Cycle).where(Cycle.organisation_id == user.organisation_id).order_by(Cycle.year)
    )
    return [CycleOut.model_validate(c) for c in cycles]


@router.post("", response_model=OpenCycleOut, status_code=201, summary="Ein Jahr eröffnen")
def open_year(body: OpenCycleIn, user: Coordinator, session: SessionDep) -> OpenCycleOut:
    policy = checked_policy(body.policy) if body.policy is not None else None
    result = open_cycle(
        session=session,
        clock=runtime.current().clock,
        organisation_id=user.organisation_id,
        year=body.year,
        policy=policy,
        actor=actor_of(user),
    )
    cycle = session.get(Cycle, result.cycle_id)
    return OpenCycleOut(
        cycle=CycleOut.model_validate(cycle),
        created=result.created,
        carried_forward=result.carried_forward,
        still_running=result.still_running,
        already_open=result.already_open,
    )


@router.get("/{year}", response_model=CycleOut, summary="Ein Zyklus")
def get_cycle(year: Year, user: Reader, session: SessionDep) -> CycleOut:
    return CycleOut.model_validate(cycle_or_404(session, user, year))


@router.get("/{year}/policy", response_model=DeadlinePolicy, summary="Fristenregel des Zyklus")
def get_policy(year: Year, user: Reader, session: SessionDep) -> DeadlinePolicy:
    return DeadlinePolicy.model_validate(cycle_or_404(session, user, year).policy)


@router.put(
    "/{year}/policy",
    response_model=DeadlinePolicy,
    summary="Fristenregel ändern (gilt für jede künftig beginnende Frist)",
)
def put_policy(
    year: Year, body: dict[str, Any], user: Coordinator, session: SessionDep
) -> DeadlinePolicy:
    cycle = cycle_or_404(session, user, year)
    policy = checked_policy(body)
    cycle.policy = policy.model_dump(mode="json")
    return policy
