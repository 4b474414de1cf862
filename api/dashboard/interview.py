"""The Erstgespräch with one contact: record it for all their measures at once, and invite by .ics.

Recording is all or nothing: one refused or stale measure leaves every measure unchanged
and shows the form again with everything that was typed. A measure to adapt ("anpassen")
is opened for editing next, one after the other (``api.dashboard.measure_edit``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from icalendar import Calendar, Event, vCalAddress, vText
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.dashboard.common import RowId, flash, page, redirect
from api.deps import Coordinator, SessionDep, actor_of, organisation_of, today_of
from api.errors import ApiError
from api.i18n import language_of, translate
from workflow import runtime
from workflow.accounts import User
from workflow.catalogue.models import Contact, Department, Measure
from workflow.cycles import coordination, queries
from workflow.cycles.models import MeasureCycle
from workflow.cycles.service import interview_window
from workflow.machine import MoveRefused, State
from workflow.transitions import VersionConflict

router = APIRouter(include_in_schema=False)
WAITING = (State.INITIAL_INTERVIEW.value,)
# An invitation's start must lie in the years a cycle may have (see the API's year bounds):
# a far date is a typo, and one near datetime.max would overflow when the end is added.
FIRST_START, LAST_START = date(2000, 1, 1), date(2100, 12, 31)


def _contact(session: Session, user: User, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None or contact.organisation_id != user.organisation_id:
        raise ApiError(404, "not_found", "Diese Ansprechperson gibt es nicht.")
    return contact


def _items(session: Session, user: User, contact_id: int) -> list[queries.ItemRow]:
    cycle = queries.latest_cycle(session, user.organisation_id)
    if cycle is None:
        return []
    rows, _ = queries.list_items(
        session,
        cycle_id=cycle.id,
        today=today_of(organisation_of(session, user)),
        f=queries.ItemFilter(states=WAITING, contact_id=contact_id),
    )
    return rows


@router.get("/erstgespraech", response_class=HTMLResponse)
def interview_list(request: Request, user: Coordinator, session: SessionDep) -> HTMLResponse:
    cycle = queries.latest_cycle(session, user.organisation_id)
    contacts: Sequence[Any] = []
    if cycle is not None:
        contacts = session.execute(
            select(Contact.id, Contact.name, Department.name, func.count(MeasureCycle.id))
            .join(Measure, Measure.contact_id == Contact.id)
            .join(MeasureCycle, MeasureCycle.measure_id == Measure.id)
            .outerjoin(Department, Department.id == Contact.department_id)
            .where(MeasureCycle.cycle_id == cycle.id, MeasureCycle.state.in_(WAITING))
            .group_by(Contact.id, Contact.name, Department.name)
            .order_by(Department.name, Contact.name)
        ).all()
    return page(request, "dashboard/interview_list.html", user, cycle=cycle, contacts=contacts)


def _form(
    request: Request,
    session: Session,
    user: User,
    contact: Contact,
    *,
    typed: dict[str, str] | None = None,
    error: str | None = None,
    error_key: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "dashboard/interview.html",
        user,
        status_code=status_code,
        contact=contact,
        items=_items(session, user, contact.id),
        decisions=coordination.INTERVIEW_DECISIONS,
        statuses=coordination.IMPLEMENTATION_STATUSES,
        typed=typed or {"held_on": today_of(organisation_of(session, user)).isoformat()},
        error=error,
        error_key=error_key,
    )


@router.get("/erstgespraech/{contact_id}", response_class=HTMLResponse)
def interview_form(
    request: Request, contact_id: RowId, user: Coordinator, session: SessionDep
) -> HTMLResponse:
    return _form(request, session, user, _contact(session, user, contact_id))


@router.post(
    "/erstgespraech/{contact_id}",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def record(
    request: Request, contact_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    contact = _contact(session, user, contact_id)
    form = await request.form()
    typed = {k: str(v)[:5000] for k, v in form.items() if k != "csrf_token"}
    common = {k: typed.get(k, "") for k in ("held_on", "participants", "notes")}
    chosen = [
        (row, typed.get(f"decision_{row.id}", ""))
        for row in _items(session, user, contact.id)
        if typed.get(f"decision_{row.id}")
    ]
    if not chosen:
        return _form(
            request,
            session,
            user,
            contact,
            typed=typed,
            error_key="interview.nothing",
            status_code=422,
        )
    outside = _held_on_outside(session, common["held_on"], [row.id for row, _ in chosen])
    if outside is not None:
        message = translate("interview.held_on_outside", language_of(request), **outside)
        return _form(request, session, user, contact, typed=typed, error=message, status_code=422)
    clock = runtime.current().clock
    savepoint = session.begin_nested()
    try:
        for row, decision in chosen:
            try:
                version = int(typed.get(f"version_{row.id}", ""))
            except ValueError:
                version = 0
            coordination.perform(
                session=session,
                clock=clock,
                measure_cycle_id=row.id,
                event="record_interview",
                expected_version=version,
                actor=actor_of(user),
                payload={
                    **common,
                    "notes": typed.get(f"notes_{row.id}") or common["notes"],
                    "decision": decision,
                    "implementation_status": typed.get(f"status_{row.id}", ""),
                },
            )
        savepoint.commit()
    except VersionConflict:
        savepoint.rollback()
        return _form(
            request,
            session,
            user,
            contact,
            typed=typed,
            error_key="measure.conflict",
            status_code=409,
        )
    except (MoveRefused, coordination.PayloadInvalid) as exc:
        savepoint.rollback()
        message = (
            exc.reason
            if isinstance(exc, MoveRefused)
            else refusal_message(exc, language_of(request))
        )
        return _form(request, session, user, contact, typed=typed, error=message, status_code=422)
    adapted = [row.id for row, decision in chosen if decision == "adapt"]
    if adapted:
        flash(request, "interview.adapt_now")
        return redirect(edit_url(adapted[0], adapted[1:]))
    flash(request, "interview.done")
    return redirect(f"/erstgespraech/{contact.id}")


def edit_url(item_id: int, then: Sequence[int] = ()) -> str:
    """The measure's edit form; ``then`` are the measures to adapt after it, in order."""
    url = f"/massnahmen/{item_id}/bearbeiten"
    return url + (f"?weiter={','.join(str(i) for i in then)}" if then else "")


def refusal_message(exc: coordination.PayloadInvalid, lang: str) -> str:
    """A refused Erstgespräch field in the page's language; other payload errors as they are."""
    if not isinstance(exc, coordination.FieldInvalid):
        return str(exc)
    params = dict(exc.params)
    if exc.code == "status_invalid":
        labels = [translate(f"impl.{s}", lang) for s in params["allowed"]]
        params["allowed"] = ", ".join(labels)
    return translate(f"interview.{exc.code}", lang, **params)


def _held_on_outside(session: Session, held_on: str, item_ids: list[int]) -> dict[str, str] | None:
    """The allowed range when ``held_on`` lies outside it; None when it fits or is no date.

    A date that is no date at all is left to ``coordination.perform`` to refuse.
    """
    try:
        day = date.fromisoformat(held_on.strip())
    except ValueError:
        return None
    first = session.get(MeasureCycle, item_ids[0])
    if first is None:
        return None
    error = interview_window(first.cycle.year).error("held_on", day)
    return None if error is None else {k: str(v) for k, v in error.values.items()}


def _start(request: Request, start: str, tz: ZoneInfo) -> datetime | None:
    """The typed start in local time; None if none or unreadable, a 422 page if out of range."""
    try:
        begins = datetime.fromisoformat(start).replace(tzinfo=tz) if start else None
    except ValueError:
        return None
    if begins is not None and not FIRST_START <= begins.date() <= LAST_START:
        message = translate(
            "interview.start_invalid",
            language_of(request),
            first=FIRST_START.strftime("%d.%m.%Y"),
            last=LAST_START.strftime("%d.%m.%Y"),
        )
        raise ApiError(422, "invalid_start", message, {"start": start})
    return begins


@router.get("/erstgespraech/{contact_id}/einladung.ics")
def invitation(
    request: Request,
    contact_id: RowId,
    user: Coordinator,
    session: SessionDep,
    start: Annotated[str, Query(max_length=16, description="JJJJ-MM-TTTHH:MM, Ortszeit")] = "",
    minutes: Annotated[int, Query(ge=15, le=480)] = 90,
    location: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """An iCalendar invitation to the Erstgespräch, to import into any calendar."""
    contact = _contact(session, user, contact_id)
    org = organisation_of(session, user)
    tz = ZoneInfo(org.timezone)
    begins = _start(request, start, tz)
    if begins is None:
        begins = datetime.combine(
            today_of(org) + timedelta(days=7), datetime.min.time(), tz
        ).replace(hour=10)
    items = _items(session, user, contact.id)
    cal = Calendar()
    cal.add("prodid", "-//zielflow//Erstgespraech//DE")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = Event()
    event.add("uid", f"{uuid.uuid4()}@zielflow")
    event.add("dtstamp", runtime.current().clock.now())
    event.add("dtstart", begins)
    event.add("dtend", begins + timedelta(minutes=minutes))
    event.add("summary", f"Erstgespräch Integrationskonzept – {contact.name}")
    event.add(
        "description",
        "Maßnahmen:\n" + "\n".join(f"{r.measure_code} {r.measure_title}" for r in items),
    )
    if location.strip():
        event.add("location", location.replace("\x00", "").strip())
    organizer = vCalAddress(f"mailto:{user.email}")
    organizer.params["cn"] = vText(user.name or user.email)
    event["organizer"] = organizer
    attendee = vCalAddress(f"mailto:{contact.email}")
    attendee.params["cn"] = vText(contact.name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["rsvp"] = vText("TRUE")
    event.add("attendee", attendee, encode=False)
    cal.add_component(event)
    return Response(
        cal.to_ical(),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="erstgespraech-{contact.id}.ics"'},
    )
