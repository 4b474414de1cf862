"""JSON route of a district's view of its towns: ``GET /api/v1/district/rollup``, read only.

For readers of a district organisation; anyone else gets 404, as if the route named nothing
(a town learns nothing of its district or its siblings). Counts as on the page ``/kreis``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import Reader, SessionDep, organisation_of, today_of
from api.errors import ApiError
from api.routes.schemas import ERRORS
from workflow import runtime
from workflow.district.rollup import Row, is_district, rollup

router = APIRouter(prefix="/api/v1/district", tags=["district"], responses=ERRORS)


class RowOut(BaseModel):
    slug: str
    name: str
    is_district: bool
    year_open: bool
    total: int
    by_state: dict[str, int]
    overdue: int


class RollupOut(BaseModel):
    district: str
    year: int
    rows: list[RowOut]
    sum: RowOut


def _out(row: Row) -> RowOut:
    return RowOut(**row.__dict__)


@router.get("/rollup", response_model=RollupOut, summary="Kreis: Verfahrensstand je Kommune")
def district_rollup(
    user: Reader,
    session: SessionDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> RollupOut:
    district = organisation_of(session, user)
    if not is_district(district):
        raise ApiError(404, "not_found", reason="page.not_found.district")
    found = rollup(
        session,
        district=district,
        year=year or today_of(district).year,
        now=runtime.current().clock.now(),
    )
    return RollupOut(
        district=found.district_slug,
        year=found.year,
        rows=[_out(r) for r in found.rows],
        sum=_out(found.sum),
    )
