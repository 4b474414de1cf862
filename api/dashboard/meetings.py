"""The meeting pages: /gremien/{id}/sitzungen/neu (plan one) and /sitzungen/{id} (its page).

Everyone signed in reads; coordinators and admins plan and change. The forms of the meeting
page (agenda, guests, attendance, minutes) post to api/dashboard/meeting_forms.py. A refused
entry shows the page again with what was typed and the reason; nothing is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.body_text import error_status, error_text, fmt_day, plural
from api.csrf import require_csrf
from api.dashboard.body_forms import day_of, typed_values
from api.dashboard.common import RowId, flash, page, redirect
from api.dashboard.meeting_view import FREE_ITEMS, agenda_rows
from api.dashboard.page_error import not_found
from api.deps import Coordinator, Reader, SessionDep, organisation_of, today_of
from api.i18n import language_of, translate
from api.meeting_text import heading, kind_label, when
from workflow import runtime
from workflow.accounts import User
from workflow.bodies import queries as body_queries
from workflow.bodies.checks import LANGUAGES
from workflow.bodies.errors import BodyError
from workflow.bodies.models import Body, Meeting
from workflow.catalogue.models import Field
from workflow.meetings import guests, queries, service

router = APIRouter(include_in_schema=False)
MEETING_FIELDS = ("held_on", "starts_at", "place", "title")


def words(request: Request) -> dict[str, Callable[..., str]]:
    lang = language_of(request)
    return {
        # Texts of api/locales/meetings.*.json; "_" stays the dashboard catalogue's (base.html).
        "t": lambda key, **values: translate(key, lang, **values),
        "plural": lambda key, n, **values: plural(key, n, lang, **values),
        "day": lambda d: fmt_day(d, lang),
        "when": lambda m: when(m, lang),
        "kind": lambda k: kind_label(k, lang),
    }


def body_or_404(session: Session, user: User, body_id: int) -> Body:
    try:
        return body_queries.get_body(session, organisation_id=user.organisation_id, body_id=body_id)
    except BodyError:
        raise not_found("body") from None


def meeting_or_404(session: Session, user: User, meeting_id: int) -> Meeting:
    try:
        return queries.get_meeting(
            session, organisation_id=user.organisation_id, meeting_id=meeting_id
        )
    except BodyError:
        raise not_found("meeting") from None


# --- /gremien/{id}/sitzungen/neu ------------------------------------------------------------


def _new_page(
    request: Request,
    user: User,
    body: Body,
    *,
    typed: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "dashboard/meeting_new.html",
        user,
        status_code=status_code,
        body=body,
        typed=typed or {},
        error=error,
        **words(request),
    )


@router.get("/gremien/{body_id}/sitzungen/neu", response_class=HTMLResponse)
def new_meeting_page(
    request: Request, body_id: RowId, user: Coordinator, session: SessionDep
) -> HTMLResponse:
    return _new_page(request, user, body_or_404(session, user, body_id))


@router.post(
    "/gremien/{body_id}/sitzungen",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def create_meeting(
    request: Request, body_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    body = body_or_404(session, user, body_id)
    typed = typed_values(await request.form(), MEETING_FIELDS)
    try:
        held_on = day_of(typed["held_on"])
        if held_on is None:
            raise BodyError("meeting_date_required")
        with session.begin_nested():  # a refusal halfway leaves nothing behind
            meeting = service.add_meeting(
                session=session,
                body_id=body.id,
                organisation_id=user.organisation_id,
                held_on=held_on,
                starts_at=typed["starts_at"],
                place=typed["place"],
                title=typed["title"],
                now=runtime.current().clock.now(),
            )
    except BodyError as exc:
        return _new_page(
            request,
            user,
            body,
            typed=typed,
            error=error_text(exc, language_of(request)),
            status_code=error_status(exc) if not exc.not_found else 422,
        )
    flash(request, "meeting.created")
    return redirect(f"/sitzungen/{meeting.id}")


# --- /sitzungen/{id} ------------------------------------------------------------------------


def meeting_page(
    request: Request,
    session: Session,
    user: User,
    meeting: Meeting,
    *,
    error: str | None = None,
    failed: str | None = None,
    typed: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = language_of(request)
    detail = queries.meeting_detail(
        session, meeting=meeting, today=today_of(organisation_of(session, user))
    )
    rows, _ = agenda_rows(session, meeting, runtime.current().clock.now(), lang)
    fields = {
        f.id: f"{f.code} {f.name}"
        for f in session.scalars(select(Field).where(Field.organisation_id == user.organisation_id))
    }
    return page(
        request,
        "dashboard/meeting.html",
        user,
        status_code=status_code,
        d=detail,
        meeting=meeting,
        heading=heading(detail.body.name, meeting, lang),
        rows=rows,
        free_items=range(1, FREE_ITEMS + 1),
        proposed_guests=guests.proposed_guests(session, meeting=meeting),
        fields=fields,
        languages=list(LANGUAGES),
        error=error,
        failed=failed,
        typed=typed or {},
        **words(request),
    )


@router.get("/sitzungen/{meeting_id}", response_class=HTMLResponse)
def meeting_view(
    request: Request, meeting_id: RowId, user: Reader, session: SessionDep
) -> HTMLResponse:
    return meeting_page(request, session, user, meeting_or_404(session, user, meeting_id))


@router.post(
    "/sitzungen/{meeting_id}/angaben",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def change_meeting(
    request: Request, meeting_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    meeting = meeting_or_404(session, user, meeting_id)
    typed = typed_values(await request.form(), MEETING_FIELDS)
    try:
        held_on = day_of(typed["held_on"])
        if held_on is None:
            raise BodyError("meeting_date_required")
        with session.begin_nested():
            service.update_meeting(
                session=session,
                meeting=meeting,
                now=runtime.current().clock.now(),
                held_on=held_on,
                starts_at=typed["starts_at"],
                place=typed["place"],
                title=typed["title"],
            )
    except BodyError as exc:
        session.expire_all()  # show what is stored, not what the refused change set
        return meeting_page(
            request,
            session,
            user,
            meeting,
            error=error_text(exc, language_of(request)),
            failed="details",
            typed=typed,
            status_code=error_status(exc) if not exc.not_found else 422,
        )
    flash(request, "meeting.saved")
    return redirect(f"/sitzungen/{meeting.id}")
