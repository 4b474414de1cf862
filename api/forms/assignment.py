"""The Auftrag form behind ``/f/<token>`` for department contacts: show, answer, show again.

``api.forms.routes`` checks the token (and the client's rate limit) and hands a valid
``assignment`` token to these functions, inside its unit of work. Never logs a token,
never builds a link from the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.forms import view
from api.templating import render
from workflow import runtime
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.decisions import assignment_answers as answers
from workflow.decisions.assignment_answers import AssignmentItem, RawAnswer
from workflow.decisions.models import DecisionStatus
from workflow.forms.tokens import FormToken, form_url
from workflow.forms.validation import FieldError
from workflow.indicators.mail import format_date

TEMPLATE = "forms/assignment.html"
NOTICES = {"answered_done", "answered_in_progress"}


def _url(raw: str, suffix: str = "", query: str = "") -> str:
    url = form_url(runtime.current().settings.base_url, raw)
    return url + (f"/{suffix}" if suffix else "") + (f"?{query}" if query else "")


@dataclass
class AssignmentView:
    id: int
    body: str
    meeting_on: str
    text: str
    due_on: str
    status: str
    is_open: bool
    answered: bool
    answered_on: str
    values: RawAnswer
    errors: dict[str, FieldError]


def assignment_views(
    scope: answers.AssignmentScope,
    items: list[AssignmentItem],
    lang: str,
    *,
    posted: dict[int, RawAnswer] | None = None,
    errors: dict[int, list[FieldError]] | None = None,
) -> list[AssignmentView]:
    cal = calendar_of(scope.organisation)
    views = []
    for item in items:
        decision = item.decision
        stored = {"answer": decision.answer, "status": decision.status} if item.answered else {}
        views.append(
            AssignmentView(
                id=decision.id,
                body=item.body.name,
                meeting_on=format_date(item.meeting.held_on, lang),
                text=decision.text,
                due_on=format_date(decision.due_on, lang),
                status=decision.status,
                is_open=item.is_open,
                answered=item.answered,
                answered_on=(
                    format_date(cal.local_date(decision.answered_at), lang)
                    if decision.answered_at
                    else ""
                ),
                values=(posted or {}).get(decision.id) or stored,
                errors={e.field: e for e in (errors or {}).get(decision.id, [])},
            )
        )
    return views


def _summary(views: list[AssignmentView], _: Any) -> list[dict[str, str]]:
    out = []
    for v in views:
        for name, e in v.errors.items():
            # A radio group's link lands on its first option.
            target = (
                f"a-{v.id}-status-{answers.ANSWER_STATUSES[0]}"
                if name == "status"
                else f"a-{v.id}-{name}"
            )
            out.append(
                {"href": f"#{target}", "text": f"{v.body}, {v.meeting_on}: {_(e.key, **e.values)}"}
            )
    return out


def page(
    request: Request,
    session: Session,
    token: FormToken,
    raw: str,
    lang: str,
    *,
    status: int = 200,
    posted: dict[int, RawAnswer] | None = None,
    errors: dict[int, list[FieldError]] | None = None,
    notice: str = "",
) -> Response:
    scope = answers.scope_of(session, token)
    items = answers.items_in_scope(session, scope, now=runtime.current().clock.now())
    _ = view.translator(lang)
    views = assignment_views(scope, items, lang, posted=posted, errors=errors)
    return render(
        request,
        TEMPLATE,
        {
            "lang": lang,
            "_": _,
            "scope": scope,
            "assignments": views,
            "open_count": sum(1 for v in views if v.is_open),
            "summary": _summary(views, _),
            "statuses": answers.ANSWER_STATUSES,
            "max_answer": answers.MAX_ANSWER,
            "action": _url(raw, query=f"lang={lang}"),
            "language_links": {code: _url(raw, query=f"lang={code}") for code in ("de", "en")},
            "notice": notice if notice in NOTICES else "",
        },
        status_code=status,
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
    scope = answers.scope_of(session, token)
    posted = answers.split_posted(form.multi_items())
    action = form.get("action")
    if not (isinstance(action, str) and action.startswith("submit:") and action[7:].isdigit()):
        return RedirectResponse(_url(raw, query=f"lang={lang}"), status_code=303)
    decision_id = int(action[7:16])
    outcome = answers.answer(
        session=session, clock=clock, scope=scope, posted=posted, only={decision_id}
    )
    if not outcome.ok:
        return page(
            request, session, token, raw, lang, status=422, posted=posted, errors=outcome.errors
        )
    if not outcome.answered:
        # Not this link's Auftrag, or closed meanwhile: show what the link may see now.
        return RedirectResponse(_url(raw, query=f"lang={lang}"), status_code=303)
    done = posted[decision_id].get("status") == DecisionStatus.DONE.value
    notice = "answered_done" if done else "answered_in_progress"
    return RedirectResponse(
        _url(raw, query=f"lang={lang}&notice={notice}#assignment-{decision_id}"), status_code=303
    )
