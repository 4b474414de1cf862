"""The one transition function: every state change of a measure-in-cycle goes through here.

In the caller's transaction it locks the row, checks the version and the move, sets the next
deadline, appends the audit event and queues the messages. It never commits: the request or
the task that calls it owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from notifications.effects import messages_for_move
from workflow.catalogue.models import Measure, MeasureStatus, Organisation
from workflow.clock import Clock
from workflow.cycles import stay
from workflow.cycles.locked_stay import LockedStay, read_locked
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.cycles.move_write import AuditRow, write_move
from workflow.db import pin
from workflow.deadlines import BusinessCalendar
from workflow.driver_statement import DriverStatement
from workflow.machine import Event, MoveRefused, State, allowed_events, plan_move
from workflow.messages import message

__all__ = ["MoveRefused", "NotFound", "VersionConflict", "apply_event", "move", "move_on"]

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
    """The stay as an ORM object, locked, with its measure and contact, its cycle and its
    organisation, in one statement instead of four: for a caller that changes the stay
    through the session (a move reads the stay with ``read_locked`` instead)."""
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


def move(
    *,
    session: Session,
    clock: Clock,
    measure_cycle_id: int,
    event: str,
    expected_version: int | None,
    actor: str,
    payload: Mapping[str, Any] | None = None,
) -> LockedStay:
    """Move one measure-in-cycle by ``event``; raises MoveRefused, VersionConflict, NotFound.

    ``expected_version`` None means "whatever is current" and is for the engine's own moves
    (the sweep), which re-check the state under the lock instead. Returns the stay's values
    after the move; a copy of the stay (or of its measure) that the session holds is brought
    up to date, so a caller that read it before reads the new values.
    """
    # What the caller changed in the session is written first, as the session's own queries
    # would: the move's Core statements on its connection do not flush by themselves.
    if session.autoflush:
        session.flush()
    held = session.identity_map.get(session.identity_key(MeasureCycle, measure_cycle_id))
    try:
        mc = move_on(
            session.connection(),
            clock=clock,
            measure_cycle_id=measure_cycle_id,
            event=event,
            expected_version=expected_version,
            actor=actor,
            payload=payload,
        )
    except VersionConflict:
        # The session's copy is older than the row; reading it again must ask the database.
        if held is not None:
            session.expire(held)
        raise
    if held is not None:
        for key, value in mc.timing().items():
            set_committed_value(held, key, value)
    status = _MEASURE_STATUS_AFTER.get(State(mc.state))
    if status is not None:
        measure = session.identity_map.get(session.identity_key(Measure, mc.measure_id))
        if measure is not None:
            set_committed_value(measure, "status", status.value)
    return mc


def move_on(
    connection: Connection,
    *,
    clock: Clock,
    measure_cycle_id: int,
    event: str,
    expected_version: int | None,
    actor: str,
    payload: Mapping[str, Any] | None = None,
) -> LockedStay:
    """``move`` in the transaction of ``connection``, for a caller that holds no session: the
    same lock, checks, audit row, messages and measure status, without the session's
    bookkeeping around them (``write_transaction`` opens such a transaction)."""
    payload = dict(payload or {})
    mc = read_locked(connection, measure_cycle_id)
    if mc is None:
        raise NotFound(measure_cycle_id)
    previous = State(mc.state)
    if expected_version is not None and mc.version != expected_version:
        raise VersionConflict(expected_version, mc.version, allowed_events(previous))
    target = plan_move(previous, event, payload)
    now = clock.now()
    cal = BusinessCalendar(state=mc.calendar_state, timezone=mc.calendar_timezone)
    policy = mc.policy
    due_override = None
    if Event(event) is Event.EXTEND_DEADLINE:
        due_override = _parse_due(payload["due_on"], previous)
        if due_override <= cal.local_date(now):
            raise MoveRefused(previous, event, allowed_events(previous), "move.due_not_in_future")
    before = mc.timing()
    stay.enter(mc, target, now=now, policy=policy, cal=cal, due_override=due_override)
    drafts = messages_for_move(previous, target, Event(event), mc, now=now)
    changes = {key: value for key, value in mc.timing().items() if value != before[key]}
    written = write_move(
        connection,
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
        raise VersionConflict(
            expected_version or mc.version, mc.version + 1, allowed_events(previous)
        )
    mc.version += 1
    if target in _MEASURE_STATUS_AFTER:
        _SET_MEASURE_STATUS.run(
            connection,
            {"measure_id": mc.measure_id, "status": _MEASURE_STATUS_AFTER[target].value},
        )
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
    """``move``, for a caller that goes on with the stay as an ORM object (the session's own
    copy, or one read after the move)."""
    moved = move(
        session=session,
        clock=clock,
        measure_cycle_id=measure_cycle_id,
        event=event,
        expected_version=expected_version,
        actor=actor,
        payload=payload,
    )
    mc = session.get(MeasureCycle, moved.id)
    assert mc is not None
    return mc


_MEASURE_TABLE: Table = Measure.__table__  # type: ignore[assignment]
_SET_MEASURE_STATUS = DriverStatement(
    update(_MEASURE_TABLE)
    .where(_MEASURE_TABLE.c.id == bindparam("measure_id"))
    .values(status=bindparam("status"))
)


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
