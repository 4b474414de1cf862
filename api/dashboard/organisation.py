"""The page ``/organisation``: everyone signed in reads the settings, coordinators change them.

A refused value shows the form again with everything that was typed and every problem named;
nothing is saved then. Texts come from api/locales/organisation.*.json through ``t()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from api.csrf import require_csrf
from api.dashboard.common import flash, page, redirect
from api.deps import Coordinator, Reader, SessionDep, organisation_of
from api.i18n import language_of, translate
from api.setting_errors import setting_problem
from workflow.accounts import User
from workflow.catalogue.models import Organisation
from workflow.organisation_settings import (
    FIELDS,
    KINDS,
    LAENDER,
    SettingsInvalid,
    current,
    time_zones,
    update_settings,
)
from workflow.terms import COUNCIL_TERMS, UNIT_TERMS, council_by_kind

router = APIRouter(include_in_schema=False)
# A form field holds at most this much; the service names anything longer than a column.
MAX_TYPED = 2000


def translator(request: Request) -> Callable[..., str]:
    lang = language_of(request)
    return lambda key, **values: translate(key, lang, **values)


def _page(
    request: Request,
    user: User,
    org: Organisation,
    *,
    typed: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "dashboard/organisation.html",
        user,
        status_code=status_code,
        t=translator(request),
        org=org,
        values=typed or current(org),
        problems=problems or {},
        fields=FIELDS,
        kinds=KINDS,
        laender=LAENDER,
        unit_terms=UNIT_TERMS,
        council_terms=COUNCIL_TERMS,
        # What "by kind" means for this organisation, shown beside that choice.
        council_by_kind=council_by_kind(org.kind),
        # Only the zones people here choose from; a stored other zone is kept as an option.
        zones=sorted(z for z in time_zones() if z.startswith("Europe/")),
    )


@router.get("/organisation", response_class=HTMLResponse)
def organisation_page(request: Request, user: Reader, session: SessionDep) -> HTMLResponse:
    return _page(request, user, organisation_of(session, user))


@router.post("/organisation", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
async def save(request: Request, user: Coordinator, session: SessionDep) -> Response:
    org = organisation_of(session, user)
    form = await request.form()
    # A field the form did not send stays as it is (a page from before a new setting).
    sent = {name: form.get(name) for name in FIELDS}
    changes = {name: None if v is None else str(v)[:MAX_TYPED] for name, v in sent.items()}
    typed = {name: v if v is not None else current(org)[name] for name, v in changes.items()}
    try:
        update_settings(session=session, organisation_id=org.id, changes=changes)
    except SettingsInvalid as exc:
        lang = language_of(request)
        problems: dict[str, Any] = {p.setting: setting_problem(p, lang) for p in exc.problems}
        return _page(request, user, org, typed=typed, problems=problems, status_code=422)
    flash(request, "org.saved")
    return redirect("/organisation")
