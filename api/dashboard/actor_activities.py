"""The coordinator's page ``/aktivitaeten?jahr=2027``: per goal the actors and what they
reported, the count of actors, and "Anzahl als Kennzahl übernehmen" into a chosen indicator.

Reads and writes through workflow/conference/activities.py; a refusal shows the page again
with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.dashboard.common import flash, page, redirect
from api.deps import Coordinator, Reader, SessionDep, actor_of, organisation_of, today_of
from api.i18n import language_of, translate
from workflow import runtime
from workflow.accounts import User
from workflow.conference.activities import (
    PATH,
    ActivityRefused,
    actor_count,
    directory_size,
    goals_of,
    record_actor_count,
    reports_by_goal,
    takes_count,
)
from workflow.indicators.models import Indicator

router = APIRouter(include_in_schema=False)
Year = Annotated[int | None, Query(alias="jahr", ge=2000, le=2100)]


def _t(request: Request) -> Callable[..., str]:
    lang = language_of(request)
    return lambda key, **values: translate(key, lang, **values)


def _indicators(session: Session, organisation_id: int) -> list[Indicator]:
    """Indicators the count can go into (``takes_count``)."""
    rows = session.scalars(
        select(Indicator)
        .where(Indicator.organisation_id == organisation_id, Indicator.active.is_(True))
        .order_by(Indicator.code)
    )
    return [indicator for indicator in rows if takes_count(indicator)]


def _page(
    request: Request,
    session: Session,
    user: User,
    year: int,
    *,
    error: str = "",
    chosen: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    org_id = user.organisation_id
    by_goal = reports_by_goal(session, org_id, year)
    goals = [(goal, by_goal.get(goal.id, [])) for goal in goals_of(session, org_id)]
    context: dict[str, Any] = {
        "year": year,
        "goals": goals,
        "count": actor_count(session, org_id, year),
        "directory": directory_size(session, org_id),
        "indicators": _indicators(session, org_id),
        "chosen": chosen,
        "error": error,
        # The same path as the page: one segment more would be an actor's link.
        "action": f"{PATH}?jahr={year}",
        "t": _t(request),
    }
    return page(
        request, "dashboard/actor_activities.html", user, status_code=status_code, **context
    )


@router.get(PATH, response_class=HTMLResponse)
def activities_page(
    request: Request, user: Reader, session: SessionDep, year: Year = None
) -> HTMLResponse:
    shown = year or today_of(organisation_of(session, user)).year - 1
    return _page(request, session, user, shown)


@router.post(PATH, response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
async def take_count(
    request: Request, user: Coordinator, session: SessionDep, year: Year = None
) -> Response:
    """Write the year's count as the chosen indicator's value of 31.12."""
    form = await request.form()
    code = str(form.get("kennzahl", "")).strip()
    shown = year or today_of(organisation_of(session, user)).year - 1
    t = _t(request)
    if not code:
        return _page(
            request,
            session,
            user,
            shown,
            error=t("actor_activities.error.no_indicator"),
            status_code=422,
        )
    try:
        with session.begin_nested():
            record_actor_count(
                session,
                organisation_id=user.organisation_id,
                indicator_code=code,
                year=shown,
                actor=actor_of(user),
                actor_name=user.name or user.email,
                now=runtime.current().clock.now(),
            )
    except ActivityRefused as refused:
        text = t(f"actor_activities.error.{refused.code}", **refused.params)
        return _page(request, session, user, shown, error=text, chosen=code, status_code=422)
    flash(request, "actor_activities.taken")
    return redirect(f"{PATH}?jahr={shown}")
