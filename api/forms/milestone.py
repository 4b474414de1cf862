"""The "Meilenstein erreicht?" page behind ``/f/<token>`` for one milestone: ask, record, show.

``api.forms.routes`` checks the token (and the client's rate limit) and hands a valid
``milestone`` token to these functions, inside its unit of work. A GET never changes data
(mail scanners open links): ``?antwort=ja`` only pre-selects the "Ja, erreicht" button and
``?antwort=neu`` the date field; the POST records. Never logs a token, never builds a link
from the request.
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
from workflow.catalogue.models import Organisation
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import MeasureCycle
from workflow.forms.tokens import FormToken, Phase, form_url
from workflow.forms.validation import parse_date, without_control_characters
from workflow.indicators.mail import format_date
from workflow.milestones.answers import MilestoneRefused, confirm, latest_allowed, move
from workflow.milestones.models import Milestone, MilestoneStatus

TEMPLATE = "forms/milestone.html"
CHOICES = ("ja", "neu")
NOTICES = {"reached", "moved"}
DATE_FIELD = "datum"


def _url(raw: str, query: str = "") -> str:
    url = form_url(runtime.current().settings.base_url, raw)
    return url + (f"?{query}" if query else "")


def milestone_of(session: Session, token: FormToken) -> tuple[Milestone, MeasureCycle] | None:
    """The one milestone the token opens, or None if the token does not name one of its
    organisation and cycle (such a token answers nothing)."""
    if token.phase != Phase.MILESTONE.value or token.milestone_id is None:
        return None
    milestone = session.get(Milestone, token.milestone_id)
    if milestone is None or milestone.organisation_id != token.organisation_id:
        return None
    mc = session.get(MeasureCycle, milestone.measure_cycle_id)
    if mc is None or mc.cycle_id != token.cycle_id:
        return None
    return milestone, mc


@dataclass
class Typed:
    """What the contact typed into the date field, kept for the page after a refusal."""

    value: str = ""
    error: str = ""
    params: dict[str, str] | None = None


def page(
    request: Request,
    session: Session,
    token: FormToken,
    raw: str,
    lang: str,
    *,
    choice: str = "",
    notice: str = "",
    typed: Typed | None = None,
    status: int = 200,
) -> Response:
    _ = view.translator(lang)
    found = milestone_of(session, token)
    if found is None:
        return render(
            request, "forms/problem.html",
            {"lang": lang, "_": _, "problem": "forms.unknown"}, status_code=404,
        )  # fmt: skip
    milestone, mc = found
    org = session.get(Organisation, token.organisation_id)
    assert org is not None
    today = calendar_of(org).local_date(runtime.current().clock.now())
    typed = typed or Typed()
    error = _(typed.error, **(typed.params or {})) if typed.error else ""
    return render(
        request,
        TEMPLATE,
        {
            "lang": lang,
            "_": _,
            "scope": {"organisation": org},
            "measure": mc.measure,
            "milestone": milestone,
            "is_open": milestone.status == MilestoneStatus.OPEN.value,
            "reached": milestone.status == MilestoneStatus.REACHED.value,
            "planned_on": format_date(milestone.planned_on, lang),
            "due_on": format_date(milestone.due_on, lang),
            "reached_on": format_date(milestone.reached_on, lang),
            "moved": milestone.due_on != milestone.planned_on,
            "choice": choice if choice in CHOICES else "",
            "notice": notice if notice in NOTICES else "",
            "date_field": DATE_FIELD,
            "typed": typed.value,
            "error": error,
            "min_date": today.isoformat(),
            "max_date": latest_allowed(today).isoformat(),
            "action": _url(raw, query=f"lang={lang}"),
            "ask_yes": _url(raw, query=f"lang={lang}&antwort=ja"),
            "ask_new": _url(raw, query=f"lang={lang}&antwort=neu#{DATE_FIELD}"),
            "language_links": {
                code: _url(raw, query=f"lang={code}" + (f"&antwort={choice}" if choice in CHOICES else ""))
                for code in ("de", "en")
            },
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
    found = milestone_of(session, token)
    answer = form.get("antwort")
    if found is None or answer not in CHOICES:
        return RedirectResponse(_url(raw, query=f"lang={lang}"), status_code=303)
    milestone, _mc = found
    by = f"contact:{token.contact_id}"
    if answer == "ja":
        try:
            confirm(session, clock=clock, milestone_id=milestone.id, by=by)
        except MilestoneRefused:
            # Withdrawn meanwhile: the page says so.
            return RedirectResponse(_url(raw, query=f"lang={lang}"), status_code=303)
        return RedirectResponse(_url(raw, query=f"lang={lang}&notice=reached"), status_code=303)
    value = form.get(DATE_FIELD)
    text = without_control_characters(value)[:40] if isinstance(value, str) else ""
    day = parse_date(text) if text else None
    if day is None:
        key = "milestone.error.date_invalid" if text else "milestone.error.date_required"
        return _refused(request, session, token, raw, lang, Typed(text, key))
    try:
        move(session, clock=clock, milestone_id=milestone.id, new_date=day, by=by)
    except MilestoneRefused as refused:
        if refused.code == "not_open":
            return RedirectResponse(_url(raw, query=f"lang={lang}"), status_code=303)
        params = {k: _shown(v, lang) for k, v in refused.params.items()}
        return _refused(
            request, session, token, raw, lang, Typed(text, f"milestone.error.{refused.code}", params)
        )
    return RedirectResponse(_url(raw, query=f"lang={lang}&notice=moved"), status_code=303)


def _shown(value: Any, lang: str) -> str:
    day = parse_date(str(value))
    return format_date(day, lang) if day else str(value)


def _refused(
    request: Request, session: Session, token: FormToken, raw: str, lang: str, typed: Typed
) -> Response:
    return page(request, session, token, raw, lang, choice="neu", typed=typed, status=422)
