"""The data-delivery form's side requests under ``/f/<token>``: autosave a draft, hand the form on.

``api.forms.routes`` checks the token first and calls these inside its unit of work, as it
does for ``api.forms.data_delivery``. Never logs a token, never builds a link from the request.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.forms.data_delivery import form_link, page
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.forms.delegation import DelegationRefused
from workflow.forms.tokens import FormToken
from workflow.forms.validation import without_control_characters
from workflow.indicators import delivery, handover


def autosave(session: Session, token: FormToken, form: FormData, clock: Clock) -> JSONResponse:
    """What the page's script sends while the source types: kept as a draft, never checked."""
    scope = delivery.scope_of(session, token)
    posted = delivery.split_posted(form.multi_items())
    saved = delivery.save_posted(session=session, scope=scope, posted=posted, now=clock.now())
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
    """The owner hands the form to a colleague; a refusal shows the form with what was typed."""
    scope = delivery.scope_of(session, token)
    # As typed: a control character here is refused, not silently dropped.
    typed = {"delegate_email": _typed(form, "email"), "delegate_name": _typed(form, "name")}
    try:
        handover.hand_on(
            session=session,
            clock=clock,
            scope=scope,
            email=typed["delegate_email"],
            name=typed["delegate_name"],
            today=calendar_of(scope.organisation).local_date(clock.now()),
        )
    except DelegationRefused as refused:
        values = {k: without_control_characters(v) for k, v in typed.items()}
        return page(
            request, session, token, raw, lang, status=422, delegate_values=values,
            delegate_errors=refused.errors,
        )  # fmt: skip
    return RedirectResponse(form_link(raw, query=f"lang={lang}&notice=delegated"), status_code=303)


def _typed(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:1000] if isinstance(value, str) else ""
