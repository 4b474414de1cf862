"""The Erstgespräch with one contact: record it for all their measures at once, and invite by .ics.

Recording is all or nothing: one refused or stale measure leaves every measure unchanged
and shows the form again with everything that was typed. A measure to adapt ("anpassen")
is opened for editing next, one after the other (``api.dashboard.measure_edit``).
Nothing is assumed: the result and the date must be given, and a result that emails the
department needs the coordinator's explicit tick (``missing``, shared with the measure page).
It never sends anything itself; the transition queues the emails.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from icalendar import Calendar, Event, vCalAddress, vText
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import formats
from api.csrf import require_csrf
from api.dashboard.common import RowId, flash, page, redirect
from api.dashboard.page_error import not_found
from api.deps import Coordinator, SessionDep, actor_of, organisation_of, today_of
from api.i18n import language_of, translate
from workflow import messages, runtime
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
# The checkbox that confirms the department will be emailed; the results that email it
# (a move into the Zielvereinbarung sends its form link, see notifications.effects).
CONFIRM = "notify_confirmed"
MAILING_DECISIONS = ("keep", "adapt")
# SEQUENCE of a re-downloaded invitation: seconds on the clock since this moment, so every
# later download outranks an earlier one without a stored counter (fits 32 bits until 2068).
_SEQUENCE_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_UID_NAMESPACE = uuid.UUID("6f1d3c1e-52a8-4d0b-9a55-0e2b7d6f4c11")


def _contact(session: Session, user: User, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None or contact.organisation_id != user.organisation_id:
        raise not_found("contact")
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
    problems: Mapping[str, str] | None = None,
    ics: Mapping[str, str] | None = None,
    ics_problem: str | None = None,
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
        typed=typed or {},
        error=error,
        error_key=error_key,
        problems=problems or {},
        ics=ics or {},
        ics_problem=ics_problem,
        confirm=CONFIRM,
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
    problems = missing(
        held_on=common["held_on"],
        decisions=[decision for _row, decision in chosen],
        confirmed=bool(typed.get(CONFIRM)),
    )
    problems.pop("decision", None)  # said for the whole table, below
    if not chosen or problems:
        return _form(
            request,
            session,
            user,
            contact,
            typed=typed,
            error_key="interview.nothing" if not chosen else "interview.problems",
            problems=problems,
            status_code=422,
        )
    lang = language_of(request)
    outside = _held_on_outside(session, common["held_on"], [row.id for row, _ in chosen], lang)
    if outside is not None:
        message = translate("interview.held_on_outside", lang, **outside)
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
            messages.message(exc.code, language_of(request), **exc.params)
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


def missing(*, held_on: str, decisions: Sequence[str], confirmed: bool) -> dict[str, str]:
    """What an Erstgespräch still lacks, as field name -> message key; empty when complete.

    No result or date is assumed: a silent default once recorded "beibehalten" and emailed
    the department on one bare click.
    """
    problems: dict[str, str] = {}
    if not any(d.strip() for d in decisions):
        problems["decision"] = "interview.required.decision"
    if not held_on.strip():
        problems["held_on"] = "interview.required.held_on"
    if not confirmed and any(d in MAILING_DECISIONS for d in decisions):
        problems[CONFIRM] = "interview.required.confirm"
    return problems


def edit_url(item_id: int, then: Sequence[int] = ()) -> str:
    """The measure's edit form; ``then`` are the measures to adapt after it, in order."""
    url = f"/massnahmen/{item_id}/bearbeiten"
    return url + (f"?weiter={','.join(str(i) for i in then)}" if then else "")


def refusal_message(exc: coordination.PayloadInvalid, lang: str) -> str:
    """A refused Erstgespräch field in the page's language; other payload errors as they are."""
    if not isinstance(exc, coordination.FieldInvalid):
        return messages.message(exc.code, lang, **exc.params)
    params = dict(exc.params)
    if exc.code == "status_invalid":
        labels = [translate(f"impl.{s}", lang) for s in params["allowed"]]
        params["allowed"] = ", ".join(labels)
    return translate(f"interview.{exc.code}", lang, **params)


def _held_on_outside(
    session: Session, held_on: str, item_ids: list[int], lang: str
) -> dict[str, str] | None:
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
    error = interview_window(first.cycle.year).error("held_on", day, lang)
    return None if error is None else {k: str(v) for k, v in error.values.items()}


def _start(start: str, tz: ZoneInfo) -> datetime | None:
    """The typed start in local time; None when it lacks a date and time or is out of range.

    A date without a time is refused too: a guessed hour would sit silently in a calendar.
    """
    try:
        begins = datetime.fromisoformat(start.strip()).replace(tzinfo=tz) if "T" in start else None
    except ValueError:
        return None
    if begins is None or not FIRST_START <= begins.date() <= LAST_START:
        return None
    return begins


def _uid(*, organisation_id: int, contact_id: int, cycle_id: int | None) -> str:
    """One UID per interview (organisation, contact, cycle): a corrected invitation replaces
    the calendar entry instead of adding a second one."""
    name = f"erstgespraech:{organisation_id}:{contact_id}:{cycle_id or 0}"
    return f"{uuid.uuid5(_UID_NAMESPACE, name)}@zielflow"


def _sequence(now: datetime) -> int:
    return max(0, int((now.astimezone(UTC) - _SEQUENCE_EPOCH).total_seconds()))


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
    begins = _start(start, tz)
    if begins is None:
        lang = language_of(request)
        problem = (
            translate(
                "interview.start_invalid",
                lang,
                first=formats.day(FIRST_START, lang),
                last=formats.day(LAST_START, lang),
            )
            if "T" in start
            else translate("interview.start_required", lang)
        )
        typed_ics = {"start": start, "minutes": str(minutes), "location": location}
        return _form(
            request, session, user, contact, ics=typed_ics, ics_problem=problem, status_code=422
        )
    items = _items(session, user, contact.id)
    cycle = queries.latest_cycle(session, user.organisation_id)
    now = runtime.current().clock.now()
    cal = Calendar()
    cal.add("prodid", "-//zielflow//Erstgespraech//DE")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = Event()
    event.add(
        "uid",
        _uid(
            organisation_id=user.organisation_id,
            contact_id=contact.id,
            cycle_id=cycle.id if cycle is not None else None,
        ),
    )
    event.add("sequence", _sequence(now))
    event.add("dtstamp", now)
    event.add("dtstart", begins)
    event.add("dtend", begins + timedelta(minutes=minutes))
    # Downloaded from the page and sent from the coordinator's own calendar: the page's language.
    lang = language_of(request)
    event.add("summary", translate("interview.ics_summary", lang, name=contact.name))
    listed = "\n".join(f"{r.measure_code} {r.measure_title}" for r in items)
    event.add("description", f"{translate('interview.ics_measures', lang)}\n{listed}")
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
