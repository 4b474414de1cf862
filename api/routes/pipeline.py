"""JSON route of the pipeline statistics: counts by phase, field, department and overdue level."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import Reader, SessionDep, organisation_of, today_of
from api.routes.common import cycle_or_404, json_answer
from api.routes.schemas import ERRORS, MAX_ID, GroupOut, PipelineOut
from workflow.cycles import queries

router = APIRouter(prefix="/api/v1", tags=["pipeline"], responses=ERRORS)


@router.get("/pipeline", response_model=PipelineOut, summary="Zahlen zum Verfahrensstand")
def pipeline(
    user: Reader,
    session: SessionDep,
    cycle: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    department_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    field_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    goal_rank: Annotated[int | None, Query(ge=1, le=4)] = None,
) -> Response:
    the_cycle = cycle_or_404(session, user, cycle)
    counts = queries.pipeline_counts(
        session,
        cycle=the_cycle,
        today=today_of(organisation_of(session, user)),
        f=queries.ItemFilter(department_id=department_id, field_id=field_id, goal_rank=goal_rank),
    )
    return json_answer(
        PipelineOut(
            cycle_id=counts.cycle_id,
            year=counts.year,
            total=counts.total,
            by_state=counts.by_state,
            by_field=[GroupOut(**g.__dict__) for g in counts.by_field],
            by_department=[GroupOut(**g.__dict__) for g in counts.by_department],
            overdue_total=counts.overdue_total,
            overdue_by_level={str(k): v for k, v in sorted(counts.overdue_by_level.items())},
        )
    )
