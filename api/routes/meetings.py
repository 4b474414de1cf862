"""JSON routes of meetings: plan, read, change, the proposed agenda and the chosen one.

Everyone signed in reads; coordinators and admins change. A meeting or body of another
organisation answers 404, exactly like one that does not exist. Refusals are worded by
api/body_text.py in the API's error shape.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.deps import Coordinator, Reader, SessionDep, organisation_of, today_of
from api.meeting_text import kind_label, reason_text
from api.routes.bodies import refusals
from api.routes.meeting_schemas import (
    AgendaIn,
    AgendaItemOut,
    AttendanceOut,
    GuestOut,
    MeetingDetailOut,
    MeetingIn,
    MeetingOut,
    MeetingPatch,
    ProposedGuestOut,
    ProposedItemOut,
)
from api.routes.schemas import ERRORS, MAX_ID
from workflow import runtime
from workflow.accounts import User
from workflow.bodies import queries as body_queries
from workflow.bodies.checks import UNSET
from workflow.bodies.models import Meeting
from workflow.meetings import agenda, guests, queries, record, service
from workflow.meetings.agenda import AgendaEntry
from workflow.meetings.models import AgendaItem, AgendaKind

router = APIRouter(
    prefix="/api/v1",
    tags=["meetings"],
    responses=ERRORS,
    dependencies=[Depends(require_csrf)],  # cookie sessions must echo the token; tokens need not
)
BodyId = Annotated[int, Path(ge=1, le=MAX_ID)]
MeetingId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _meeting(session: Session, user: User, meeting_id: int) -> Meeting:
    with refusals():
        return queries.get_meeting(
            session, organisation_id=user.organisation_id, meeting_id=meeting_id
        )


def _item_out(item: AgendaItem) -> AgendaItemOut:
    return AgendaItemOut(
        id=item.id,
        position=item.position,
        kind=AgendaKind(item.kind),
        kind_label=kind_label(item.kind, "de"),
        title=item.title,
        field_id=item.field_id,
        measure_cycle_id=item.measure_cycle_id,
        indicator_id=item.indicator_id,
        decision_id=item.decision_id,
        minutes=item.minutes,
    )


def _summary(session: Session, meeting: Meeting) -> MeetingOut:
    return MeetingOut(
        id=meeting.id,
        body_id=meeting.body_id,
        held_on=meeting.held_on,
        starts_at=meeting.starts_at,
        place=meeting.place,
        title=meeting.title,
        agenda_items=len(queries.agenda_of(session, meeting.id)),
    )


def _detail(session: Session, user: User, meeting: Meeting) -> MeetingDetailOut:
    d = queries.meeting_detail(
        session, meeting=meeting, today=today_of(organisation_of(session, user))
    )
    return MeetingDetailOut(
        **_summary(session, meeting).model_dump(),
        body_name=d.body.name,
        notes=meeting.notes,
        held=d.held,
        agenda=[_item_out(i) for i in d.agenda],
        guests=[GuestOut.model_validate(g) for g in d.guests],
        proposed_guests=[
            ProposedGuestOut(**vars(p)) for p in guests.proposed_guests(session, meeting=meeting)
        ],
        attendance=[
            AttendanceOut(member_id=m.id, name=m.name, present=d.attendance.get(m.id))
            for m in d.members
        ],
    )


@router.get(
    "/bodies/{body_id}/meetings",
    response_model=list[MeetingOut],
    summary="Sitzungen eines Gremiums, die früheste zuerst",
)
def list_meetings(body_id: BodyId, user: Reader, session: SessionDep) -> list[MeetingOut]:
    with refusals():
        body = body_queries.get_body(session, organisation_id=user.organisation_id, body_id=body_id)
    return [_summary(session, m) for m in queries.meetings_of_body(session, body_id=body.id)]


@router.post(
    "/bodies/{body_id}/meetings",
    response_model=MeetingDetailOut,
    status_code=201,
    summary="Sitzung planen (höchstens eine am Tag je Gremium)",
)
def create_meeting(
    body_id: BodyId, payload: MeetingIn, user: Coordinator, session: SessionDep
) -> MeetingDetailOut:
    with refusals():
        meeting = service.add_meeting(
            session=session,
            body_id=body_id,
            organisation_id=user.organisation_id,
            held_on=payload.held_on,
            starts_at=payload.starts_at,
            place=payload.place,
            title=payload.title,
            now=runtime.current().clock.now(),
        )
    return _detail(session, user, meeting)


@router.get(
    "/meetings/{meeting_id}",
    response_model=MeetingDetailOut,
    summary="Eine Sitzung mit Tagesordnung, Gästen und Anwesenheit",
)
def read_meeting(meeting_id: MeetingId, user: Reader, session: SessionDep) -> MeetingDetailOut:
    return _detail(session, user, _meeting(session, user, meeting_id))


def _replace_guests(session: Session, meeting: Meeting, payload: MeetingPatch) -> None:
    wanted = {g.email.lower(): g for g in payload.guests or []}
    for guest in queries.guests_of(session, meeting.id):
        if guest.email.lower() not in wanted:
            guests.remove_guest(session=session, meeting=meeting, guest_id=guest.id)
    stored = {g.email.lower() for g in queries.guests_of(session, meeting.id)}
    for email, g in wanted.items():
        if email not in stored:
            guests.add_guest(
                session=session,
                meeting=meeting,
                name=g.name,
                email=g.email,
                language=g.language,
                field_id=g.field_id,
                contact_id=g.contact_id,
            )


@router.patch(
    "/meetings/{meeting_id}",
    response_model=MeetingDetailOut,
    summary="Sitzung ändern: Angaben, Gäste, Anwesenheit, Niederschrift",
)
def change_meeting(
    meeting_id: MeetingId, payload: MeetingPatch, user: Coordinator, session: SessionDep
) -> MeetingDetailOut:
    meeting = _meeting(session, user, meeting_id)
    today = today_of(organisation_of(session, user))
    given = payload.model_fields_set
    with refusals():
        service.update_meeting(
            session=session,
            meeting=meeting,
            now=runtime.current().clock.now(),
            held_on=payload.held_on,
            starts_at=payload.starts_at if "starts_at" in given else UNSET,
            place=payload.place,
            title=payload.title,
        )
        if payload.guests is not None:
            _replace_guests(session, meeting, payload)
        if payload.attendance is not None or payload.guest_attendance is not None:
            by_email = {g.email.lower(): g.id for g in queries.guests_of(session, meeting.id)}
            record.set_attendance(
                session=session,
                meeting=meeting,
                today=today,
                members={a.member_id: a.present for a in payload.attendance or []},
                guests={
                    by_email.get(a.email.lower(), 0): a.present
                    for a in payload.guest_attendance or []
                },
            )
        if payload.minutes is not None or payload.notes is not None:
            record.set_minutes(
                session=session,
                meeting=meeting,
                today=today,
                items={m.agenda_item_id: m.minutes for m in payload.minutes or []},
                notes=payload.notes,
            )
    return _detail(session, user, meeting)


@router.get(
    "/meetings/{meeting_id}/agenda-proposal",
    response_model=list[ProposedItemOut],
    summary="Die aus den Daten vorgeschlagene Tagesordnung, im Zuständigkeitsbereich des Gremiums",
)
def agenda_proposal(
    meeting_id: MeetingId, user: Reader, session: SessionDep
) -> list[ProposedItemOut]:
    meeting = _meeting(session, user, meeting_id)
    stored = {
        (i.kind, i.field_id, i.measure_cycle_id, i.indicator_id, i.decision_id)
        for i in queries.agenda_of(session, meeting.id)
    }
    proposal = agenda.propose_agenda(
        session=session, meeting_id=meeting.id, now=runtime.current().clock.now()
    )
    return [
        ProposedItemOut(
            key=p.key,
            kind=AgendaKind(p.kind),
            kind_label=kind_label(p.kind, "de"),
            title=p.title,
            field_id=p.field_id,
            measure_cycle_id=p.measure_cycle_id,
            indicator_id=p.indicator_id,
            decision_id=p.decision_id,
            reason=p.reason,
            reason_text=reason_text(p.reason, p.details, "de"),
            details=dict(p.details),
            on_agenda=(p.kind, p.field_id, p.measure_cycle_id, p.indicator_id, p.decision_id)
            in stored,
        )
        for p in proposal
    ]


@router.put(
    "/meetings/{meeting_id}/agenda",
    response_model=list[AgendaItemOut],
    summary="Tagesordnung festlegen: die Punkte in ihrer Reihenfolge (TOP 1 bis n)",
)
def put_agenda(
    meeting_id: MeetingId, payload: AgendaIn, user: Coordinator, session: SessionDep
) -> list[AgendaItemOut]:
    meeting = _meeting(session, user, meeting_id)
    entries = [
        AgendaEntry(
            kind=i.kind.value,
            title=i.title,
            field_id=i.field_id,
            measure_cycle_id=i.measure_cycle_id,
            indicator_id=i.indicator_id,
            decision_id=i.decision_id,
            item_id=i.id,
        )
        for i in payload.items
    ]
    with refusals():
        items = agenda.set_agenda(
            session=session, meeting_id=meeting.id, items=entries, now=runtime.current().clock.now()
        )
    return [_item_out(i) for i in items]
