"""A move reads its stay as plain values, and keeps the session's own copies current."""

from __future__ import annotations

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tests import factories
from workflow.catalogue.models import Measure
from workflow.clock import FrozenClock
from workflow.cycles.locked_stay import read_locked
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.cycles.service import open_cycle
from workflow.db import unit_of_work
from workflow.machine import Event
from workflow.runtime import Runtime
from workflow.transitions import apply_event, move


def stays_of_one_cycle(rt: Runtime, clock: FrozenClock, count: int) -> list[int]:
    """``count`` measures and the cycle that holds them; the stays' ids in order."""
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        factories.measures(s, org, count)
        open_cycle(session=s, clock=clock, organisation_id=org.id, year=2026)
        return list(s.scalars(select(MeasureCycle.id).order_by(MeasureCycle.id)))


def _one_stay(rt: Runtime, clock: FrozenClock) -> int:
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        factories.measures(s, org, 1)
        open_cycle(session=s, clock=clock, organisation_id=org.id, year=2026)
        return s.scalars(select(MeasureCycle.id)).one()


def test_a_move_reads_one_row_and_builds_no_orm_object(rt: Runtime, clock: FrozenClock) -> None:
    """The stay, its measure, goal, field, contact, cycle and organisation come as one row of
    values; none of them is loaded into the session."""
    mc_id = _one_stay(rt, clock)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(rt.engine, "before_cursor_execute", seen)
    try:
        with unit_of_work(rt.sessions) as s:
            moved = move(
                session=s,
                clock=clock,
                measure_cycle_id=mc_id,
                event=Event.RECORD_INTERVIEW,
                expected_version=1,
                actor="user:1",
                payload={"decision": "keep"},
            )
            assert list(s.identity_map.values()) == []
    finally:
        event.remove(rt.engine, "before_cursor_execute", seen)
    reads = [q for q in statements if q.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, statements
    assert (moved.state, moved.version, moved.stay) == ("target_agreement", 2, 2)
    assert moved.measure.code == "M0001" and moved.measure.contact is not None
    with rt.sessions() as s:
        mc = s.get(MeasureCycle, mc_id)
        assert mc is not None
        assert (mc.state, mc.version, mc.due_on, mc.stay) == (
            moved.state,
            moved.version,
            moved.due_on,
            moved.stay,
        )


def test_the_sessions_copy_of_the_stay_and_its_measure_follow_the_move(
    rt: Runtime, clock: FrozenClock
) -> None:
    """A caller that read the stay before the move reads the moved values after it, without
    asking the database again, and a drop shows on the measure it holds."""
    mc_id = _one_stay(rt, clock)
    with unit_of_work(rt.sessions) as s:
        held = s.get(MeasureCycle, mc_id)
        assert held is not None
        measure = held.measure
        returned = apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            event=Event.DROP,
            expected_version=1,
            actor="user:1",
            payload={"reason": "Wird nicht mehr gebraucht"},
        )
        assert returned is held
        assert (held.state, held.version, held.stay) == ("dropped", 2, 2)
        assert measure.status == "dropped"
        assert not s.dirty
    with rt.sessions() as s:
        assert s.scalars(select(Measure.status)).one() == "dropped"
        mc = s.get(MeasureCycle, mc_id)
        assert mc is not None and (mc.state, mc.version) == ("dropped", 2)


def test_what_the_caller_changed_before_the_move_is_written_first(
    rt: Runtime, clock: FrozenClock
) -> None:
    """The read goes to the database after the session's pending changes, as the session's
    own queries would: a draft saved just before the move is kept (its write counts as a
    version of its own), and the move starts from it."""
    mc_id = _one_stay(rt, clock)
    with unit_of_work(rt.sessions) as s:
        held = s.get(MeasureCycle, mc_id)
        assert held is not None
        held.draft = {"targets": "Zwölf Kurse"}
        move(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            event=Event.RECORD_INTERVIEW,
            expected_version=None,
            actor="user:1",
            payload={"decision": "keep"},
        )
    with rt.sessions() as s:
        mc = s.get(MeasureCycle, mc_id)
        assert mc is not None
        assert mc.draft == {"targets": "Zwölf Kurse"}
        assert (mc.state, mc.version) == ("target_agreement", 3)


def test_a_stay_that_does_not_exist_reads_as_none(rt: Runtime) -> None:
    session: Session
    with rt.sessions() as session:
        assert read_locked(session.connection(), 987_654) is None


def test_a_policy_changed_in_the_same_session_is_the_one_the_move_reads(
    rt: Runtime, clock: FrozenClock
) -> None:
    """The parsed policy is kept per stored text: a changed policy is a new text, so the next
    move plans with it, even when the change is not committed yet."""
    first, second = stays_of_one_cycle(rt, clock, 2)
    with unit_of_work(rt.sessions) as s:
        moved = move(
            session=s,
            clock=clock,
            measure_cycle_id=first,
            event=Event.RECORD_INTERVIEW,
            expected_version=1,
            actor="user:1",
            payload={"decision": "keep"},
        )
        cycle = s.get(Cycle, moved.cycle_id)
        assert cycle is not None
        cycle.policy = {
            **cycle.policy,
            "agreement_days": cycle.policy.get("agreement_days", 42) + 28,
        }
        again = move(
            session=s,
            clock=clock,
            measure_cycle_id=second,
            event=Event.RECORD_INTERVIEW,
            expected_version=1,
            actor="user:1",
            payload={"decision": "keep"},
        )
    assert moved.due_on is not None and again.due_on is not None
    assert again.policy.agreement_days == moved.policy.agreement_days + 28
    assert again.due_on > moved.due_on
