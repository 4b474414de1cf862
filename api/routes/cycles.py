"""JSON routes of cycles: list, open a year, delete an empty one, read and change its policy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import ValidationError
from sqlalchemy import select

from api.deps import Coordinator, Reader, SessionDep, actor_of
from api.errors import ApiError
from api.routes.common import cycle_or_404
from api.routes.schemas import ERRORS, CycleOut, DeletedCycleOut, OpenCycleIn, OpenCycleOut
from workflow import runtime
from workflow.cycles.models import Cycle
from workflow.cycles.removal import CycleNotEmpty, delete_empty_cycle
from workflow.cycles.service import CycleYearRefused, check_new_cycle_year, open_cycle
from workflow.deadlines import DeadlinePolicy

router = APIRouter(prefix="/api/v1/cycles", tags=["cycles"], responses=ERRORS)
Year = Annotated[int, Path(ge=2000, le=2100)]
# Upper bounds the policy model leaves open: beyond these a number is a typing error.
MAX_DAYS = 366
# Why a cycle is not empty, as (one, several) for the refusal's sentence.
NOT_EMPTY = {
    "moved": (
        "1 Maßnahme hat seit der Eröffnung die Phase gewechselt oder wurde bearbeitet",
        "{n} Maßnahmen haben seit der Eröffnung die Phase gewechselt oder wurden bearbeitet",
    ),
    "answers": ("1 Antwort liegt vor", "{n} Antworten liegen vor"),
    "drafts": ("1 Formular wurde begonnen", "{n} Formulare wurden begonnen"),
    "carried_forward": (
        "1 Maßnahme wurde aus dem Vorjahr übernommen",
        "{n} Maßnahmen wurden aus dem Vorjahr übernommen",
    ),
    "references": ("andere Daten verweisen auf den Zyklus", "andere Daten verweisen auf den Zyklus"),
}


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
            f"Das Jahr {exc.year} liegt außerhalb der Jahre {first} bis {last}. Ein anderes "
            'Jahr lässt sich nur mit Bestätigung eröffnen ("confirm": true).',
            {"year": exc.year, "allowed_years": list(exc.allowed)},
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
        reasons = "; ".join(
            NOT_EMPTY[r][0 if n == 1 else 1].format(n=n) for r, n in exc.reasons.items()
        )
        raise ApiError(
            409,
            exc.code,
            f"Der Zyklus {exc.year} kann nicht gelöscht werden: {reasons}. Löschen lässt sich "
            "nur ein Zyklus, in dem seit der Eröffnung nichts geschehen ist.",
            {"year": exc.year, "reasons": exc.reasons},
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
