"""A meeting's pack (Sitzungsunterlage) over HTTP: HTML or PDF, German or English.

The page route (/sitzungen/{id}/unterlage) answers with the same bytes; both check that the
meeting belongs to the reader's organisation before anything is built.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import Reader, SessionDep, organisation_of
from api.errors import ApiError
from api.i18n import translate
from api.routes.schemas import ERRORS
from api.security_headers import policy_for_document
from workflow.accounts import User
from workflow.bodies.errors import BodyError
from workflow.meetings.pack import meeting_pack_html, pack_filename
from workflow.meetings.queries import get_meeting

router = APIRouter(tags=["meetings"], responses=ERRORS)
PACK_CONTENT: dict[str, Any] = {"text/html": {}, "application/pdf": {}}
Format = Literal["html", "pdf"]
Language = Literal["de", "en"]


def pack_response(
    session: Session, user: User, meeting_id: int, fmt: Format, lang: Language
) -> Response:
    """The pack of the reader's organisation's meeting; 404 for any other meeting."""
    try:
        meeting = get_meeting(
            session, organisation_id=organisation_of(session, user).id, meeting_id=meeting_id
        )
    except BodyError as exc:
        message = translate("pack.error.not_found", lang)
        raise ApiError(404, exc.code, message, {"meeting_id": meeting_id}) from None
    html = meeting_pack_html(session, meeting.id, lang)
    headers = {
        "Content-Disposition": f'inline; filename="{pack_filename(meeting, fmt)}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if fmt == "pdf":
        from workflow.reports.pdf import html_to_pdf

        return Response(html_to_pdf(html), media_type="application/pdf", headers=headers)
    # The pack keeps its stylesheet inline (a saved file stays whole): allow just that.
    headers["Content-Security-Policy"] = policy_for_document(html)
    return Response(html.encode("utf-8"), media_type="text/html; charset=utf-8", headers=headers)


@router.get(
    "/api/v1/meetings/{meeting_id}/pack",
    summary="Sitzungsunterlage einer Sitzung, nach ihrer Tagesordnung (HTML oder PDF)",
    response_class=Response,
    responses={200: {"content": PACK_CONTENT, "description": "Die Sitzungsunterlage"}},
)
def get_pack(
    meeting_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    user: Reader,
    session: SessionDep,
    format: Format = "html",
    lang: Annotated[Language, Query(description="Sprache der Unterlage")] = "de",
) -> Response:
    return pack_response(session, user, meeting_id, format, lang)
