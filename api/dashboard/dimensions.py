"""The organisation's breakdowns (Merkmale) at ``/kennzahlen/merkmale``: everyone signed in
reads the list, the coordinator adds and renames dimensions and categories and removes an
unused category.

One form posts every change, named by ``action``; a refused change shows the page again
with the reason and what was typed. The list itself is ``workflow.indicators.dimensions``;
texts come from ``api/locales/dimensions.*.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.dashboard.common import flash, page, redirect
from api.deps import Coordinator, Reader, SessionDep
from api.i18n import language_of, translate, translate_plural
from workflow import runtime
from workflow.accounts import User
from workflow.indicators import dimensions as dims

router = APIRouter(include_in_schema=False)
PATH = "/kennzahlen/merkmale"
MAX_TYPED = 300
FIELDS = ("action", "dimension", "code", "label")


def _problem(exc: dims.DimensionRefused, lang: str) -> str:
    params = dict(exc.params)
    count = params.pop("count", None)
    if isinstance(count, int):
        return translate_plural(exc.code, count, lang, **params)
    return translate(exc.code, lang, **params)


def _view(
    request: Request,
    session: Session,
    user: User,
    *,
    typed: dict[str, str] | None = None,
    problem: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    lang = language_of(request)
    listed = dims.ensure_standard_dimensions(
        session, user.organisation_id, runtime.current().clock.now()
    )
    t: Callable[..., str] = lambda key, **values: translate(key, lang, **values)  # noqa: E731
    return page(
        request,
        "dashboard/dimensions.html",
        user,
        status_code=status_code,
        t=t,
        dimensions=listed,
        typed=typed or {},
        problem=problem,
    )


@router.get(PATH, response_class=HTMLResponse)
def dimensions_page(request: Request, user: Reader, session: SessionDep) -> HTMLResponse:
    return _view(request, session, user)


def _apply(session: Session, org_id: int, typed: dict[str, str]) -> str:
    """Carry out one change; returns the flash key of its success."""
    action, dimension, code, label = (typed[k] for k in FIELDS)
    now = runtime.current().clock.now()
    actions: dict[str, Callable[[], Any]] = {
        "add_dimension": lambda: dims.add_dimension(
            session, org_id, code=code, label=label, now=now
        ),
        "rename_dimension": lambda: dims.rename_dimension(session, org_id, dimension, label),
        "add_category": lambda: dims.add_category(
            session, org_id, dimension, code=code, label=label
        ),
        "rename_category": lambda: dims.rename_category(session, org_id, dimension, code, label),
        "remove_category": lambda: dims.remove_category(session, org_id, dimension, code),
    }
    if action not in actions:
        raise dims.DimensionRefused("dimensions.error.action_unknown")
    actions[action]()
    return f"dimensions.saved.{action}"


@router.post(PATH, response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
async def change_dimensions(request: Request, user: Coordinator, session: SessionDep) -> Response:
    form = await request.form()
    typed = {k: str(form.get(k, "")).strip()[:MAX_TYPED] for k in FIELDS}
    dims.ensure_standard_dimensions(session, user.organisation_id, runtime.current().clock.now())
    try:
        saved = _apply(session, user.organisation_id, typed)
    except dims.DimensionRefused as exc:
        problem = _problem(exc, language_of(request))
        return _view(request, session, user, typed=typed, problem=problem, status_code=422)
    flash(request, saved)
    return redirect(PATH)
