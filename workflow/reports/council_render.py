"""One entry point for the council paper: which cycle, which format -> file bytes; reads only.

PDF goes through the reports' HTML (``templates/council.html``) and WeasyPrint like the
other reports; Word and OpenDocument through their writers. Raises ``ReportUnavailable``
for an unknown cycle or format; the caller owns the session.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from workflow.reports import data
from workflow.reports.build import Rendered
from workflow.reports.council import CouncilPaperData, council_paper
from workflow.reports.council_outline import outline
from workflow.reports.data import ReportUnavailable
from workflow.reports.html import environment

FORMATS = ("docx", "odt", "pdf")
MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
    "pdf": "application/pdf",
}


def council_html(paper: CouncilPaperData) -> str:
    return environment().get_template("council.html").render(p=paper, blocks=outline(paper))


def render_paper(paper: CouncilPaperData, fmt: str) -> bytes:
    if fmt == "docx":
        from workflow.reports.council_docx import to_docx

        return to_docx(paper)
    if fmt == "odt":
        from workflow.reports.council_odt import to_odt

        return to_odt(paper)
    from workflow.reports.pdf import html_to_pdf

    return html_to_pdf(council_html(paper))


def build_council(
    session: Session,
    *,
    organisation_id: int,
    year: int,
    fmt: str,
    report_date: date | None = None,
) -> Rendered:
    if fmt not in FORMATS:
        raise ReportUnavailable("report.unknown_format", format=fmt, allowed=list(FORMATS))
    scope = data.scope_for(
        session, organisation_id=organisation_id, year=year, report_date=report_date
    )
    paper = council_paper(session, scope)
    name = f"ratsvorlage-{scope.organisation.slug}-{year}-{scope.report_date.isoformat()}.{fmt}"
    return Rendered(render_paper(paper, fmt), MEDIA_TYPES[fmt], name)
