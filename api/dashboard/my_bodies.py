"""The page /mein-gremium (a member's own view of their bodies) and the "Sachstand erfragen" form.

A steering account sees, per body it currently sits in, the next meeting with its agenda and
pack, the open decisions and the escalated measures of the body's scope, each with a button
that asks the measure's contact for the status. Coordinators and admins, who sit in no body
as such, get a short explanation and the list of bodies. The form posts to
/massnahmen/{id}/sachstand from this page and from the measure page; a refusal shows the page
it came from again with the reason. Decides nothing itself: workflow/bodies/ does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.body_text import fmt_day
from api.csrf import require_csrf
from api.dashboard import measure as measure_page
from api.dashboard.common import RowId, flash, page, redirect
from api.dashboard.page_error import not_found
from api.dashboard.status_ask import BACK_TO_MY_BODIES
from api.deps import Reader, SessionDep, organisation_of, today_of
from api.i18n import language_of, translate
from api.routes.status_requests import refusal_status, refusal_text
from workflow import runtime
from workflow.accounts import User
from workflow.bodies.member_view import body_view
from workflow.bodies.queries import bodies_of
from workflow.bodies.scope_access import ACTING_ROLES, seats_of
from workflow.bodies.status_request import NOTE_LIMIT, StatusRequestRefused, request_status
from workflow.catalogue.models import Field

router = APIRouter(include_in_schema=False)
PAGE = "/mein-gremium"


def _words(request: Request) -> dict[str, Callable[..., str]]:
    lang = language_of(request)
    return {
        # Texts of api/locales/my_bodies.*.json; "_" stays the dashboard catalogue's (base.html).
        "t": lambda key, **values: translate(key, lang, **values),
        "day": lambda d: fmt_day(d, lang),
    }


def _field_names(session: Session, user: User) -> dict[int, str]:
    rows = session.execute(
        select(Field.id, Field.code, Field.name).where(
            Field.organisation_id == user.organisation_id
        )
    )
    return {fid: f"{code} {name}" for fid, code, name in rows}


def _page(
    request: Request,
    session: Session,
    user: User,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    today = today_of(organisation_of(session, user))
    views = [
        body_view(session, seat=seat, today=today, viewer_id=user.id)
        for seat in seats_of(session, user=user, day=today)
    ]
    context: dict[str, Any] = {
        "views": views,
        "acting": user.role in ACTING_ROLES,
        "all_bodies": bodies_of(session, organisation_id=user.organisation_id)
        if user.role in ACTING_ROLES
        else [],
        "field_names": _field_names(session, user),
        "today": today,
        "error": error,
        "back": BACK_TO_MY_BODIES,
        "note_limit": NOTE_LIMIT,
    }
    return page(
        request,
        "dashboard/my_bodies.html",
        user,
        status_code=status_code,
        **context,
        **_words(request),
    )


@router.get(PAGE, response_class=HTMLResponse)
def my_bodies_page(request: Request, user: Reader, session: SessionDep) -> HTMLResponse:
    return _page(request, session, user)


@router.post(
    "/massnahmen/{item_id}/sachstand",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def ask_for_status(
    request: Request, item_id: RowId, user: Reader, session: SessionDep
) -> Response:
    """Ask the measure's contact for the status; back to the page the form was on."""
    form = await request.form()
    from_page = str(form.get("back", "")) == BACK_TO_MY_BODIES
    try:
        with session.begin_nested():  # a refusal halfway leaves nothing behind
            request_status(
                session=session,
                clock=runtime.current().clock,
                measure_cycle_id=item_id,
                user=user,
                note=str(form.get("note", "")),
            )
    except StatusRequestRefused as exc:
        if exc.code == "measure_not_found":
            raise not_found("measure") from None
        text = refusal_text(exc, language_of(request), organisation_of(session, user).timezone)
        status = refusal_status(exc)
        if from_page:
            return _page(request, session, user, error=text, status_code=status)
        return measure_page._render(request, session, user, item_id, error=text, status_code=status)
    flash(request, "status_request.sent")
    return redirect(PAGE if from_page else f"/massnahmen/{item_id}")
