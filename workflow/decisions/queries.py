"""Reads of the decisions register: the register with its filters, what is still open, a year.

Never writes; every read is confined to one organisation (or one body, which belongs to one).
Rows carry what a reader needs beside the decision itself: the meeting's day, the body,
the agenda item, the measure, the department and the contact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from workflow.bodies.models import Body, Meeting
from workflow.catalogue.models import Contact, Department, Measure
from workflow.decisions.errors import DecisionError
from workflow.decisions.models import Decision, DecisionStatus
from workflow.meetings.models import AgendaItem

MEETING_ACTOR = "meeting:"


def meeting_actor(meeting_id: int) -> str:
    """The audit trail's actor of a move a meeting decided: stable, worded by the page."""
    return f"{MEETING_ACTOR}{meeting_id}"


@dataclass(frozen=True)
class DecisionRow:
    """One decision with the names around it, as the register, the exports and the API show it."""

    id: int
    kind: str
    status: str
    text: str
    meeting_id: int
    held_on: date
    body_id: int
    body_name: str
    body_kind: str
    agenda_item_id: int | None
    agenda_position: int | None
    agenda_title: str
    measure_id: int | None
    measure_code: str
    measure_title: str
    measure_cycle_id: int | None
    action: str
    action_value: str
    addressee: str
    department_id: int | None
    department_name: str
    contact_id: int | None
    contact_name: str
    contact_email: str
    due_on: date | None
    created_at: datetime
    created_by: str
    applied_at: datetime | None
    applied_by: str
    status_changed_at: datetime | None
    status_changed_by: str
    answer: str
    answered_at: datetime | None


@dataclass(frozen=True)
class MeetingRef:
    """Which body met when: enough to word "Steuerungsgruppe, Sitzung am 12.03.2027"."""

    meeting_id: int
    body_name: str
    held_on: date


_Dept = aliased(Department)


def _rows() -> Select[Decision, date, Body, AgendaItem, Measure, str, Contact]:
    return (
        select(Decision, Meeting.held_on, Body, AgendaItem, Measure, _Dept.name, Contact)
        .join(Meeting, Meeting.id == Decision.meeting_id)
        .join(Body, Body.id == Meeting.body_id)
        .outerjoin(AgendaItem, AgendaItem.id == Decision.agenda_item_id)
        .outerjoin(Measure, Measure.id == Decision.measure_id)
        .outerjoin(_Dept, _Dept.id == Decision.department_id)
        .outerjoin(Contact, Contact.id == Decision.contact_id)
        # Newest meeting first; within a meeting, in the order the minutes recorded them.
        .order_by(Meeting.held_on.desc(), Body.name, Decision.id)
    )


def _row(found: Any) -> DecisionRow:
    d, held_on, body, item, measure, department_name, contact = found
    return DecisionRow(
        id=d.id,
        kind=d.kind,
        status=d.status,
        text=d.text,
        meeting_id=d.meeting_id,
        held_on=held_on,
        body_id=body.id,
        body_name=body.name,
        body_kind=body.kind,
        agenda_item_id=d.agenda_item_id,
        agenda_position=item.position if item else None,
        agenda_title=item.title if item else "",
        measure_id=d.measure_id,
        measure_code=measure.code if measure else "",
        measure_title=measure.title if measure else "",
        measure_cycle_id=d.measure_cycle_id,
        action=d.action,
        action_value=d.action_value,
        addressee=d.addressee,
        department_id=d.department_id,
        department_name=department_name or "",
        contact_id=d.contact_id,
        contact_name=contact.name if contact else "",
        contact_email=contact.email if contact else "",
        due_on=d.due_on,
        created_at=d.created_at,
        created_by=d.created_by,
        applied_at=d.applied_at,
        applied_by=d.applied_by,
        status_changed_at=d.status_changed_at,
        status_changed_by=d.status_changed_by,
        answer=d.answer,
        answered_at=d.answered_at,
    )


def _year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year + 1, 1, 1)


def register(
    session: Session,
    *,
    organisation_id: int,
    body_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    year: int | None = None,
    measure_id: int | None = None,
) -> list[DecisionRow]:
    """The organisation's decisions, newest meeting first; None in a filter means all.

    ``year`` is the calendar year of the meeting that took the decision.
    """
    query = _rows().where(Decision.organisation_id == organisation_id)
    if body_id is not None:
        query = query.where(Body.id == body_id)
    if kind is not None:
        query = query.where(Decision.kind == kind)
    if status is not None:
        query = query.where(Decision.status == status)
    if year is not None:
        first, after = _year_bounds(year)
        query = query.where(Meeting.held_on >= first, Meeting.held_on < after)
    if measure_id is not None:
        query = query.where(Decision.measure_id == measure_id)
    return [_row(r) for r in session.execute(query).all()]


def get_row(session: Session, *, organisation_id: int, decision_id: int) -> DecisionRow:
    """One decision of the organisation; another organisation's answers ``decision_not_found``."""
    found = session.execute(
        _rows().where(Decision.id == decision_id, Decision.organisation_id == organisation_id)
    ).first()
    if found is None:
        raise DecisionError("decision_not_found", ref=str(decision_id))
    return _row(found)


def get_decision(session: Session, *, organisation_id: int, decision_id: int) -> Decision:
    decision = session.get(Decision, decision_id)
    if decision is None or decision.organisation_id != organisation_id:
        raise DecisionError("decision_not_found", ref=str(decision_id))
    return decision


def open_decisions(session: Session, *, body_id: int, before: date) -> list[Decision]:
    """The body's decisions that are not done, from its meetings before ``before``, oldest first.

    The next meeting's agenda carries each of them until it is done.
    """
    return list(
        session.scalars(
            select(Decision)
            .join(Meeting, Meeting.id == Decision.meeting_id)
            .where(
                Meeting.body_id == body_id,
                Meeting.held_on < before,
                Decision.status != DecisionStatus.DONE.value,
            )
            .order_by(Meeting.held_on, Decision.id)
        )
    )


def decisions_of_year(session: Session, *, organisation_id: int, year: int) -> list[DecisionRow]:
    """Every decision taken at a meeting in ``year``, by body, then meeting day, then entry."""
    first, after = _year_bounds(year)
    query = (
        _rows()
        .where(
            Decision.organisation_id == organisation_id,
            Meeting.held_on >= first,
            Meeting.held_on < after,
        )
        .order_by(None)
        .order_by(Body.name, Meeting.held_on, Decision.id)
    )
    return [_row(r) for r in session.execute(query).all()]


def years_of(session: Session, *, organisation_id: int) -> list[int]:
    """The years in which the organisation's bodies took decisions, newest first."""
    days = session.scalars(
        select(Meeting.held_on)
        .join(Decision, Decision.meeting_id == Meeting.id)
        .where(Decision.organisation_id == organisation_id)
        .distinct()
    )
    return sorted({d.year for d in days}, reverse=True)


def meeting_refs(
    session: Session, *, organisation_id: int, actors: Iterable[str]
) -> dict[str, MeetingRef]:
    """For each ``meeting:<id>`` actor among ``actors``, the meeting it names (own org only)."""
    digits = [a.removeprefix(MEETING_ACTOR) for a in actors if a.startswith(MEETING_ACTOR)]
    ids = {int(d) for d in digits if d.isdigit() and len(d) <= 9}
    if not ids:
        return {}
    rows = session.execute(
        select(Meeting.id, Body.name, Meeting.held_on)
        .join(Body, Body.id == Meeting.body_id)
        .where(Meeting.id.in_(ids), Body.organisation_id == organisation_id)
    ).all()
    return {meeting_actor(i): MeetingRef(i, name, held_on) for i, name, held_on in rows}
