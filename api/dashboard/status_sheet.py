"""The per-field status sheet page (/berichte/sachstand?feld=CODE): HTML or PDF, German or English.

Coordinators and admins see every field; a steering account the fields its bodies watch
(``may_ask`` of ``workflow.bodies.scope_access``, the rule for asking about a measure).
A printable document of its own, like the meeting pack, with a link to the same as PDF.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import Reader, SessionDep, organisation_of, today_of
from api.errors import ApiError
from api.i18n import language_of, translate
from api.security_headers import policy_for_document
from workflow.bodies.scope_access import may_ask
from workflow.reports.status_sheet import (
    find_field,
    sheet_filename,
    sheet_html,
    status_sheet,
)

router = APIRouter(include_in_schema=False)
Format = Literal["html", "pdf"]


@router.get("/berichte/sachstand")
def status_sheet_page(
    request: Request,
    user: Reader,
    session: SessionDep,
    feld: Annotated[str, Query(min_length=1, max_length=16)],
    format: Format = "html",
) -> Response:
    lang = "en" if language_of(request) == "en" else "de"
    field = find_field(session, organisation_id=user.organisation_id, code=feld)
    if field is None:
        message = translate("sheet.error.unknown_field", lang, code=feld)
        raise ApiError(404, "unknown_field", message, {"feld": feld})
    today = today_of(organisation_of(session, user))
    if not may_ask(session, user=user, field_id=field.id, day=today):
        message = translate("sheet.error.not_allowed", lang)
        raise ApiError(403, "not_allowed", message, {"feld": field.code})
    sheet = status_sheet(
        session, organisation_id=user.organisation_id, field_id=field.id, today=today
    )
    html = sheet_html(sheet, lang)
    headers = {
        "Content-Disposition": f'inline; filename="{sheet_filename(sheet, format)}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if format == "pdf":
        from workflow.reports.pdf import html_to_pdf

        return Response(html_to_pdf(html), media_type="application/pdf", headers=headers)
    # The sheet keeps its stylesheet inline (a saved file stays whole): allow just that.
    headers["Content-Security-Policy"] = policy_for_document(html)
    return Response(html.encode("utf-8"), media_type="text/html; charset=utf-8", headers=headers)
