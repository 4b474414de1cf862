"""The status-check form behind ``/f/<token>``: show one contact's part, submit, thank, show closed.

``api.forms.routes`` checks the token (and the client's rate limit) and hands a valid
``status_check`` token to these functions, inside its unit of work. What a token opens and
how each item shows are in ``api.forms.status_check_view``; drafts and the hand-over in
``api.forms.status_check_actions``. Never logs a token, never builds a link from the request.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.forms import status_check_view, view
from api.forms.status_check_view import STANDS, StatusScope, item_views, scope_of
from api.templating import render
from workflow import runtime
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.forms.tokens import FormToken, form_url
from workflow.forms.validation import FieldError
from workflow.indicators.mail import format_date
from workflow.status_checks.answers import (
    MAX_NOTE,
    AnswersRefused,
    ItemContext,
    items_of,
    record_answers,
)
from workflow.status_checks.errors import StatusCheckRefused
from workflow.status_checks.form_input import (
    LATER,
    REACHED,
    save_draft,
    split_posted,
    stored_raw,
    to_answers,
)

TEMPLATE = "forms/status_check.html"
NOTICES = {"saved", "delegated"}


def link(raw: str, suffix: str = "", query: str = "") -> str:
    url = form_url(runtime.current().settings.base_url, raw)
    return url + (f"/{suffix}" if suffix else "") + (f"?{query}" if query else "")


def page(
    request: Request,
    session: Session,
    scope: StatusScope,
    raw: str,
    lang: str,
    *,
    status: int = 200,
    posted: dict[int, dict[str, str]] | None = None,
    errors: dict[int, list[FieldError]] | None = None,
    notice: str = "",
    mode: str = "form",
    delegate_values: dict[str, str] | None = None,
    delegate_errors: list[FieldError] | None = None,
) -> Response:
    contexts = items_of(session, request_id=scope.request.id)
    _ = view.translator(lang)
    views = item_views(scope, contexts, lang, posted=posted, errors=errors)
    if scope.closed:
        mode = "closed"
    summary = status_check_view.summary(views, _)
    summary += [
        {"href": f"#{e.field}", "text": _(e.key, **e.values)} for e in delegate_errors or []
    ]
    cal = calendar_of(scope.organisation)
    return render(
        request,
        TEMPLATE,
        {
            "lang": lang,
            "_": _,
            "scope": scope,
            "mode": mode,
            "items": views,
            "open_count": sum(1 for v in views if not v.answered),
            "summary": summary,
            "stands": STANDS,
            "reached": REACHED,
            "later": LATER,
            "max_note": MAX_NOTE,
            "due_on": format_date(scope.request.due_on, lang),
            "closed_on": (
                format_date(cal.local_date(scope.check.closed_at), lang)
                if scope.check.closed_at
                else ""
            ),
            "title": scope.check.title,
            "action": link(raw, query=f"lang={lang}"),
            "draft_action": link(raw, "draft"),
            "delegate_action": link(raw, "delegate", query=f"lang={lang}"),
            "delegate_text": "status_form.delegate.text",
            "delegate": delegate_values or {},
            "delegate_errors": {e.field: e for e in delegate_errors or []},
            "back": link(raw, query=f"lang={lang}"),
            "language_links": {code: link(raw, query=f"lang={code}") for code in ("de", "en")},
            "notice": notice if notice in NOTICES else "",
        },
        status_code=status,
    )


def refused(request: Request, lang: str) -> Response:
    """A status-check token that opens no part: the same page as any unknown link."""
    return render(
        request,
        "forms/problem.html",
        {"lang": lang, "_": view.translator(lang), "problem": "forms.unknown"},
        status_code=404,
    )


def post(
    request: Request,
    session: Session,
    token: FormToken,
    raw: str,
    form: FormData,
    clock: Clock,
    lang: str,
) -> Response:
    scope = scope_of(session, token)
    if scope is None:
        return refused(request, lang)
    if scope.closed:
        return page(request, session, scope, raw, lang, status=409)
    posted = split_posted(form.multi_items())
    contexts = {c.item.id: c for c in items_of(session, request_id=scope.request.id)}
    action = form.get("action")
    action = action if isinstance(action, str) else ""
    if action.startswith("submit:") and action[7:].isdigit() and len(action) <= 16:
        only = [int(action[7:])]
        if only[0] not in contexts:
            # Not an item of this link's part: show what the link may see.
            return RedirectResponse(link(raw, query=f"lang={lang}"), status_code=303)
    elif action == "submit_all":
        # Items answered before and sent again unchanged are no correction.
        only = [
            i for i, c in contexts.items()
            if not (c.answered and _same(posted.get(i, {}), stored_raw(c)))
        ]  # fmt: skip
    else:
        # "save", and anything unexpected: keeping a draft is never wrong.
        _keep(scope, contexts, posted, clock)
        return RedirectResponse(link(raw, query=f"lang={lang}&notice=saved"), status_code=303)
    today = calendar_of(scope.organisation).local_date(clock.now())
    answers, errors = to_answers(contexts, posted, only=only, today=today)
    if not errors:
        try:
            record_answers(
                session=session, clock=clock, request_id=scope.request.id, answers=answers,
                by=scope.actor,
            )  # fmt: skip
        except AnswersRefused as refusal:
            errors = refusal.errors
        except StatusCheckRefused:
            # Closed (or taken out of the part) between loading and storing: show it as it is.
            return RedirectResponse(link(raw, query=f"lang={lang}"), status_code=303)
    if errors:
        _keep(scope, contexts, posted, clock)  # the summary promises nothing is lost
        return page(request, session, scope, raw, lang, status=422, posted=posted, errors=errors)
    return RedirectResponse(link(raw, "danke", query=f"lang={lang}"), status_code=303)


def _keep(
    scope: StatusScope,
    contexts: dict[int, ItemContext],
    posted: dict[int, dict[str, str]],
    clock: Clock,
) -> int:
    return save_draft(
        request=scope.request, contexts=contexts, posted=posted, actor=scope.actor,
        now=clock.now(),
    )  # fmt: skip


def _same(posted: dict[str, str], stored: dict[str, str]) -> bool:
    def clean(raw: dict[str, str]) -> dict[str, str]:
        return {k: v.strip() for k, v in raw.items() if v.strip()}

    return clean(posted) == clean(stored)


def thanks(request: Request, session: Session, token: FormToken, raw: str, lang: str) -> Response:
    scope = scope_of(session, token)
    if scope is None:
        return refused(request, lang)
    return page(request, session, scope, raw, lang, mode="thanks")
