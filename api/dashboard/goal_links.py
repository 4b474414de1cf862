"""The page ``/ziele/kreisziele``: a town's goals and the district goal each one serves.

Everyone signed in at a town of a district reads it; its coordinators change the links (one
select per goal, all saved together, or none when one is refused). For any other organisation
the page does not exist. The rules live in workflow/district/goal_links.py; texts in
api/locales/district2.*.json.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from api.csrf import require_csrf
from api.dashboard.common import flash, page, redirect
from api.dashboard.page_error import not_found
from api.deps import Coordinator, Reader, SessionDep, organisation_of
from api.i18n import language_of, translate
from workflow.accounts import User
from workflow.catalogue.models import Goal, Organisation
from workflow.district.goal_links import district_goals, district_of, link_goal
from workflow.reports.german import code_key

router = APIRouter(include_in_schema=False)
PATH = "/ziele/kreisziele"


def _t(request: Request) -> Callable[..., str]:
    lang = language_of(request)
    return lambda key, **values: translate(key, lang, **values)


def _town_and_district(session: SessionDep, user: User) -> tuple[Organisation, Organisation]:
    town = organisation_of(session, user)
    district = district_of(session, town)
    if district is None:
        raise not_found("entry", town)
    return town, district


def _goals(session: SessionDep, town: Organisation) -> list[Goal]:
    goals = session.scalars(select(Goal).where(Goal.organisation_id == town.id)).all()
    return sorted(goals, key=lambda g: code_key(g.code))


def _page(
    request: Request,
    session: SessionDep,
    user: User,
    town: Organisation,
    district: Organisation,
    *,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    targets = district_goals(session, district)
    codes = {g.id: g.code for g in targets}
    goals = _goals(session, town)
    return page(
        request,
        "dashboard/district_goal_links.html",
        user,
        status_code=status_code,
        t=_t(request),
        district=district,
        goals=goals,
        targets=targets,
        chosen={g.id: codes.get(g.district_goal_id or 0, "") for g in goals},
        problems=problems or [],
    )


@router.get(PATH, response_class=HTMLResponse)
def goal_links_page(request: Request, user: Reader, session: SessionDep) -> HTMLResponse:
    town, district = _town_and_district(session, user)
    return _page(request, session, user, town, district)


@router.post(PATH, response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
async def save_goal_links(request: Request, user: Coordinator, session: SessionDep) -> Response:
    town, district = _town_and_district(session, user)
    form = await request.form()
    # A goal added after the page was loaded sends nothing and stays as it is.
    sent = {
        goal: str(value)[:40].strip()
        for goal in _goals(session, town)
        if (value := form.get(f"goal-{goal.id}")) is not None
    }
    known = {g.code for g in district_goals(session, district)}
    lang = language_of(request)
    # Checked before any change, so a refused form changes nothing.
    problems = [
        translate("goal_link.error.unknown_district_goal", lang, code=code, district=district.name)
        for code in dict.fromkeys(sent.values())
        if code and code not in known
    ]
    if problems:
        return _page(request, session, user, town, district, problems=problems, status_code=422)
    for goal, code in sent.items():
        link_goal(session, goal=goal, district_goal_code=code)
    flash(request, "goal_link.saved")
    return redirect(PATH)
