"""JSON routes of cycles: list, open a year, delete an empty one, read and change its policy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import ValidationError
from sqlalchemy import select

from api.deps import Coordinator, Reader, SessionDep, actor_of
from api.errors import ApiError, Phrase
from api.i18n import reader_language
from api.routes.common import cycle_or_404
from api.routes.schemas import ERRORS, CycleOut, DeletedCycleOut, OpenCycleIn, OpenCycleOut
from workflow import messages, runtime
from workflow.cycles.models import Cycle
from workflow.cycles.removal import CycleNotEmpty, delete_empty_cycle
from workflow.cycles.service import CycleYearRefused, check_new_cycle_year, open_cycle
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
        lang = reader_language()
        details = [
            {
                "loc": list(e["loc"]),
                "code": e["type"],
                # Our own rules carry a code of workflow/messages.py; pydantic's own, English.
                "message": messages.message(e["type"], lang, **e.get("ctx", {}))
                if messages.has(e["type"], lang)
                else e["msg"],
            }
            for e in exc.errors()
        ]
        raise ApiError(
            422, "policy_invalid", details={"errors": details}, reason="api.policy_invalid"
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
            422, "policy_invalid", reason="api.policy_days_limit", params={"max": MAX_DAYS}
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
    clock = runtime.current().clock
    try:
        check_new_cycle_year(
            session=session,
            clock=clock,
            organisation_id=user.organisation_id,
            year=body.year,
            confirmed=body.confirm,
        )
    except CycleYearRefused as exc:
        first, last = exc.allowed[0], exc.allowed[-1]
        raise ApiError(
            422,
            exc.code,
            details={"year": exc.year, "allowed_years": list(exc.allowed)},
            reason="api.cycle_year_outside",
            params={"year": exc.year, "first": first, "last": last},
        ) from None
    result = open_cycle(
        session=session,
        clock=clock,
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


@router.delete(
    "/{year}",
    response_model=DeletedCycleOut,
    summary="Einen leeren Zyklus löschen (nur solange seit der Eröffnung nichts geschehen ist)",
)
def delete_cycle(year: Year, user: Coordinator, session: SessionDep) -> DeletedCycleOut:
    cycle = cycle_or_404(session, user, year)
    try:
        deleted = delete_empty_cycle(
            session=session,
            cycle_id=cycle.id,
            actor=actor_of(user),
            now=runtime.current().clock.now(),
        )
    except CycleNotEmpty as exc:
        # Each reason is worded with its count ("1 Antwort liegt vor", "2 Antworten liegen vor").
        reasons = [Phrase(f"api.cycle_not_empty.{r}", {"count": n}) for r, n in exc.reasons.items()]
        raise ApiError(
            409,
            exc.code,
            details={"year": exc.year, "reasons": exc.reasons},
            reason="api.cycle_not_empty",
            params={"year": exc.year, "reasons": reasons},
        ) from None
    return DeletedCycleOut(
        year=deleted.year, measures=deleted.measures, messages=deleted.messages, links=deleted.links
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
