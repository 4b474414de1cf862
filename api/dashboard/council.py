"""The council paper page (/berichte/ratsvorlage?zyklus=YEAR): edit the stored parts, download.

Coordinators write the paper's own parts once per cycle (subject, public or not, the
Beratungsfolge, Anlagen, the introduction and one assessment per field); the figures come
from the cycle. A refused value shows the form again with everything typed and each problem
named; nothing is saved then. The files come from ``workflow.reports.council_render``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from api.csrf import require_csrf
from api.dashboard.common import flash, fmt_date, page, redirect
from api.deps import Coordinator, SessionDep, actor_of
from api.errors import ApiError
from api.i18n import language_of, translate
from workflow import runtime
from workflow.accounts import User
from workflow.cycles.models import Cycle
from workflow.reports import data
from workflow.reports.council import CouncilPaperData, council_paper
from workflow.reports.council_render import build_council
from workflow.reports.council_store import MAX_TEXT, PaperInput, PaperInvalid, save_paper

router = APIRouter(include_in_schema=False)
Year = Annotated[int | None, Query(ge=1900, le=2999)]
Format = Literal["docx", "odt", "pdf"]
SPARE_ROWS = 2  # empty rows offered for another body or attachment
MAX_ROWS = 30  # rows read from a form; more is not a council paper
# A form field is kept this long when shown again, so an over-long text is not lost.
KEEP_TYPED = MAX_TEXT * 4


def _year(session: SessionDep, user: User, zyklus: int | None, lang: str) -> int:
    years = list(
        session.scalars(select(Cycle.year).where(Cycle.organisation_id == user.organisation_id))
    )
    year = zyklus if zyklus is not None else max(years, default=None)
    if year is None or year not in years:
        message = translate("council.error.unknown_cycle", lang, year=zyklus or "–")
        raise ApiError(404, "unknown_cycle", message, {"zyklus": zyklus})
    return year


def _paper(session: SessionDep, user: User, year: int) -> CouncilPaperData:
    scope = data.scope_for(session, organisation_id=user.organisation_id, year=year)
    return council_paper(session, scope)


def _current_values(paper: CouncilPaperData) -> dict[str, Any]:
    """What the paper says now, defaults included: saving them unchanged stores them."""
    return {
        "subject": paper.subject,
        "public": paper.public,
        "introduction": paper.introduction,
        "consultation": [(c.body, fmt_date(c.on) if c.on else "") for c in paper.consultation],
        "attachments": list(paper.attachments),
        "fields": {f.field_id: f.assessment for f in paper.fields},
    }


def _show(
    request: Request,
    user: User,
    paper: CouncilPaperData,
    values: dict[str, Any],
    problems: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = language_of(request)
    values = {
        **values,
        "consultation": [*values["consultation"], *[("", "")] * SPARE_ROWS],
        "attachments": [*values["attachments"], *[""] * SPARE_ROWS],
    }
    return page(
        request,
        "dashboard/council.html",
        user,
        status_code=status_code,
        t=lambda key, **kw: translate(key, lang, **kw),
        paper=paper,
        values=values,
        problems=problems or {},
        max_text=MAX_TEXT,
    )


@router.get("/berichte/ratsvorlage", response_class=HTMLResponse)
def council_page(
    request: Request, user: Coordinator, session: SessionDep, zyklus: Year = None
) -> HTMLResponse:
    year = _year(session, user, zyklus, language_of(request))
    paper = _paper(session, user, year)
    return _show(request, user, paper, _current_values(paper))


def _rows(form: FormData, *names: str) -> list[tuple[str, ...]]:
    out = []
    for i in range(MAX_ROWS):
        keys = [f"{name}_{i}" for name in names]
        if not any(k in form for k in keys):
            break
        out.append(tuple(str(form.get(k, ""))[:KEEP_TYPED] for k in keys))
    return out


@router.post(
    "/berichte/ratsvorlage", response_class=HTMLResponse, dependencies=[Depends(require_csrf)]
)
async def council_save(
    request: Request, user: Coordinator, session: SessionDep, zyklus: Year = None
) -> Response:
    lang = language_of(request)
    year = _year(session, user, zyklus, lang)
    paper = _paper(session, user, year)
    form = await request.form()
    consultation = [(b, d) for b, d in _rows(form, "consultation_body", "consultation_date")]
    attachments = [a for (a,) in _rows(form, "attachment")]
    fields = {f.field_id: str(form.get(f"field_{f.field_id}", ""))[:KEEP_TYPED] for f in paper.fields}
    values: dict[str, Any] = {
        "subject": str(form.get("subject", ""))[:KEEP_TYPED],
        "public": form.get("public") == "1",
        "introduction": str(form.get("introduction", ""))[:KEEP_TYPED],
        "consultation": [(b, d) for b, d in consultation if b or d],
        "attachments": [a for a in attachments if a],
        "fields": fields,
    }
    typed = PaperInput(
        subject=values["subject"],
        public=values["public"],
        introduction=values["introduction"],
        consultation=tuple(values["consultation"]),
        attachments=tuple(values["attachments"]),
        field_texts=fields,
    )
    try:
        save_paper(
            session=session,
            organisation_id=user.organisation_id,
            year=year,
            typed=typed,
            by=actor_of(user),
            now=runtime.current().clock.now(),
        )
    except PaperInvalid as exc:
        # Row numbers follow what is shown again: the rows left empty are dropped above.
        problems = {
            p.name: translate(f"council.problem.{p.code}", lang, **p.params) for p in exc.problems
        }
        return _show(request, user, paper, values, problems, status_code=422)
    flash(request, "council.saved")
    return redirect(f"/berichte/ratsvorlage?zyklus={year}")


@router.get("/berichte/ratsvorlage/datei")
def council_file(
    request: Request, user: Coordinator, session: SessionDep, format: Format, zyklus: Year = None
) -> Response:
    year = _year(session, user, zyklus, language_of(request))
    rendered = build_council(session, organisation_id=user.organisation_id, year=year, fmt=format)
    headers = {
        "Content-Disposition": f'attachment; filename="{rendered.filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(rendered.content, media_type=rendered.media_type, headers=headers)
