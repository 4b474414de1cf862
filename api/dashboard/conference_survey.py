"""The coordinator's page of a conference's survey: ``/konferenzen/{id}/befragung``.

Shows the short link and its QR code (also as ``/konferenzen/{id}/qr.svg`` for a slide),
opens and closes the survey, sets up its questions (a scale per survey indicator) and shows
the results: counts and mean per question, the free texts per field. Reads for everyone
signed in; the actions are the coordinator's. Texts: ``api/locales/conference_survey.*.json``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.dashboard.common import RowId, flash, page, redirect
from api.dashboard.page_error import not_found
from api.deps import Coordinator, Reader, SessionDep
from api.i18n import language_of, translate
from workflow import runtime
from workflow.accounts import User
from workflow.conference.models import Conference
from workflow.conference.survey import (
    FREQUENCY,
    IMPORTANCE,
    SurveyRefused,
    close_survey,
    open_survey,
    results,
    set_up_questions,
    state_of,
    survey_indicators,
)
from workflow.indicators.mail import format_number

router = APIRouter(include_in_schema=False)
SCALES = {"importance": IMPORTANCE, "frequency": FREQUENCY}


def _translator(request: Request) -> Callable[..., str]:
    lang = language_of(request)
    return lambda key, **values: translate(key, lang, **values)


def _conference(session: Session, user: User, conference_id: int) -> Conference:
    conference = session.get(Conference, conference_id)
    if conference is None or conference.organisation_id != user.organisation_id:
        raise not_found("entry")
    return conference


def short_link(conference: Conference) -> str:
    """From the configured base URL, never from the request's Host header."""
    return f"{runtime.current().settings.base_url.rstrip('/')}/k/{conference.survey_code}"


def _qr(conference: Conference) -> segno.QRCode:
    return segno.make(short_link(conference), error="m", micro=False)


@router.get("/konferenzen/{conference_id}/befragung", response_class=HTMLResponse)
def survey_page(
    request: Request, conference_id: RowId, user: Reader, session: SessionDep
) -> HTMLResponse:
    conference = _conference(session, user, conference_id)
    t, lang = _translator(request), language_of(request)
    found = results(session, conference)
    labels = {q.indicator_id: q.scale_labels for q in conference.questions if q.indicator_id}
    qr = _qr(conference).svg_inline(
        scale=5, border=2, title=t("survey_admin.qr_title"), svgclass="qr", omitsize=False
    )
    return page(
        request,
        "dashboard/conference_survey.html",
        user,
        t=t,
        conference=conference,
        state=state_of(conference, runtime.current().clock.now()).value,
        link=short_link(conference),
        # segno writes the SVG from the link alone: nothing of a person's input reaches it.
        qr=Markup(qr),
        results=found,
        mean=lambda value: format_number(value, "scale", lang),
        indicators=[
            {
                "row": ind,
                "scale": "frequency" if labels.get(ind.id) == list(FREQUENCY) else "importance",
            }
            for ind in survey_indicators(session, conference.organisation_id)
        ],
        scales=SCALES,
    )


@router.get("/konferenzen/{conference_id}/qr.svg")
def qr_svg(conference_id: RowId, user: Reader, session: SessionDep) -> Response:
    conference = _conference(session, user, conference_id)
    out = io.BytesIO()
    _qr(conference).save(out, kind="svg", scale=10, border=2)
    return Response(out.getvalue(), media_type="image/svg+xml")


def _act(
    request: Request, conference: Conference, action: Callable[[], None], done: str
) -> Response:
    """Runs ``action``; flashes ``done`` or why it was refused, and shows the survey page."""
    try:
        action()
    except SurveyRefused as refused:
        flash(request, f"survey.refused.{refused.code}")
    else:
        flash(request, done)
    return redirect(f"/konferenzen/{conference.id}/befragung")


def _switch(
    request: Request,
    session: Session,
    user: User,
    conference_id: int,
    change: Callable[[Session, Conference, datetime], None],
    done: str,
) -> Response:
    """Opens or closes the survey now."""
    conference = _conference(session, user, conference_id)
    now = runtime.current().clock.now()
    return _act(request, conference, lambda: change(session, conference, now), done)


@router.post(
    "/konferenzen/{conference_id}/befragung/oeffnen",
    dependencies=[Depends(require_csrf)],
)
def open_page(
    request: Request, conference_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    return _switch(request, session, user, conference_id, open_survey, "survey_admin.opened")


@router.post(
    "/konferenzen/{conference_id}/befragung/schliessen",
    dependencies=[Depends(require_csrf)],
)
def close_page(
    request: Request, conference_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    return _switch(request, session, user, conference_id, close_survey, "survey_admin.closed")


@router.post(
    "/konferenzen/{conference_id}/befragung/fragen",
    dependencies=[Depends(require_csrf)],
)
async def questions_page(
    request: Request, conference_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    """The questions anew; per survey indicator the scale chosen in ``scale-<id>``."""
    conference = _conference(session, user, conference_id)
    form = await request.form()
    labels = {}
    for indicator in survey_indicators(session, conference.organisation_id):
        chosen = form.get(f"scale-{indicator.id}", "importance")
        labels[indicator.id] = SCALES.get(chosen if isinstance(chosen, str) else "", IMPORTANCE)

    def set_up() -> None:
        set_up_questions(session, conference, labels)

    return _act(request, conference, set_up, "survey_admin.questions_set")
