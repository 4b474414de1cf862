"""What a body member's own page shows of one body: the next meeting and its agenda, the open
decisions, and the measures escalated to the body within its scope.

"Escalated" is the level at which the deadline policy hands an overdue measure to the steering
group (``EscalationTarget.STEERING_GROUP``), read from each cycle's own policy, in every cycle
of the organisation, not only the newest. Reads only, one organisation at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.bodies.models import Meeting
from workflow.bodies.scope_access import Seat
from workflow.bodies.status_request import EVENT
from workflow.catalogue.models import Goal, Measure
from workflow.cycles.models import AuditEvent, Cycle, MeasureCycle
from workflow.cycles.queries import ItemFilter, ItemRow, list_items
from workflow.deadlines import DeadlinePolicy, EscalationTarget
from workflow.decisions.models import Decision, DecisionStatus
from workflow.meetings.models import AgendaItem


@dataclass(frozen=True)
class OpenDecision:
    decision: Decision
    held_on: date  # the day of the meeting that took it


@dataclass(frozen=True)
class EscalatedItem:
    item: ItemRow
    level: int
    asked_at: datetime | None  # when the viewer last asked for its status, if ever


@dataclass(frozen=True)
class BodyView:
    seat: Seat
    meeting: Meeting | None
    agenda: list[AgendaItem]
    decisions: list[OpenDecision]
    escalated: list[EscalatedItem]


def steering_level(policy: DeadlinePolicy) -> int | None:
    """The escalation level (1-based, as the sweep counts) that reaches the steering group."""
    for index, step in enumerate(policy.escalation_steps, start=1):
        if step.target is EscalationTarget.STEERING_GROUP:
            return index
    return None


def next_meeting(session: Session, *, body_id: int, today: date) -> Meeting | None:
    return session.scalars(
        select(Meeting)
        .where(Meeting.body_id == body_id, Meeting.held_on >= today)
        .order_by(Meeting.held_on, Meeting.id)
        .limit(1)
    ).first()


def agenda(session: Session, *, meeting_id: int) -> list[AgendaItem]:
    return list(
        session.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting_id)
            .order_by(AgendaItem.position, AgendaItem.id)
        )
    )


def open_decisions(session: Session, *, organisation_id: int, body_id: int) -> list[OpenDecision]:
    """Decisions of the body's meetings that are not done, oldest meeting first."""
    rows = session.execute(
        select(Decision, Meeting.held_on)
        .join(Meeting, Meeting.id == Decision.meeting_id)
        .where(
            Meeting.body_id == body_id,
            Decision.organisation_id == organisation_id,
            Decision.status != DecisionStatus.DONE.value,
        )
        .order_by(Meeting.held_on, Decision.id)
    ).all()
    return [OpenDecision(decision, held_on) for decision, held_on in rows]


def escalated_items(
    session: Session,
    *,
    organisation_id: int,
    field_ids: frozenset[int] | None,
    today: date,
    viewer_id: int,
) -> list[EscalatedItem]:
    """Measures of the fields (None: all) escalated to the steering level, longest overdue first."""
    if field_ids is not None and not field_ids:
        return []
    out: list[EscalatedItem] = []
    cycles = session.scalars(select(Cycle).where(Cycle.organisation_id == organisation_id))
    for cycle in cycles:
        level = steering_level(DeadlinePolicy.model_validate(cycle.policy))
        if level is None:
            continue
        query = (
            select(MeasureCycle.id)
            .join(Measure, Measure.id == MeasureCycle.measure_id)
            .join(Goal, Goal.id == Measure.goal_id)
            .where(MeasureCycle.cycle_id == cycle.id, MeasureCycle.escalation_level >= level)
        )
        if field_ids is not None:
            query = query.where(Goal.field_id.in_(field_ids))
        ids = tuple(session.scalars(query))
        if not ids:
            continue
        rows, _ = list_items(
            session, cycle_id=cycle.id, today=today, f=ItemFilter(measure_cycle_ids=ids)
        )
        asked = _last_asked(session, [r.id for r in rows], viewer_id)
        out += [EscalatedItem(r, r.escalation_level, asked.get(r.id)) for r in rows]
    return sorted(out, key=lambda e: (-e.item.days_overdue, e.item.measure_code, e.item.year))


def _last_asked(session: Session, mc_ids: list[int], viewer_id: int) -> dict[int, datetime]:
    rows = session.execute(
        select(AuditEvent.measure_cycle_id, func.max(AuditEvent.at))
        .where(
            AuditEvent.measure_cycle_id.in_(mc_ids),
            AuditEvent.event == EVENT,
            AuditEvent.actor == f"user:{viewer_id}",
        )
        .group_by(AuditEvent.measure_cycle_id)
    ).all()
    return {int(mc_id): at for mc_id, at in rows if mc_id is not None}


def body_view(session: Session, *, seat: Seat, today: date, viewer_id: int) -> BodyView:
    body = seat.body
    meeting = next_meeting(session, body_id=body.id, today=today)
    return BodyView(
        seat=seat,
        meeting=meeting,
        agenda=agenda(session, meeting_id=meeting.id) if meeting is not None else [],
        decisions=open_decisions(session, organisation_id=body.organisation_id, body_id=body.id),
        escalated=escalated_items(
            session,
            organisation_id=body.organisation_id,
            field_ids=seat.field_ids,
            today=today,
            viewer_id=viewer_id,
        ),
    )
