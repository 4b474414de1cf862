"""The one transition function: every state change of a measure-in-cycle goes through here.

In the caller's transaction it locks the row, checks the version and the move, sets the next
deadline, appends the audit event and queues the messages. It never commits: the request or
the task that calls it owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from notifications.effects import messages_for_move
from workflow.catalogue.models import Measure, MeasureStatus, Organisation
from workflow.clock import Clock
from workflow.cycles import stay
from workflow.cycles.calendar import calendar_and_policy
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.cycles.move_write import AuditRow, write_move
from workflow.db import pin
from workflow.machine import Event, MoveRefused, State, allowed_events, plan_move
from workflow.messages import message

__all__ = ["MoveRefused", "NotFound", "VersionConflict", "apply_event"]

_MEASURE_STATUS_AFTER = {
    State.DROPPED: MeasureStatus.DROPPED,
    State.COMPLETED: MeasureStatus.COMPLETED,
}


class NotFound(Exception):
    """No measure-in-cycle with that id; ``code`` and ``params`` for the edge's sentence."""

    code = "not_found.measure_cycle"

    def __init__(self, measure_cycle_id: int) -> None:
        self.params: dict[str, Any] = {"id": measure_cycle_id}
        super().__init__(message(self.code, "de", **self.params))


class VersionConflict(Exception):
    """Someone else moved the item since the caller read it.

    The edges word ``code`` and ``params`` in the reader's language; ``str()`` is German,
    for logs.
    """

    code = "version_conflict"

    def __init__(self, expected: int, current: int, allowed: list[Event]) -> None:
        self.expected = expected
        self.current = current
        self.allowed = allowed
        self.params: dict[str, Any] = {
            "expected": expected,
            "current": current,
            "allowed_events": [e.value for e in allowed],
        }
        super().__init__(message(self.code, "de", **self.params))


# Built once: composing the joins and options costs more than the database's answer.
_LOCKED_STAY = (
    select(MeasureCycle, Cycle, Organisation)
    .join(Cycle, Cycle.id == MeasureCycle.cycle_id)
    .join(Organisation, Organisation.id == MeasureCycle.organisation_id)
    .where(MeasureCycle.id == bindparam("measure_cycle_id"))
    .options(joinedload(MeasureCycle.measure).joinedload(Measure.contact))
    .with_for_update(of=MeasureCycle)
)


def load_for_update(session: Session, measure_cycle_id: int) -> MeasureCycle:
    """The stay, locked, with everything a move reads: its measure and contact, its cycle's
    policy and its organisation's calendar, in one statement instead of four."""
    # populate_existing: a caller may have read the row before (unlocked); under the lock its
    # values must be the committed ones, or the versioned UPDATE fails on a stale version.
    row = session.execute(
        _LOCKED_STAY,
        {"measure_cycle_id": measure_cycle_id},
        execution_options={"populate_existing": True},
    ).first()
    if row is None:
        raise NotFound(measure_cycle_id)
    mc, cycle, organisation = row
    pin(session, cycle)
    pin(session, organisation)
    return mc


def apply_event(
    *,
    session: Session,
    clock: Clock,
    measure_cycle_id: int,
    event: str,
    expected_version: int | None,
    actor: str,
    payload: Mapping[str, Any] | None = None,
) -> MeasureCycle:
    """Move one measure-in-cycle by ``event``; raises MoveRefused, VersionConflict, NotFound.

    ``expected_version`` None means "whatever is current" and is for the engine's own moves
    (the sweep), which re-check the state under the lock instead.
    """
    payload = dict(payload or {})
    mc = load_for_update(session, measure_cycle_id)
    previous = State(mc.state)
    if expected_version is not None and mc.version != expected_version:
        raise VersionConflict(expected_version, mc.version, allowed_events(previous))
    target = plan_move(previous, event, payload)
    now = clock.now()
    cal, policy = calendar_and_policy(session, mc)
    due_override = None
    if Event(event) is Event.EXTEND_DEADLINE:
        due_override = _parse_due(payload["due_on"], previous)
        if due_override <= cal.local_date(now):
            raise MoveRefused(previous, event, allowed_events(previous), "move.due_not_in_future")
    with session.no_autoflush:
        stay.enter(mc, target, now=now, policy=policy, cal=cal, due_override=due_override)
        drafts = messages_for_move(previous, target, Event(event), mc, now=now)
    changes = _pending_changes(mc)
    written = write_move(
        session,
        measure_cycle_id=mc.id,
        version=mc.version,
        changes=changes,
        audit=AuditRow(
            organisation_id=mc.organisation_id,
            at=now,
            actor=actor,
            event=Event(event).value,
            from_state=previous.value,
            to_state=target.value,
            payload=payload,
        ),
        drafts=drafts,
        now=now,
    )
    if not written:
        # Only without a row lock (SQLite): another writer moved the stay after it was read.
        version = mc.version
        session.expire(mc)
        raise VersionConflict(expected_version or version, version + 1, allowed_events(previous))
    for key, value in changes.items():
        set_committed_value(mc, key, value)
    set_committed_value(mc, "version", mc.version + 1)
    _written(session, mc)
    if target in _MEASURE_STATUS_AFTER:
        mc.measure.status = _MEASURE_STATUS_AFTER[target].value
    return mc


def _written(session: Session, mc: MeasureCycle) -> None:
    """Tell the session the stay holds nothing unwritten, as its own flush would: otherwise
    the commit's flush visits the object for changes that are already in the database."""
    state = inspect(mc)
    if state.modified and not state.committed_state:
        # SQLAlchemy's own step after a flush; only when no change of any kind is left.
        state._commit_all(state.dict, session.identity_map)


def _pending_changes(mc: MeasureCycle) -> dict[str, Any]:
    """The stay's columns changed in this session and not yet written."""
    state = inspect(mc)
    columns = state.mapper.columns
    return {key: getattr(mc, key) for key in state.committed_state if key in columns}


def _parse_due(value: object, state: State) -> date:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise MoveRefused(
            state,
            Event.EXTEND_DEADLINE.value,
            allowed_events(state),
            "move.due_invalid",
            value=str(value)[:40],
        ) from None
