"""Reports and the answers export over HTTP: the same bytes as the CLI, for every reader role."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api.deps import Reader, SessionDep
from api.errors import ApiError
from api.routes.common import cycle_or_404
from api.routes.schemas import ERRORS
from api.security_headers import policy_for_document
from workflow.catalogue.models import Organisation
from workflow.reports.answers import answers_table, to_csv, to_xlsx
from workflow.reports.build import ReportUnavailable, build_report

router = APIRouter(tags=["reports"], responses=ERRORS)
YearQuery = Annotated[int | None, Query(ge=2000, le=2100, description="Jahr; sonst das neueste")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT_CONTENT: dict[str, Any] = {"text/html": {}, "application/pdf": {}}


def _download(content: bytes, media_type: str, filename: str, inline: bool) -> Response:
    disposition = "inline" if inline else "attachment"
    headers = {
        "Content-Disposition": f'{disposition}; filename="{filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if media_type.startswith("text/html"):
        # The report keeps its stylesheet inline (a saved file stays whole): allow just that.
        headers["Content-Security-Policy"] = policy_for_document(content.decode("utf-8"))
    return Response(content, media_type=media_type, headers=headers)


@router.get(
    "/api/v1/reports/{kind}",
    summary="Bericht als HTML oder PDF (Status-Quo-Bericht, Jahresbericht, Sitzungsunterlage)",
    response_class=Response,
    responses={200: {"content": REPORT_CONTENT, "description": "Der Bericht"}},
)
def get_report(
    kind: Annotated[Literal["status-quo", "annual", "meeting"], Path()],
    user: Reader,
    session: SessionDep,
    cycle: YearQuery = None,
    format: Literal["html", "pdf"] = "html",
    meeting_date: Annotated[date | None, Query(description="Sitzungstag (nur meeting)")] = None,
    report_date: Annotated[
        date | None, Query(description="Stichtag; sonst letztes Ereignis")
    ] = None,
) -> Response:
    the_cycle = cycle_or_404(session, user, cycle)
    try:
        rendered = build_report(
            session,
            organisation_id=user.organisation_id,
            kind=kind,
            year=the_cycle.year,
            fmt=format,
            report_date=report_date,
            meeting_date=meeting_date,
        )
    except ReportUnavailable as exc:
        raise ApiError.refusal(404, "report_unavailable", exc) from None
    return _download(rendered.content, rendered.media_type, rendered.filename, format == "html")


@router.get(
    "/api/v1/cycles/{year}/answers",
    summary="Alle Antworten eines Zyklus als CSV oder XLSX (eine Zeile je Maßnahme)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, XLSX: {}}, "description": "Die Tabelle"}},
)
def get_answers(
    year: Annotated[int, Path(ge=2000, le=2100)],
    user: Reader,
    session: SessionDep,
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    the_cycle = cycle_or_404(session, user, year)
    table = answers_table(session, organisation_id=user.organisation_id, year=the_cycle.year)
    org = session.get(Organisation, user.organisation_id)
    name = f"antworten-{org.slug if org else 'zielflow'}-{year}.{format}"
    if format == "xlsx":
        return _download(to_xlsx(table), XLSX, name, inline=False)
    return _download(to_csv(table), "text/csv; charset=utf-8", name, inline=False)
