"""The forms of /sitzungen/{id}: agenda, guests, attendance and minutes; coordinators only.

Each form is one change in one transaction; a refusal shows the meeting page again with the
reason next to the form that failed, and saves nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.body_text import error_status, error_text
from api.csrf import require_csrf
from api.dashboard.body_forms import whole_number
from api.dashboard.common import RowId, flash, redirect
from api.dashboard.meeting_view import agenda_rows, chosen_entries
from api.dashboard.meetings import meeting_or_404, meeting_page
from api.deps import Coordinator, SessionDep, organisation_of, today_of
from api.i18n import language_of
from workflow import runtime
from workflow.accounts import User
from workflow.bodies.errors import BodyError
from workflow.bodies.models import Meeting
from workflow.meetings import agenda, guests, queries, record

router = APIRouter(include_in_schema=False)
MAX_IDS = 500


async def _act(
    request: Request,
    session: Session,
    user: User,
    meeting_id: int,
    action: str,
    change: Callable[[Meeting, FormData], object],
    done: str,
) -> Response:
    """Run one change of a meeting's page; on refusal show the page again with the reason."""
    meeting = meeting_or_404(session, user, meeting_id)
    form = await request.form()
    try:
        with session.begin_nested():  # a refusal halfway leaves nothing behind
            change(meeting, form)
    except BodyError as exc:
        session.expire_all()
        return meeting_page(
            request,
            session,
            user,
            meeting,
            error=error_text(exc, language_of(request)),
            failed=action,
            # What was typed, to show again; long enough for minutes.
            typed={k: str(v)[: record.MINUTES_LIMIT] for k, v in form.items()},
            status_code=error_status(exc) if not exc.not_found else 422,
        )
    flash(request, done)
    return redirect(f"/sitzungen/{meeting_id}#{action}")


def _ids(form: FormData, name: str) -> list[int]:
    out = []
    for raw in form.getlist(name)[:MAX_IDS]:
        value = whole_number(str(raw)[:20])
        if value is not None:
            out.append(value)
    return out


@router.post(
    "/sitzungen/{meeting_id}/tagesordnung",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def save_agenda(
    request: Request, meeting_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    now = runtime.current().clock.now()

    def change(meeting: Meeting, form: FormData) -> None:
        _, proposal = agenda_rows(session, meeting, now, language_of(request))
        entries = chosen_entries(session, meeting, form, proposal)
        agenda.set_agenda(session=session, meeting_id=meeting.id, items=entries, now=now)

    return await _act(
        request, session, user, meeting_id, "tagesordnung", change, "meeting.agenda.saved"
    )


@router.post(
    "/sitzungen/{meeting_id}/gaeste",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def add_guest(
    request: Request, meeting_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    def change(meeting: Meeting, form: FormData) -> None:
        typed = {k: str(form.get(k, ""))[:500] for k in ("name", "email", "language")}
        guests.add_guest(
            session=session,
            meeting=meeting,
            name=typed["name"],
            email=typed["email"],
            language=typed["language"] or "de",
        )

    return await _act(request, session, user, meeting_id, "gaeste", change, "meeting.guests.added")


@router.post(
    "/sitzungen/{meeting_id}/gaeste/vorschlaege",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def invite_proposed(
    request: Request, meeting_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    def change(meeting: Meeting, form: FormData) -> None:
        chosen = set(_ids(form, "invite"))
        for p in guests.proposed_guests(session, meeting=meeting):
            if p.contact_id in chosen:
                guests.add_guest(
                    session=session,
                    meeting=meeting,
                    name=p.name,
                    email=p.email,
                    language=p.language,
                    field_id=p.field_id,
                    contact_id=p.contact_id,
                )

    return await _act(
        request, session, user, meeting_id, "gaeste", change, "meeting.guests.invited"
    )


@router.post(
    "/sitzungen/{meeting_id}/gaeste/entfernen",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def remove_guest(
    request: Request, meeting_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    def change(meeting: Meeting, form: FormData) -> None:
        guest_id = whole_number(str(form.get("guest_id", ""))[:20])
        if guest_id is None:
            raise BodyError("guest_not_found", ref="")
        guests.remove_guest(session=session, meeting=meeting, guest_id=guest_id)

    return await _act(
        request, session, user, meeting_id, "gaeste", change, "meeting.guests.removed"
    )


@router.post(
    "/sitzungen/{meeting_id}/anwesenheit",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def save_attendance(
    request: Request, meeting_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    today = today_of(organisation_of(session, user))

    def change(meeting: Meeting, form: FormData) -> None:
        # Every listed member or guest is recorded: ticked present, the others absent.
        present, guests_present = set(_ids(form, "present")), set(_ids(form, "guest_present"))
        record.set_attendance(
            session=session,
            meeting=meeting,
            today=today,
            members={m: m in present for m in _ids(form, "member")},
            guests={g: g in guests_present for g in _ids(form, "guest")},
        )

    return await _act(
        request, session, user, meeting_id, "anwesenheit", change, "meeting.attendance.saved"
    )


@router.post(
    "/sitzungen/{meeting_id}/niederschrift",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def save_minutes(
    request: Request, meeting_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    today = today_of(organisation_of(session, user))

    def change(meeting: Meeting, form: FormData) -> None:
        items = {
            i.id: str(form.get(f"minutes_{i.id}", ""))[: record.MINUTES_LIMIT + 1]
            for i in queries.agenda_of(session, meeting.id)
            if f"minutes_{i.id}" in form
        }
        notes = form.get("notes")
        record.set_minutes(
            session=session,
            meeting=meeting,
            today=today,
            items=items,
            notes=str(notes)[: record.MINUTES_LIMIT + 1] if notes is not None else None,
        )

    return await _act(
        request, session, user, meeting_id, "niederschrift", change, "meeting.minutes.saved"
    )
