"""The public survey of an Integrationskonferenz under ``/k/<code>``: the form, the answer, thanks.

Nobody signs in. A device gets a random cookie on its first visit (HttpOnly, SameSite=Lax,
Secure under https, path /k/); only its hash, salted with the conference, is stored with the
answers, so one device answers once. Failures (an unknown code, a second answer, a post
without the cookie) are counted per client address as the contact forms count wrong links;
a client over the limit is refused before anything is looked up. A whole hall on one WLAN
shares an address, so answers themselves are not counted.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.csrf import require_csrf
from api.deps import PublicRoute
from api.forms.routes import FormRoute
from api.templating import render
from workflow import runtime
from workflow.catalogue.models import Field, Organisation
from workflow.conference.models import Conference, QuestionKind
from workflow.conference.survey import (
    Posted,
    SurveyRefused,
    SurveyState,
    has_answered,
    new_device_token,
    state_of,
    submit,
)
from workflow.db import unit_of_work
from workflow.forms.ratelimit import WINDOW, client_key, is_blocked, record_failure
from workflow.indicators.validation import MAX_TEXT

COOKIE = "zf_survey"
COOKIE_DAYS = 30
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
# A refusal's page and status; the form's own mistakes show the form again (422).
_REFUSALS = {
    "unknown": ("unknown", 404),
    "not_open": ("not_open", 404),
    "closed": ("closed", 410),
    "already_answered": ("answered", 409),
}
_STATE_PAGES = {SurveyState.NOT_OPEN: ("not_open", 404), SurveyState.CLOSED: ("closed", 410)}

router = APIRouter(
    prefix="/k", include_in_schema=False, route_class=FormRoute, dependencies=[PublicRoute]
)


def _client(request: Request) -> str:
    secret = runtime.current().settings.secret_key
    return client_key(secret, request.client.host if request.client else "-")


def _message(
    request: Request, which: str, status: int, org: Organisation | None = None
) -> Response:
    response = render(
        request,
        "forms/conference_survey_message.html",
        {"which": which, "organisation": org, "scope": {"organisation": org} if org else None},
        status_code=status,
    )
    if status == 429:
        response.headers["Retry-After"] = str(int(WINDOW.total_seconds()))
    return response


def _find(session: Session, request: Request, code: str) -> Conference | Response:
    """The conference of ``code``, or the page that refuses it (counted as a failure)."""
    now = runtime.current().clock.now()
    key = _client(request)
    if is_blocked(session, key, now):
        return _message(request, "blocked", 429)
    conference = (
        session.scalars(select(Conference).where(Conference.survey_code == code)).first()
        if _CODE.match(code)
        else None
    )
    if conference is None:
        record_failure(session, key, now)
        return _message(request, "unknown", 404)
    return conference


def _device(request: Request) -> str | None:
    token = request.cookies.get(COOKIE, "")
    return token if _TOKEN.match(token) else None


def _set_device(response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_DAYS * 86400,
        path="/k/",
        httponly=True,
        samesite="lax",
        secure=runtime.current().settings.base_url.startswith("https"),
    )


def _form(
    request: Request,
    session: Session,
    conference: Conference,
    *,
    status: int = 200,
    chosen: Posted | None = None,
    error: str = "",
) -> Response:
    org = session.get(Organisation, conference.organisation_id)
    field_ids = [q.field_id for q in conference.questions if q.field_id is not None]
    rows = session.execute(select(Field.id, Field.name).where(Field.id.in_(field_ids)))
    names = {field_id: name for field_id, name in rows}
    return render(
        request,
        "forms/conference_survey.html",
        {
            "conference": conference,
            "organisation": org,
            "scope": {"organisation": org},
            "scale": [q for q in conference.questions if q.kind == QuestionKind.SCALE.value],
            "texts": [q for q in conference.questions if q.kind == QuestionKind.TEXT.value],
            "field_names": names,
            "chosen": chosen or Posted({}, {}),
            "error": error,
            "max_text": MAX_TEXT,
            "action": f"/k/{conference.survey_code}",
        },
        status_code=status,
    )


@router.get("/{code}")
def open_survey_page(code: str, request: Request) -> Response:
    now = runtime.current().clock.now()
    with unit_of_work(runtime.current().sessions) as session:
        found = _find(session, request, code)
        if not isinstance(found, Conference):
            return found
        org = session.get(Organisation, found.organisation_id)
        state = state_of(found, now)
        if state in _STATE_PAGES:
            return _message(request, *_STATE_PAGES[state], org=org)
        token = _device(request)
        if token is not None and has_answered(session, found, token):
            return _message(request, "answered", 200, org=org)
        response = _form(request, session, found)
        if token is None:
            _set_device(response, new_device_token())
        return response


def _posted(form: FormData, conference: Conference) -> Posted:
    def value(question_id: int) -> str:
        raw = form.get(f"q-{question_id}", "")
        return raw if isinstance(raw, str) else ""

    points = {q.id: value(q.id) for q in conference.questions if q.kind == QuestionKind.SCALE.value}
    texts = {q.id: value(q.id) for q in conference.questions if q.kind == QuestionKind.TEXT.value}
    return Posted(points, texts)


@router.post("/{code}", dependencies=[Depends(require_csrf)])
async def answer_survey(code: str, request: Request) -> Response:
    form = await request.form()
    return _answer(code, request, form)


def _answer(code: str, request: Request, form: FormData) -> Response:
    rt = runtime.current()
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as session:
        found = _find(session, request, code)
        if not isinstance(found, Conference):
            return found
        org = session.get(Organisation, found.organisation_id)
        token = _device(request)
        if token is None:
            # No cookie from the form's visit: a script, or cookies refused. Counted.
            record_failure(session, _client(request), now)
            return _message(request, "no_cookie", 400, org=org)
        posted = _posted(form, found)
        try:
            submit(session, conference_id=found.id, token=token, posted=posted, now=now)
        except SurveyRefused as refused:
            if refused.code not in _REFUSALS:
                return _form(request, session, found, status=422, chosen=posted, error=refused.code)
            if refused.code == "already_answered":
                record_failure(session, _client(request), now)
            return _message(request, *_REFUSALS[refused.code], org=org)
    return RedirectResponse(f"/k/{code}/danke", status_code=303)


@router.get("/{code}/danke")
def thanks(code: str, request: Request) -> Response:
    with unit_of_work(runtime.current().sessions) as session:
        found = _find(session, request, code)
        if not isinstance(found, Conference):
            return found
        org = session.get(Organisation, found.organisation_id)
        return _message(request, "thanks", 200, org=org)
