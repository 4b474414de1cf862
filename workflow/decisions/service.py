"""Recording what a body decided, and carrying it out: moves, catalogue changes, status.

A Beschluss that drops a measure or accepts a review moves the measure through the one
transition path (``coordination.perform`` → ``transitions.apply_event``) with the meeting as
the actor; one that changes a goal's rank, and an applied Änderungsvorschlag, change the
catalogue with an audit event naming the decision. An Auftrag is handed to the Auftrag
engine (``workflow.decisions.assignments``), which schedules and mails it.
Keyword-only, raises ``DecisionError``; never commits: the request owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from workflow.bodies.errors import BodyError
from workflow.catalogue.models import Measure, Organisation
from workflow.clock import Clock
from workflow.cycles import coordination
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import MeasureCycle
from workflow.decisions import catalogue_changes, checks
from workflow.decisions.assignments import open_assignment
from workflow.decisions.errors import DecisionError
from workflow.decisions.models import (
    Addressee,
    Decision,
    DecisionKind,
    DecisionStatus,
    ResolutionAction,
)
from workflow.decisions.queries import meeting_actor
from workflow.machine import Event, MoveRefused, State, plan_move

# The machine's event for each Beschluss that moves a measure.
MOVES: dict[ResolutionAction, Event] = {
    ResolutionAction.DROP_MEASURE: Event.DROP,
    ResolutionAction.ACCEPT_REVIEW: Event.ACCEPT_REVIEW,
}


def record_decision(
    *,
    session: Session,
    clock: Clock,
    meeting_id: int,
    kind: str,
    text: str,
    actor: str,
    agenda_item_id: int | None = None,
    measure_cycle_id: int | None = None,
    measure_id: int | None = None,
    action: str = "",
    action_value: str = "",
    addressee: str = "",
    department_id: int | None = None,
    contact_id: int | None = None,
    due_on: date | None = None,
) -> Decision:
    """Record one decision of a meeting and do what it says at once where it says something.

    Inputs the kind does not use are ignored (a form sends every field). ``actor`` is who
    records it (``user:<id>``); moves are audited with the meeting as their actor.
    """
    meeting, body = checks.meeting_and_body(session, meeting_id)
    org_id = body.organisation_id
    the_kind = checks.kind_of(kind)
    words = checks.text_of(text)
    item = checks.agenda_item(session, meeting, agenda_item_id)
    mc = checks.measure_cycle(session, org_id, measure_cycle_id)
    measure = mc.measure if mc is not None else checks.measure(session, org_id, measure_id)
    now = clock.now()
    decision = Decision(
        organisation_id=org_id,
        meeting_id=meeting.id,
        agenda_item_id=item.id if item else None,
        kind=the_kind.value,
        status=DecisionStatus.OPEN.value,
        text=words,
        measure_id=measure.id if measure else None,
        measure_cycle_id=mc.id if mc else None,
        created_at=now,
        created_by=actor,
    )
    move: Event | None = None
    new_rank: int | None = None
    if the_kind is DecisionKind.RESOLUTION:
        the_action = _action_of(action)
        decision.action = the_action.value
        move = MOVES.get(the_action)
        if move is not None:
            if mc is None:
                raise DecisionError("measure_cycle_required")
            _check_move(mc, move, words)
        elif the_action is ResolutionAction.CHANGE_RANK:
            if measure is None:
                raise DecisionError("measure_required")
            new_rank = checks.rank(action_value)
            decision.action_value = str(new_rank)
    elif the_kind is DecisionKind.RECOMMENDATION:
        decision.addressee = _addressee_of(addressee).value
        if decision.addressee == Addressee.DEPARTMENT.value:
            decision.department_id = checks.department(session, org_id, department_id).id
    elif the_kind is DecisionKind.ASSIGNMENT:
        person = checks.contact(session, org_id, contact_id)
        org = session.get(Organisation, org_id)
        assert org is not None  # a body cannot exist without its organisation (FK)
        today = calendar_of(org).local_date(now)
        decision.contact_id = person.id
        decision.department_id = person.department_id
        decision.due_on = checks.due_date(due_on, today)
    elif measure is None:  # an Änderungsvorschlag is always about one measure
        raise DecisionError("measure_required")
    session.add(decision)
    session.flush()
    if move is not None and mc is not None:
        coordination.perform(
            session=session,
            clock=clock,
            measure_cycle_id=mc.id,
            event=move.value,
            expected_version=None,
            actor=meeting_actor(meeting.id),
            payload={"reason": words, "decision_id": decision.id},
        )
        _done(decision, actor=actor, now=now)
    elif new_rank is not None and measure is not None:
        catalogue_changes.change_rank(
            session,
            decision=decision,
            measure=measure,
            new_rank=new_rank,
            actor=meeting_actor(meeting.id),
            now=now,
        )
        _done(decision, actor=actor, now=now)
    elif the_kind is DecisionKind.ASSIGNMENT:
        try:
            open_assignment(session=session, decision=decision, now=now)
        except BodyError as refused:  # e.g. no cycle yet whose form link could carry it
            raise DecisionError(refused.code, **refused.params) from None
    session.flush()
    return decision


def set_status(
    *, session: Session, decision_id: int, status: str, actor: str, now: datetime
) -> Decision:
    """Set a decision open, in progress or done, and note who did it when."""
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise DecisionError("decision_not_found", ref=str(decision_id))
    the_status = checks.status_of(status)
    if decision.status != the_status.value:
        decision.status = the_status.value
        decision.status_changed_at = now
        decision.status_changed_by = actor
        session.flush()
    return decision


def apply_change_proposal(
    *,
    session: Session,
    decision_id: int,
    changes: Mapping[str, Any],
    actor: str,
    now: datetime,
) -> Decision:
    """Apply an Änderungsvorschlag to its measure (``changes``: measure fields → new values).

    The audit trail names the decision as the reason; the decision is then done. A proposal
    is applied once; a second application is refused (``already_applied``).
    """
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise DecisionError("decision_not_found", ref=str(decision_id))
    if decision.kind != DecisionKind.CHANGE_PROPOSAL.value:
        raise DecisionError("not_a_change_proposal")
    if decision.applied_at is not None:
        raise DecisionError("already_applied")
    measure = session.get(Measure, decision.measure_id) if decision.measure_id else None
    if measure is None:
        raise DecisionError("measure_required")
    catalogue_changes.change_measure(
        session, decision=decision, measure=measure, changes=changes, actor=actor, now=now
    )
    _done(decision, actor=actor, now=now)
    session.flush()
    return decision


def _action_of(value: str) -> ResolutionAction:
    try:
        return ResolutionAction(value or "")
    except ValueError:
        allowed = ", ".join(a.value for a in ResolutionAction if a.value)
        raise DecisionError("unknown_action", value=str(value)[:40], allowed=allowed) from None


def _addressee_of(value: str) -> Addressee:
    try:
        return Addressee(value)
    except ValueError:
        allowed = ", ".join(a.value for a in Addressee)
        raise DecisionError("unknown_addressee", value=str(value)[:40], allowed=allowed) from None


def _check_move(mc: MeasureCycle, event: Event, reason: str) -> None:
    """Refuse before anything is written when the machine would refuse the move."""
    try:
        plan_move(State(mc.state), event.value, {"reason": reason})
    except MoveRefused as refused:
        raise DecisionError(
            "move_refused",
            event=event.value,
            state=mc.state,
            allowed=", ".join(e.value for e in refused.allowed),
        ) from None


def _done(decision: Decision, *, actor: str, now: datetime) -> None:
    """What the decision said has reached the catalogue or the cycle: it is done."""
    decision.status = DecisionStatus.DONE.value
    decision.status_changed_at = now
    decision.status_changed_by = actor
    decision.applied_at = now
    decision.applied_by = actor
