"""The status-check form's side requests under ``/f/<token>``: open it, autosave, hand it on.

``api.forms.routes`` checks the token first and calls these inside its unit of work, as it
does for ``api.forms.status_check``. Never logs a token, never builds a link from the request.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.forms.status_check import link, page, refused
from api.forms.status_check_view import scope_of
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.forms.delegation import DelegationRefused
from workflow.forms.tokens import FormToken
from workflow.forms.validation import without_control_characters
from workflow.status_checks.answers import items_of
from workflow.status_checks.form_handover import hand_on as record_hand_over
from workflow.status_checks.form_input import save_draft, split_posted


def open_page(
    request: Request, session: Session, token: FormToken, raw: str, lang: str
) -> Response:
    scope = scope_of(session, token)
    if scope is None:
        return refused(request, lang)
    return page(request, session, scope, raw, lang, notice=request.query_params.get("notice", ""))


def autosave(session: Session, token: FormToken, form: FormData, clock: Clock) -> JSONResponse:
    """What the page's script sends while the contact types: kept as a draft, never checked."""
    scope = scope_of(session, token)
    if scope is None:
        return JSONResponse({"saved": 0}, status_code=404)
    if scope.closed:
        return JSONResponse({"saved": 0}, status_code=409)
    contexts = {c.item.id: c for c in items_of(session, request_id=scope.request.id)}
    saved = save_draft(
        request=scope.request, contexts=contexts, posted=split_posted(form.multi_items()),
        actor=scope.actor, now=clock.now(),
    )  # fmt: skip
    at = clock.now().astimezone(calendar_of(scope.organisation).tz).strftime("%H:%M")
    return JSONResponse({"saved": saved, "at": at})


def hand_on(
    request: Request,
    session: Session,
    token: FormToken,
    raw: str,
    form: FormData,
    clock: Clock,
    lang: str,
) -> Response:
    """The owner hands the part to a colleague; a refusal shows the form with what was typed."""
    scope = scope_of(session, token)
    if scope is None:
        return refused(request, lang)
    # As typed: a control character here is refused, not silently dropped.
    typed = {"delegate_email": _typed(form, "email"), "delegate_name": _typed(form, "name")}
    try:
        record_hand_over(
            session=session, clock=clock, token=token, request=scope.request,
            email=typed["delegate_email"], name=typed["delegate_name"],
        )  # fmt: skip
    except DelegationRefused as refusal:
        values = {k: without_control_characters(v) for k, v in typed.items()}
        return page(
            request, session, scope, raw, lang, status=422, delegate_values=values,
            delegate_errors=refusal.errors,
        )  # fmt: skip
    return RedirectResponse(link(raw, query=f"lang={lang}&notice=delegated"), status_code=303)


def _typed(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:1000] if isinstance(value, str) else ""
