"""The pages ``/kreis`` and ``/kreis/{slug}``: a district's view of its towns, read only.

Only readers of a district organisation see them; for everyone else (a town, a city) the
page does not exist, so a town's coordinator learns nothing about the district or a sibling
town. ``/kreis/{slug}`` drills into one town: its counts by Handlungsfeld, department and
escalation level, with no form: the district cannot change a town's data.
Texts come from api/locales/district.*.json.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from api.dashboard.common import page
from api.dashboard.page_error import not_found
from api.deps import Reader, SessionDep, organisation_of, today_of
from api.i18n import language_of, translate
from workflow import runtime
from workflow.district.rollup import counts_of, is_district, rollup, town_of
from workflow.machine import State

router = APIRouter(include_in_schema=False)
Year = Annotated[int | None, Query(alias="jahr", ge=2000, le=2100)]
Slug = Annotated[str, Path(min_length=1, max_length=40)]


@router.get("/kreis", response_class=HTMLResponse)
def district_page(
    request: Request, user: Reader, session: SessionDep, year: Year = None
) -> HTMLResponse:
    district = organisation_of(session, user)
    if not is_district(district):
        raise not_found("district", district)
    chosen = year or today_of(district).year
    return page(
        request,
        "dashboard/district.html",
        user,
        t=lambda key, **values: translate(key, language_of(request), **values),
        rollup=rollup(session, district=district, year=chosen, now=runtime.current().clock.now()),
        states=[s.value for s in State],
        year=chosen,
    )


@router.get("/kreis/{slug}", response_class=HTMLResponse)
def town_page(
    request: Request, slug: Slug, user: Reader, session: SessionDep, year: Year = None
) -> HTMLResponse:
    district = organisation_of(session, user)
    town = town_of(session, district, slug) if is_district(district) else None
    if town is None:
        raise not_found("district" if not is_district(district) else "town", district)
    chosen = year or today_of(district).year
    return page(
        request,
        "dashboard/district_town.html",
        user,
        t=lambda key, **values: translate(key, language_of(request), **values),
        town=town,
        counts=counts_of(session, town, chosen, runtime.current().clock.now()),
        states=[s.value for s in State],
        year=chosen,
    )
