"""The pages ``/kreis``, ``/kreis/ziele`` and ``/kreis/{slug}``: a district's view of its towns,
read only.

Only readers of a district organisation see them; for everyone else (a town, a city) the
page does not exist, so a town's coordinator learns nothing about the district or a sibling
town. ``/kreis`` shows counts, status and indicators per town and summed; ``/kreis/ziele``
the towns' measures per district goal; ``/kreis/{slug}`` drills into one town, with no form:
the district cannot change a town's data. A town that shares counts only shows counts only.
Texts come from api/locales/district.*.json and district2.*.json.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from api.dashboard.common import page
from api.dashboard.page_error import not_found
from api.deps import Reader, SessionDep, organisation_of, today_of
from api.i18n import language_of, translate
from workflow import runtime
from workflow.catalogue.models import Organisation
from workflow.district.goal_links import measures_by_district_goal
from workflow.district.rollup import STATUS_KEYS, is_district, rollup, town_of
from workflow.district.town_view import town_view
from workflow.machine import State

router = APIRouter(include_in_schema=False)
Year = Annotated[int | None, Query(alias="jahr", ge=2000, le=2100)]
Slug = Annotated[str, Path(min_length=1, max_length=64)]


def _t(request: Request) -> Callable[..., str]:
    lang = language_of(request)
    return lambda key, **values: translate(key, lang, **values)


def _district(session: SessionDep, user: Reader) -> Organisation:
    district = organisation_of(session, user)
    if not is_district(district):
        raise not_found("district", district)
    return district


@router.get("/kreis", response_class=HTMLResponse)
def district_page(
    request: Request, user: Reader, session: SessionDep, year: Year = None
) -> HTMLResponse:
    district = _district(session, user)
    chosen = year or today_of(district).year
    found = rollup(session, district=district, year=chosen, now=runtime.current().clock.now())
    return page(
        request,
        "dashboard/district.html",
        user,
        t=_t(request),
        rollup=found,
        # Named apart: the indicator table leaves out the towns that share counts only.
        withheld=[r.name for r in found.rows if not r.shares],
        states=[s.value for s in State],
        stands=STATUS_KEYS,
        year=chosen,
    )


# Declared before ``/kreis/{slug}``, which would otherwise take "ziele" for a town.
@router.get("/kreis/ziele", response_class=HTMLResponse)
def district_goals_page(
    request: Request, user: Reader, session: SessionDep, year: Year = None
) -> HTMLResponse:
    district = _district(session, user)
    chosen = year or today_of(district).year
    rows = measures_by_district_goal(session, district, chosen, runtime.current().clock.now())
    return page(
        request, "dashboard/district_goals.html", user, t=_t(request), rows=rows, year=chosen
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
    view = town_view(
        session, district=district, town=town, year=chosen, now=runtime.current().clock.now()
    )
    return page(
        request,
        "dashboard/district_town.html",
        user,
        t=_t(request),
        town=town,
        view=view,
        counts=view.counts,
        states=[s.value for s in State],
        stands=STATUS_KEYS,
        year=chosen,
    )
