"""The page ``/monitoring/{year}``: what only the monitoring report shows, and the report itself.

Everyone signed in reads the Annahmen per Handlungsfeld and the year's statement of the
statistics office; coordinators change them (one form per field, one for the statement,
CSRF as every dashboard form). ``/monitoring/{year}/bericht`` is the report as HTML or PDF.
Texts come from api/locales/monitoring.*.json.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.dashboard.common import flash, page, redirect
from api.deps import Coordinator, Reader, SessionDep
from api.i18n import language_of, translate
from api.security_headers import policy_for_document
from workflow.accounts import User
from workflow.catalogue.models import Field
from workflow.monitoring.report_texts import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_TEXT,
    TextRefused,
    refusal_values,
    set_assumptions,
    set_statement,
    statement_of,
)
from workflow.reports.german import code_key

router = APIRouter(include_in_schema=False)
Year = Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR)]
FieldCode = Annotated[str, Path(min_length=1, max_length=16)]
Format = Literal["html", "pdf"]
# A form field holds at most a little more than the service accepts, so it can name the limit.
MAX_TYPED = MAX_TEXT + 1000


def _fields(session: Session, organisation_id: int) -> list[Field]:
    found = session.scalars(select(Field).where(Field.organisation_id == organisation_id)).all()
    return sorted(found, key=lambda f: code_key(f.code))


def _page(
    request: Request,
    user: User,
    session: Session,
    year: int,
    *,
    typed: dict[str, str] | None = None,
    problem: tuple[str, str] | None = None,  # (form id, sentence)
    status_code: int = 200,
) -> HTMLResponse:
    statement = statement_of(session, organisation_id=user.organisation_id, year=year)
    return page(
        request,
        "dashboard/monitoring.html",
        user,
        status_code=status_code,
        t=lambda key, **values: translate(key, language_of(request), **values),
        year=year,
        fields=_fields(session, user.organisation_id),
        statement=statement,
        typed=typed or {},
        problem=problem,
    )


async def _typed(request: Request, *names: str) -> dict[str, str]:
    form = await request.form()
    return {name: str(form.get(name) or "")[:MAX_TYPED] for name in names}


def _sentence(request: Request, exc: TextRefused) -> str:
    lang = language_of(request)
    return translate(exc.key, lang, **refusal_values(exc, lang))


@router.get("/monitoring/{year}", response_class=HTMLResponse)
def monitoring_page(
    request: Request, user: Reader, session: SessionDep, year: Year
) -> HTMLResponse:
    return _page(request, user, session, year)


@router.post(
    "/monitoring/{year}/annahmen/{code}",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def save_assumptions(
    request: Request, user: Coordinator, session: SessionDep, year: Year, code: FieldCode
) -> Response:
    typed = await _typed(request, "text")
    try:
        found = set_assumptions(
            session, organisation_id=user.organisation_id, field_code=code, text=typed["text"]
        )
    except TextRefused as exc:
        problem = (f"feld-{code}", _sentence(request, exc))
        typed_by_form = {f"feld-{code}": typed["text"]}
        return _page(
            request, user, session, year, typed=typed_by_form, problem=problem, status_code=422
        )
    flash(request, "monitoring.page.assumptions_saved")
    return redirect(f"/monitoring/{year}#feld-{found.code}")


@router.post(
    "/monitoring/{year}/stellungnahme",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def save_statement(
    request: Request, user: Coordinator, session: SessionDep, year: Year
) -> Response:
    from workflow import runtime

    typed = await _typed(request, "text", "author")
    try:
        set_statement(
            session,
            organisation_id=user.organisation_id,
            year=year,
            text=typed["text"],
            author=typed["author"],
            by=f"user:{user.id}",
            at=runtime.current().clock.now(),
        )
    except TextRefused as exc:
        problem = ("stellungnahme", _sentence(request, exc))
        typed_by_form = {"stellungnahme": typed["text"], "author": typed["author"]}
        return _page(
            request, user, session, year, typed=typed_by_form, problem=problem, status_code=422
        )
    flash(request, "monitoring.page.statement_saved")
    return redirect(f"/monitoring/{year}#stellungnahme")


@router.get("/monitoring/{year}/bericht")
def monitoring_report_document(
    request: Request, user: Reader, session: SessionDep, year: Year, format: Format = "html"
) -> Response:
    from workflow.reports.monitoring_data import monitoring_report
    from workflow.reports.monitoring_html import render

    lang = language_of(request)
    report = monitoring_report(session, organisation_id=user.organisation_id, year=year)
    rendered = render(report, format, lang)
    headers = {
        "Content-Disposition": f'inline; filename="{rendered.filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if format == "html":
        # The report keeps its stylesheet inline (a saved file stays whole): allow just that.
        headers["Content-Security-Policy"] = policy_for_document(rendered.content.decode())
    return Response(rendered.content, media_type=rendered.media_type, headers=headers)
