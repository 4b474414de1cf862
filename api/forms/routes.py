"""The department contacts' form pages under ``/f/<token>``: open, save, submit, hand on, ask anew.

Each request is one unit of work. A token is checked before anything else (and a blocked
client is refused before its token is even looked up); a wrong token gets the same page
whether it was malformed or unknown. Never log a token, never build a link from the request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.body_limit import is_refusal
from api.csrf import require_csrf
from api.forms import (
    assignment,
    data_actions,
    data_delivery,
    milestone,
    status_check,
    status_check_actions,
    view,
)
from api.templating import render
from workflow import runtime
from workflow.catalogue.models import Contact
from workflow.cycles.calendar import calendar_of
from workflow.db import unit_of_work
from workflow.forms.delegation import DelegationRefused, delegate
from workflow.forms.drafts import save_drafts, split_posted
from workflow.forms.link_requests import request_new_link
from workflow.forms.models import DelegationStatus
from workflow.forms.ratelimit import WINDOW, client_key, is_blocked, record_failure
from workflow.forms.scope import FormItem, FormScope, items_in_scope, scope_of
from workflow.forms.submit import submit
from workflow.forms.tokens import FormToken, Phase, TokenState, form_url, look_up
from workflow.forms.validation import without_control_characters

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")
MAX_FORM_FIELDS = 5000
TEMPLATE = {Phase.TARGET_AGREEMENT: "forms/agreement.html", Phase.REVIEW: "forms/review.html"}


class FormRoute(APIRoute):
    """Every form response carries the security headers; failures show a page, never a trace."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except StarletteHTTPException as exc:  # Starlette's own too: its form parser's
                if exc.status_code in (400, 413):
                    # A body over the limit or a field over the parser's 1 MB: a 4xx page.
                    response = _problem(request, "forms.rejected", exc.status_code)
                elif exc.status_code != 403:
                    raise
                else:
                    response = _problem(request, "forms.csrf", 403)
            except Exception as exc:
                if is_refusal(exc):
                    raise  # a body streamed past the limit: api/body_limit.py answers it
                # The request path holds the token: log only what failed, not where.
                log.error("form request failed: %s", type(exc).__name__, exc_info=exc)
                response = _problem(request, "forms.failure", 500)
            response.headers.update(SECURITY_HEADERS)
            return response

        return handler


async def _read_form_generously(request: Request) -> None:
    """Parse the body once with room for many measures; ``require_csrf`` then reuses it."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        await request.form(max_fields=MAX_FORM_FIELDS)


async def posted_form(request: Request) -> FormData:
    return await request.form(max_fields=MAX_FORM_FIELDS)


_POST_GUARDS = [Depends(_read_form_generously), Depends(require_csrf)]
router = APIRouter(prefix="/f", include_in_schema=False, route_class=FormRoute)


def _problem(request: Request, key: str, status: int, **context: Any) -> Response:
    lang = view.language(request.query_params.get("lang"), None)
    return render(
        request,
        "forms/problem.html",
        {"lang": lang, "_": view.translator(lang), "problem": key, **context},
        status_code=status,
    )


@dataclass
class Visit:
    state: TokenState
    token: FormToken | None
    blocked: bool = False


def _visit(session: Session, request: Request, raw: str) -> Visit:
    rt = runtime.current()
    now = rt.clock.now()
    key = client_key(rt.settings.secret_key, request.client.host if request.client else "-")
    if is_blocked(session, key, now):
        return Visit(TokenState.UNKNOWN, None, blocked=True)
    state, token = look_up(session, raw, now) if _TOKEN_SHAPE.match(raw) else (None, None)
    if state is None or state is TokenState.UNKNOWN:
        record_failure(session, key, now)
        return Visit(TokenState.UNKNOWN, None)
    if state is TokenState.VALID and token is not None:
        token.last_used_at = now
    return Visit(state, token)


def _refusal(request: Request, session: Session, visit: Visit, raw: str) -> Response:
    """The page for every link that does not open a form; identical for all wrong tokens."""
    if visit.blocked:
        response = _problem(request, "forms.blocked", 429)
        response.headers["Retry-After"] = str(int(WINDOW.total_seconds()))
        return response
    if visit.token is None:
        return _problem(request, "forms.unknown", 404)
    contact = session.get(Contact, visit.token.contact_id)
    lang = view.language(request.query_params.get("lang"), contact)
    return render(
        request,
        "forms/link_expired.html",
        {
            "lang": lang,
            "_": view.translator(lang),
            "revoked": visit.state is TokenState.REVOKED,
            "action": _url(raw, "new-link"),
        },
        status_code=410,
    )


def _url(raw: str, suffix: str = "", query: str = "") -> str:
    """Links come from the configured base URL, never from the request's Host header."""
    url = form_url(runtime.current().settings.base_url, raw)
    return url + (f"/{suffix}" if suffix else "") + (f"?{query}" if query else "")


def _page(
    request: Request,
    session: Session,
    scope: FormScope,
    items: list[FormItem],
    raw: str,
    lang: str,
    *,
    status: int = 200,
    posted: dict[int, dict[str, str]] | None = None,
    errors: dict[int, list[Any]] | None = None,
    delegate_values: dict[str, str] | None = None,
    delegate_errors: list[Any] | None = None,
    notice: str = "",
) -> Response:
    _ = view.translator(lang)
    views = view.item_views(session, scope, items, posted=posted, errors=errors, lang=lang)
    summary = view.error_summary(views, _)
    summary += [
        {"href": f"#{e.field}", "text": _(e.key, **e.values)} for e in delegate_errors or []
    ]
    return render(
        request,
        TEMPLATE[scope.phase] if items else "forms/nothing_open.html",
        {
            "lang": lang,
            "_": _,
            "scope": scope,
            "groups": view.grouped(items, views),
            "open_count": sum(1 for v in views if v.is_open and not v.flagged),
            "summary": summary,
            "due": view.due_text(scope, items, lang),
            "action": _url(raw, query=f"lang={lang}"),
            "draft_action": _url(raw, "draft"),
            "delegate_action": _url(raw, "delegate", query=f"lang={lang}"),
            "language_links": {code: _url(raw, query=f"lang={code}") for code in ("de", "en")},
            "delegate": delegate_values or {},
            "delegate_errors": {e.field: e for e in delegate_errors or []},
            "notice": notice,
            "choices": view.CHOICES,
        },
        status_code=status,
    )


@router.get("/{raw}")
def open_form(raw: str, request: Request) -> Response:
    with unit_of_work(runtime.current().sessions) as session:
        visit = _visit(session, request, raw)
        if visit.state is not TokenState.VALID or visit.token is None:
            return _refusal(request, session, visit, raw)
        if visit.token.phase == Phase.DATA_DELIVERY.value:
            lang = view.language(request.query_params.get("lang"), _contact(session, visit.token))
            return data_delivery.page(request, session, visit.token, raw, lang)
        if visit.token.phase == Phase.STATUS_CHECK.value:
            lang = view.language(request.query_params.get("lang"), _contact(session, visit.token))
            return status_check_actions.open_page(request, session, visit.token, raw, lang)
        if visit.token.phase == Phase.ASSIGNMENT.value:
            lang = view.language(request.query_params.get("lang"), _contact(session, visit.token))
            notice = request.query_params.get("notice", "")
            return assignment.page(request, session, visit.token, raw, lang, notice=notice)
        if visit.token.phase == Phase.MILESTONE.value:
            lang = view.language(request.query_params.get("lang"), _contact(session, visit.token))
            query = request.query_params
            return milestone.page(
                request, session, visit.token, raw, lang,
                choice=query.get("antwort", ""), notice=query.get("notice", ""),
            )  # fmt: skip
        scope = scope_of(session, visit.token)
        lang = view.language(request.query_params.get("lang"), scope.contact)
        notice = request.query_params.get("notice", "")
        notice = notice if notice in {"saved", "delegated", "delegation_pending"} else ""
        items = items_in_scope(session, scope)
        return _page(request, session, scope, items, raw, lang, notice=notice)


@router.post("/{raw}", dependencies=_POST_GUARDS)
def post_form(raw: str, request: Request, form: FormData = Depends(posted_form)) -> Response:
    rt = runtime.current()
    with unit_of_work(rt.sessions) as session:
        visit = _visit(session, request, raw)
        if visit.state is not TokenState.VALID or visit.token is None:
            return _refusal(request, session, visit, raw)
        if visit.token.phase == Phase.DATA_DELIVERY.value:
            lang = view.language(
                _str(form, "lang") or request.query_params.get("lang"),
                _contact(session, visit.token),
            )
            return data_delivery.post(request, session, visit.token, raw, form, rt.clock, lang)
        if visit.token.phase == Phase.STATUS_CHECK.value:
            lang = view.language(
                _str(form, "lang") or request.query_params.get("lang"),
                _contact(session, visit.token),
            )
            return status_check.post(request, session, visit.token, raw, form, rt.clock, lang)
        if visit.token.phase == Phase.ASSIGNMENT.value:
            lang = view.language(
                _str(form, "lang") or request.query_params.get("lang"),
                _contact(session, visit.token),
            )
            return assignment.post(request, session, visit.token, raw, form, rt.clock, lang)
        if visit.token.phase == Phase.MILESTONE.value:
            lang = view.language(
                _str(form, "lang") or request.query_params.get("lang"),
                _contact(session, visit.token),
            )
            return milestone.post(request, session, visit.token, raw, form, rt.clock, lang)
        scope = scope_of(session, visit.token)
        lang = view.language(_str(form, "lang") or request.query_params.get("lang"), scope.contact)
        posted = split_posted(form.multi_items())
        action = _str(form, "action")
        only: set[int] | None = None
        if action.startswith("submit:") and action[7:].isdigit() and len(action) <= 16:
            only = {int(action[7:])}
        elif action != "submit_all":
            # "save", and anything unexpected: keeping a draft is never wrong.
            items = items_in_scope(session, scope)
            save_drafts(
                session=session, scope=scope, items=items, posted=posted, now=rt.clock.now()
            )
            return RedirectResponse(_url(raw, query=f"lang={lang}&notice=saved"), status_code=303)
        outcome = submit(session=session, clock=rt.clock, scope=scope, posted=posted, only=only)
        if not outcome.ok:
            items = items_in_scope(session, scope)
            return _page(
                request, session, scope, items, raw, lang, status=422, posted=posted,
                errors=outcome.errors,
            )  # fmt: skip
        return RedirectResponse(_url(raw, "danke", query=f"lang={lang}"), status_code=303)


@router.post("/{raw}/draft", dependencies=_POST_GUARDS)
def autosave(raw: str, request: Request, form: FormData = Depends(posted_form)) -> Response:
    """What the page's script sends while the contact types; answers 404 for any bad link."""
    rt = runtime.current()
    with unit_of_work(rt.sessions) as session:
        visit = _visit(session, request, raw)
        if visit.state is not TokenState.VALID or visit.token is None:
            status = 429 if visit.blocked else 404 if visit.token is None else 410
            return JSONResponse({"saved": 0}, status_code=status)
        if visit.token.phase == Phase.DATA_DELIVERY.value:
            return data_actions.autosave(session, visit.token, form, rt.clock)
        if visit.token.phase == Phase.STATUS_CHECK.value:
            return status_check_actions.autosave(session, visit.token, form, rt.clock)
        if visit.token.phase in (Phase.ASSIGNMENT.value, Phase.MILESTONE.value):
            return JSONResponse({"saved": 0})  # these forms keep no drafts
        scope = scope_of(session, visit.token)
        items = items_in_scope(session, scope)
        now = rt.clock.now()
        saved = save_drafts(
            session=session, scope=scope, items=items, posted=split_posted(form.multi_items()),
            now=now,
        )  # fmt: skip
        at = now.astimezone(calendar_of(scope.organisation).tz).strftime("%H:%M")
        return JSONResponse({"saved": saved, "at": at})


@router.get("/{raw}/danke")
def thanks(raw: str, request: Request) -> Response:
    with unit_of_work(runtime.current().sessions) as session:
        visit = _visit(session, request, raw)
        if visit.state is not TokenState.VALID or visit.token is None:
            return _refusal(request, session, visit, raw)
        if visit.token.phase == Phase.DATA_DELIVERY.value:
            lang = view.language(request.query_params.get("lang"), _contact(session, visit.token))
            return data_delivery.thanks(request, session, visit.token, raw, lang)
        if visit.token.phase == Phase.STATUS_CHECK.value:
            lang = view.language(request.query_params.get("lang"), _contact(session, visit.token))
            return status_check.thanks(request, session, visit.token, raw, lang)
        if visit.token.phase in (Phase.ASSIGNMENT.value, Phase.MILESTONE.value):
            # These forms thank on their own page, next to what was answered.
            lang = view.language(request.query_params.get("lang"), _contact(session, visit.token))
            return RedirectResponse(_url(raw, query=f"lang={lang}"), status_code=303)
        scope = scope_of(session, visit.token)
        lang = view.language(request.query_params.get("lang"), scope.contact)
        items = items_in_scope(session, scope)
        views = view.item_views(session, scope, items, lang=lang)
        return render(
            request,
            "forms/thanks.html",
            {
                "lang": lang,
                "_": view.translator(lang),
                "scope": scope,
                "submitted": [v for v in views if v.submitted],
                "open_count": sum(1 for v in views if v.is_open and not v.flagged),
                "back": _url(raw, query=f"lang={lang}"),
                "choices": view.CHOICES,
            },
        )


@router.post("/{raw}/delegate", dependencies=_POST_GUARDS)
def hand_on(raw: str, request: Request, form: FormData = Depends(posted_form)) -> Response:
    rt = runtime.current()
    with unit_of_work(rt.sessions) as session:
        visit = _visit(session, request, raw)
        if visit.state is not TokenState.VALID or visit.token is None:
            return _refusal(request, session, visit, raw)
        if visit.token.phase == Phase.DATA_DELIVERY.value:
            lang = view.language(
                _str(form, "lang") or request.query_params.get("lang"),
                _contact(session, visit.token),
            )
            return data_actions.hand_on(request, session, visit.token, raw, form, rt.clock, lang)
        if visit.token.phase == Phase.STATUS_CHECK.value:
            lang = view.language(
                _str(form, "lang") or request.query_params.get("lang"),
                _contact(session, visit.token),
            )
            return status_check_actions.hand_on(
                request, session, visit.token, raw, form, rt.clock, lang
            )
        if visit.token.phase in (Phase.ASSIGNMENT.value, Phase.MILESTONE.value):
            # Auftrag and milestone links are not handed on.
            return RedirectResponse(_url(raw), status_code=303)
        scope = scope_of(session, visit.token)
        lang = view.language(_str(form, "lang") or request.query_params.get("lang"), scope.contact)
        # As typed: a control character here is refused, not silently dropped.
        typed = {"delegate_email": _raw(form, "email"), "delegate_name": _raw(form, "name")}
        try:
            handed = delegate(
                session=session,
                clock=rt.clock,
                scope=scope,
                email=typed["delegate_email"],
                name=typed["delegate_name"],
            )
        except DelegationRefused as refused:
            # The typed values go back into the page's inputs; what the page may not show is dropped.
            values = {k: without_control_characters(v) for k, v in typed.items()}
            items = items_in_scope(session, scope)
            return _page(
                request, session, scope, items, raw, lang, status=422, delegate_values=values,
                delegate_errors=refused.errors,
            )  # fmt: skip
        notice = (
            "delegated" if handed.status == DelegationStatus.ACTIVE.value else "delegation_pending"
        )
        return RedirectResponse(_url(raw, query=f"lang={lang}&notice={notice}"), status_code=303)


@router.post("/{raw}/new-link", dependencies=_POST_GUARDS)
def ask_for_new_link(raw: str, request: Request) -> Response:
    rt = runtime.current()
    with unit_of_work(rt.sessions) as session:
        visit = _visit(session, request, raw)
        if visit.state is TokenState.VALID:
            return RedirectResponse(_url(raw), status_code=303)
        if visit.token is None:
            return _refusal(request, session, visit, raw)
        request_new_link(session=session, clock=rt.clock, token=visit.token)
        contact = session.get(Contact, visit.token.contact_id)
        lang = view.language(request.query_params.get("lang"), contact)
        return render(
            request,
            "forms/link_requested.html",
            {"lang": lang, "_": view.translator(lang)},
        )


def _contact(session: Session, token: FormToken) -> Contact | None:
    return session.get(Contact, token.contact_id)


def _raw(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:1000] if isinstance(value, str) else ""


def _str(form: FormData, name: str) -> str:
    value = form.get(name)
    return without_control_characters(value) if isinstance(value, str) else ""
