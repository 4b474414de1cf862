"""One entry point for the CLI and the API: which report, which cycle, which format -> bytes.

Reads only; the caller owns the session. Raises ``ReportUnavailable`` (a code and parameters)
when the data cannot make the report (no such cycle, no meeting entered).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from workflow.reports import data, html
from workflow.reports.data import ReportUnavailable
from workflow.reports.district_data import district_part

__all__ = ["FORMATS", "KINDS", "Rendered", "ReportUnavailable", "build_report"]

KINDS = html.KINDS
FORMATS = ("html", "pdf")
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@dataclass(frozen=True)
class Rendered:
    content: bytes
    media_type: str
    filename: str


def build_report(
    session: Session,
    *,
    organisation_id: int,
    kind: str,
    year: int,
    fmt: str = "html",
    report_date: date | None = None,
    meeting_date: date | None = None,
) -> Rendered:
    if kind not in KINDS:
        raise ReportUnavailable("report.unknown_kind", kind=kind, allowed=list(KINDS))
    if fmt not in FORMATS:
        raise ReportUnavailable("report.unknown_format", format=fmt, allowed=list(FORMATS))
    if kind == "meeting":
        scope = data.meeting_scope(
            session,
            organisation_id=organisation_id,
            year=year,
            meeting_date=meeting_date or report_date,
        )
        document = html.meeting_html(data.meeting_pack(session, scope))
    else:
        scope = data.scope_for(
            session, organisation_id=organisation_id, year=year, report_date=report_date
        )
        # District part (issue 15, item 4): None unless the organisation is a district.
        towns = district_part(session, scope, with_status_quo=kind == "status-quo")
        document = (
            html.status_quo_html(data.status_quo(session, scope), towns)
            if kind == "status-quo"
            else html.annual_html(data.annual(session, scope), towns)
        )
    if fmt == "pdf":
        from workflow.reports.pdf import html_to_pdf

        content = html_to_pdf(document)
    else:
        content = document.encode("utf-8")
    name = f"{kind}-{scope.organisation.slug}-{year}-{scope.report_date.isoformat()}.{fmt}"
    return Rendered(content, MEDIA_TYPES[fmt], name)
