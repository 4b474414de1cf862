"""The page /kennzahlen/pruefung: the data status of the indicators and a check form per value.

Everyone signed in reads the three lists (missing deliveries, unusual values, values not yet
checked); coordinators, admins and current members of a Monitoringgruppe mark a value as
geprüft, bestätigt or korrigiert. A refused step shows the page again with the reason at
the value's form and 422; nothing is saved then. Decides nothing itself:
workflow/indicators/checks.py.

The route must be included before /kennzahlen/{indicator_id} (api/dashboard/indicators.py),
whose path would otherwise take "pruefung" for an indicator's id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.dashboard.common import RowId, flash, page, redirect
from api.dashboard.page_error import not_found
from api.deps import Reader, SessionDep, actor_of, organisation_of, today_of
from api.errors import WordedHTTPException, worded
from api.i18n import language_of, translate
from workflow import runtime
from workflow.accounts import User
from workflow.forms.validation import parse_number
from workflow.indicators.checks import STEPS, CheckRefused, check_value, data_status, may_check

router = APIRouter(include_in_schema=False)
PAGE = "/kennzahlen/pruefung"
_NUMBERS = ("value", "numerator", "denominator", "population_share")


@dataclass(frozen=True)
class Problem:
    """What keeps one value's form from being saved: the value, the input, the sentence."""

    value_id: int
    field: str
    text: str


def _words(request: Request) -> dict[str, Callable[..., str]]:
    lang = language_of(request)
    return {"t": lambda key, **values: translate(key, lang, **values)}


def _page(
    request: Request,
    session: Session,
    user: User,
    *,
    problem: Problem | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    today = today_of(organisation_of(session, user))
    return page(
        request,
        "dashboard/value_checks.html",
        user,
        status_code=status_code,
        status=data_status(session, user.organisation_id, today),
        today=today,
        may_check=may_check(session, user=user, day=today),
        steps=STEPS,
        problem=problem,
        typed=typed or {},
        **_words(request),
    )


@router.get(PAGE, response_class=HTMLResponse)
def value_checks_page(request: Request, user: Reader, session: SessionDep) -> HTMLResponse:
    return _page(request, session, user)


@router.post(
    f"{PAGE}/{{value_id}}", response_class=HTMLResponse, dependencies=[Depends(require_csrf)]
)
async def check_value_form(
    request: Request, value_id: RowId, user: Reader, session: SessionDep
) -> Response:
    today = today_of(organisation_of(session, user))
    if not may_check(session, user=user, day=today):
        raise WordedHTTPException(403, "http.forbidden")
    form = await request.form()
    typed = {k: str(form.get(k) or "") for k in ("state", "note", *_NUMBERS)}
    lang = language_of(request)
    numbers: dict[str, float | None] = {}
    for name in _NUMBERS:
        parsed = parse_number(typed[name]) if typed[name].strip() else None
        if typed[name].strip() and parsed is None:
            text = translate("value_checks.error.number", lang)
            return _refused(request, session, user, Problem(value_id, name, text), typed)
        numbers[name] = float(parsed) if parsed is not None else None
    try:
        with session.begin_nested():  # a refusal halfway leaves nothing behind
            check_value(
                session=session,
                organisation_id=user.organisation_id,
                value_id=value_id,
                state=typed["state"],
                by=actor_of(user),
                now=runtime.current().clock.now(),
                note=typed["note"],
                corrected_value=numbers["value"],
                numerator=numbers["numerator"],
                denominator=numbers["denominator"],
                population_share=numbers["population_share"],
            )
    except CheckRefused as exc:
        if exc.code == "indicator.check_not_found":
            raise not_found("indicator") from None
        session.expire_all()
        text = worded(exc.code, lang, exc.params)
        problem = Problem(value_id, exc.field or "state", text)
        return _refused(request, session, user, problem, typed)
    flash(request, "value_checks.saved")
    return redirect(f"{PAGE}#wert-{value_id}")


def _refused(
    request: Request, session: Session, user: User, problem: Problem, typed: dict[str, Any]
) -> HTMLResponse:
    return _page(request, session, user, problem=problem, typed=typed, status_code=422)
