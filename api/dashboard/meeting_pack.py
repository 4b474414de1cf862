"""The meeting pack page (/sitzungen/{id}/unterlage): the pack in the reader's language.

Linked from the meeting invitation and the meeting page; a printable document of its own
rather than a dashboard page, with a link to the same pack as PDF (``?format=pdf``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.dashboard.common import RowId
from api.deps import Reader, SessionDep
from api.i18n import language_of
from api.routes.meeting_pack import Format, pack_response

router = APIRouter(include_in_schema=False)


@router.get("/sitzungen/{meeting_id}/unterlage")
def meeting_pack_page(
    request: Request,
    meeting_id: RowId,
    user: Reader,
    session: SessionDep,
    format: Format = "html",
) -> Response:
    return pack_response(
        session, user, meeting_id, format, "en" if language_of(request) == "en" else "de"
    )
