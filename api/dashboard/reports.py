"""The reports page (/berichte): every cycle's reports and answer exports as links; reads only.

The links lead to the JSON API's report routes, which accept the signed-in session as well,
so a report opened here is byte for byte the one a script downloads.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from api.dashboard.common import page
from api.deps import Reader, SessionDep, organisation_of, today_of
from workflow.bodies.models import Body, BodyKind, Meeting
from workflow.bodies.scope_access import may_ask
from workflow.catalogue.models import Field
from workflow.cycles.models import Cycle

router = APIRouter(include_in_schema=False)


@router.get("/berichte", response_class=HTMLResponse)
def reports(request: Request, user: Reader, session: SessionDep) -> HTMLResponse:
    years = list(
        session.scalars(
            select(Cycle.year)
            .where(Cycle.organisation_id == user.organisation_id)
            .order_by(Cycle.year.desc())
        )
    )
    meetings = session.execute(
        select(Meeting.held_on, Meeting.title, Body.name)
        .join(Body, Body.id == Meeting.body_id)
        .where(
            Body.organisation_id == user.organisation_id,
            Body.kind == BodyKind.STEERING_GROUP.value,  # the meeting pack is theirs
        )
        .order_by(Meeting.held_on.desc(), Body.name)
    ).all()
    today = today_of(organisation_of(session, user))
    upcoming = [m.held_on for m in meetings if m.held_on >= today]
    # The status sheet's fields: those the reader may see (api/dashboard/status_sheet.py).
    fields = [
        f
        for f in session.scalars(
            select(Field).where(Field.organisation_id == user.organisation_id).order_by(Field.code)
        ).all()
        if may_ask(session, user=user, field_id=f.id, day=today)
    ]
    return page(
        request,
        "dashboard/reports.html",
        user,
        years=years,
        meetings=meetings,
        sheet_fields=fields,
        next_meeting=min(upcoming) if upcoming else today,
        year_of=lambda day: cycle_year_for(day, years),
    )


def cycle_year_for(day: date, years: list[int]) -> int | None:
    """The cycle a meeting on ``day`` most likely looks at: the latest one begun by then."""
    begun = [y for y in years if y <= day.year]
    return max(begun) if begun else min(years, default=None)
