"""The actors' page ``/aktivitaeten/<token>``: one text per goal of the year, grouped by
Handlungsfeld, pre-filled with what the actor sent before.

Each request is one unit of work. A blocked client is refused before its token is looked up;
a wrong, expired or revoked token gets one and the same page. A refusal shows the page again
with everything typed. Never log a token, never build a link from the request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.csrf import require_csrf
from api.deps import PublicRoute
from api.forms.routes import FormRoute, posted_form
from api.i18n import LANGUAGES, translate
from api.templating import render
from workflow import runtime
from workflow.catalogue.models import Field, Organisation
from workflow.conference.activities import (
    PATH,
    TEXT_LIMIT,
    ActivityRefused,
    activity_url,
    check_reports,
    goals_of,
    reports_of,
    save_reports,
    token_for,
)
from workflow.conference.models import Actor, ActorToken
from workflow.db import unit_of_work
from workflow.forms.ratelimit import WINDOW, client_key, is_blocked, record_failure

TEMPLATE = "forms/actor_activities.html"
FIELD_PREFIX = "ziel-"
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")

router = APIRouter(
    prefix=PATH, include_in_schema=False, route_class=FormRoute, dependencies=[PublicRoute]
)


def _t(lang: str) -> Callable[..., str]:
    return lambda key, **values: translate(key, lang, **values)


def _lang(requested: object, actor: Actor | None) -> str:
    for lang in (requested, actor.language if actor else None):
        if lang in LANGUAGES:
            return str(lang)
    return "de"


def _url(raw: str, query: str = "") -> str:
    url = activity_url(runtime.current().settings.base_url, raw)
    return url + (f"?{query}" if query else "")


def _open(session: Session, request: Request, raw: str) -> ActorToken | Response:
    """The token, or the page a visitor without a working link gets."""
    rt = runtime.current()
    now = rt.clock.now()
    key = client_key(rt.settings.secret_key, request.client.host if request.client else "-")
    if is_blocked(session, key, now):
        response = _problem(request, "forms.blocked", 429)
        response.headers["Retry-After"] = str(int(WINDOW.total_seconds()))
        return response
    token = token_for(session, raw, now) if _TOKEN_SHAPE.match(raw) else None
    if token is None:
        record_failure(session, key, now)
        return _problem(request, "forms.unknown", 404)
    token.last_used_at = now
    return token


def _problem(request: Request, key: str, status: int) -> Response:
    lang = _lang(request.query_params.get("lang"), None)
    return render(
        request, "forms/problem.html", {"lang": lang, "_": _t(lang), "problem": key},
        status_code=status,
    )  # fmt: skip


@dataclass
class GoalView:
    id: int
    code: str
    name: str
    text: str
    error: str


def _groups(
    session: Session, org_id: int, texts: Mapping[int, str], errors: Mapping[int, str]
) -> list[tuple[Field, list[GoalView]]]:
    groups: dict[int, tuple[Field, list[GoalView]]] = {}
    for goal in goals_of(session, org_id):
        view = GoalView(
            goal.id, goal.code, goal.name, texts.get(goal.id, ""), errors.get(goal.id, "")
        )
        groups.setdefault(goal.field_id, (goal.field, []))[1].append(view)
    return sorted(groups.values(), key=lambda group: group[0].code)


def _page(
    request: Request,
    session: Session,
    token: ActorToken,
    raw: str,
    lang: str,
    *,
    texts: Mapping[int, str] | None = None,
    errors: Mapping[int, str] | None = None,
    general_error: str = "",
    notice: str = "",
    status: int = 200,
) -> Response:
    actor = session.get(Actor, token.actor_id)
    org = session.get(Organisation, token.organisation_id)
    assert actor is not None and org is not None, "foreign keys"
    shown = (
        texts
        if texts is not None
        else reports_of(session, actor_id=actor.id, year=int(token.year or 0))
    )
    groups = _groups(session, org.id, shown, errors or {})
    summary = [
        {"href": f"#{FIELD_PREFIX}{goal.id}", "text": goal.error}
        for _field, goals in groups
        for goal in goals
        if goal.error
    ]
    if general_error:
        first = groups[0][1][0].id if groups and groups[0][1] else 0
        summary.insert(0, {"href": f"#{FIELD_PREFIX}{first}", "text": general_error})
    context: dict[str, Any] = {
        "lang": lang,
        "_": _t(lang),
        "organisation": org,
        "actor": actor,
        "year": token.year,
        "groups": groups,
        "summary": summary,
        "notice": notice,
        "field_prefix": FIELD_PREFIX,
        "text_limit": TEXT_LIMIT,
        "action": _url(raw, f"lang={lang}"),
        "language_links": {code: _url(raw, f"lang={code}") for code in LANGUAGES},
    }
    return render(request, TEMPLATE, context, status_code=status)


@router.get("/{raw}")
def open_page(raw: str, request: Request) -> Response:
    with unit_of_work(runtime.current().sessions) as session:
        opened = _open(session, request, raw)
        if isinstance(opened, Response):
            return opened
        lang = _lang(request.query_params.get("lang"), session.get(Actor, opened.actor_id))
        notice = "saved" if request.query_params.get("gespeichert") == "1" else ""
        return _page(request, session, opened, raw, lang, notice=notice)


# A plain function: FastAPI runs it in a worker thread, so the database never blocks the loop.
@router.post("/{raw}", dependencies=[Depends(require_csrf)])
def post_page(raw: str, request: Request, form: FormData = Depends(posted_form)) -> Response:
    rt = runtime.current()
    with unit_of_work(rt.sessions) as session:
        opened = _open(session, request, raw)
        if isinstance(opened, Response):
            return opened
        lang = _lang(
            form.get("lang") or request.query_params.get("lang"),
            session.get(Actor, opened.actor_id),
        )
        posted = _posted(form)
        try:
            with session.begin_nested():
                save_reports(session, token=opened, posted=posted, now=rt.clock.now())
        except ActivityRefused as refused:
            return _refused(request, session, opened, raw, lang, posted, refused)
    return RedirectResponse(_url(raw, f"lang={lang}&gespeichert=1"), status_code=303)


def _posted(form: FormData) -> dict[int, str]:
    out: dict[int, str] = {}
    for name, value in form.multi_items():
        number = name.removeprefix(FIELD_PREFIX)
        if name.startswith(FIELD_PREFIX) and number.isdigit() and isinstance(value, str):
            out[int(number)] = value
    return out


def _refused(
    request: Request,
    session: Session,
    token: ActorToken,
    raw: str,
    lang: str,
    posted: Mapping[int, str],
    refused: ActivityRefused,
) -> Response:
    """The page again with everything typed and each goal's reason."""
    t = _t(lang)
    checked = check_reports(session, token.organisation_id, posted)
    errors = {
        goal_id: t(f"actor_activities.error.{why.code}", **why.params)
        for goal_id, why in checked.errors.items()
    }
    general = t("actor_activities.error.empty") if refused.code == "empty" else ""
    return _page(
        request, session, token, raw, lang,
        texts=posted, errors=errors, general_error=general, status=422,
    )  # fmt: skip
