"""Checks of what a decision refers to: each reference must exist and be the organisation's.

Every function returns the row it checked or raises ``DecisionError``; none writes. Archived
departments and contacts count as gone: nobody should be asked or addressed through them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.bodies.models import Body, Meeting
from workflow.catalogue import archive
from workflow.catalogue.archive import ArchivedKind
from workflow.catalogue.models import Contact, Department, Goal, Measure
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.decisions.errors import DecisionError
from workflow.decisions.models import DecisionKind, DecisionStatus
from workflow.meetings.models import AgendaItem

MAX_TEXT = 5000
# Further out than this, a due date is a typing error, not a plan.
MAX_DUE_YEARS = 3


def meeting_and_body(session: Session, meeting_id: int) -> tuple[Meeting, Body]:
    meeting = session.get(Meeting, meeting_id)
    body = session.get(Body, meeting.body_id) if meeting is not None else None
    if meeting is None or body is None:
        raise DecisionError("meeting_not_found", ref=str(meeting_id))
    return meeting, body


def kind_of(value: str) -> DecisionKind:
    try:
        return DecisionKind(value)
    except ValueError:
        allowed = ", ".join(k.value for k in DecisionKind)
        raise DecisionError("unknown_kind", value=str(value)[:40], allowed=allowed) from None


def status_of(value: str) -> DecisionStatus:
    try:
        return DecisionStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in DecisionStatus)
        raise DecisionError("unknown_status", value=str(value)[:40], allowed=allowed) from None


def text_of(value: str) -> str:
    text = (value or "").strip()
    if not text:
        raise DecisionError("text_required")
    if len(text) > MAX_TEXT or "\x00" in text:
        raise DecisionError("text_too_long", limit=str(MAX_TEXT))
    return text


def agenda_item(session: Session, meeting: Meeting, item_id: int | None) -> AgendaItem | None:
    if item_id is None:
        return None
    item = session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting.id:
        raise DecisionError("agenda_item_not_found", ref=str(item_id))
    return item


def measure_cycle(session: Session, org_id: int, mc_id: int | None) -> MeasureCycle | None:
    if mc_id is None:
        return None
    mc = session.get(MeasureCycle, mc_id)
    if mc is None or mc.organisation_id != org_id:
        raise DecisionError("measure_cycle_not_found", ref=str(mc_id))
    return mc


def measure(session: Session, org_id: int, measure_id: int | None) -> Measure | None:
    if measure_id is None:
        return None
    found = session.get(Measure, measure_id)
    if found is None or found.organisation_id != org_id:
        raise DecisionError("measure_not_found", ref=str(measure_id))
    return found


def latest_stay(session: Session, measure_id: int) -> MeasureCycle | None:
    """The measure's stay in its newest cycle: where the measure page shows its timeline."""
    return session.scalars(
        select(MeasureCycle)
        .join(Cycle, Cycle.id == MeasureCycle.cycle_id)
        .where(MeasureCycle.measure_id == measure_id)
        .order_by(Cycle.year.desc())
        .limit(1)
    ).first()


def department(session: Session, org_id: int, department_id: int | None) -> Department:
    if department_id is None:
        raise DecisionError("department_required")
    found = session.get(Department, department_id)
    if (
        found is None
        or found.organisation_id != org_id
        or found.id in archive.archived_ids(session, org_id, ArchivedKind.DEPARTMENT)
    ):
        raise DecisionError("department_not_found", ref=str(department_id))
    return found


def contact(session: Session, org_id: int, contact_id: int | None) -> Contact:
    if contact_id is None:
        raise DecisionError("contact_required")
    found = session.get(Contact, contact_id)
    if (
        found is None
        or found.organisation_id != org_id
        or found.id in archive.archived_ids(session, org_id, ArchivedKind.CONTACT)
    ):
        raise DecisionError("contact_not_found", ref=str(contact_id))
    return found


def goal(session: Session, org_id: int, goal_id: int | None) -> Goal:
    found = session.get(Goal, goal_id) if goal_id is not None else None
    if (
        found is None
        or found.organisation_id != org_id
        or found.id in archive.archived_ids(session, org_id, ArchivedKind.GOAL)
    ):
        raise DecisionError("goal_not_found", ref=str(goal_id))
    return found


def due_date(due_on: date | None, today: date) -> date:
    if due_on is None:
        raise DecisionError("due_required")
    if due_on <= today:
        raise DecisionError("due_not_in_future", due=due_on.isoformat())
    if due_on.year > today.year + MAX_DUE_YEARS:
        raise DecisionError("due_invalid", due=due_on.isoformat())
    return due_on


def rank(value: str) -> int:
    text = (value or "").strip()
    if text not in ("1", "2", "3", "4"):
        raise DecisionError("rank_invalid", value=text[:20])
    return int(text)
