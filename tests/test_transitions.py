"""The transition function on real databases: due dates, audit, outbox, refusals, conflicts."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from tests import factories
from tests.test_machine import EXPECTED, VALID_PAYLOAD
from workflow.catalogue.models import Measure
from workflow.clock import FrozenClock
from workflow.cycles import stay
from workflow.cycles.models import AuditEvent, Cycle, MeasureCycle
from workflow.cycles.service import open_cycle
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar, DeadlinePolicy
from workflow.machine import Event, MoveRefused, State
from workflow.runtime import Runtime
from workflow.transitions import VersionConflict, apply_event

# The clock fixture stands at Monday 2 March 2026, 10:00 in Berlin; default policy; NW.
EXPECTED_DUE: dict[State, date | None] = {
    State.INITIAL_INTERVIEW: date(2026, 4, 27),  # +56 days, a Monday
    State.TARGET_AGREEMENT: date(2026, 4, 13),  # +42 days, the Monday after Easter Monday
    State.IMPLEMENTATION: date(2027, 3, 2),  # +12 months, a Tuesday
    State.REVIEW: date(2026, 4, 13),
    State.ASSESSMENT: date(2026, 3, 23),  # +21 days, a Monday
    State.REPLANNING: date(2026, 4, 1),  # +30 days (replanning_days), a Wednesday
    State.CARRIED_FORWARD: None,
    State.DEFERRED: None,
    State.DROPPED: None,
    State.COMPLETED: None,
}


def _setup(session: Session, clock: FrozenClock, count: int) -> tuple[int, list[Measure]]:
    org = factories.organisation(session)
    ms = factories.measures(session, org, count)
    result = open_cycle(session=session, clock=clock, organisation_id=org.id, year=2026)
    return result.cycle_id, ms


def _put_in_state(session: Session, mc: MeasureCycle, state: State, clock: FrozenClock) -> None:
    stay.enter(mc, state, now=clock.now(), policy=DeadlinePolicy(), cal=BusinessCalendar())


def _snapshot(session: Session, mc_id: int) -> tuple[object, ...]:
    mc = session.get(MeasureCycle, mc_id, populate_existing=True)
    assert mc is not None
    audits = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.measure_cycle_id == mc_id)
    )
    return (mc.state, mc.version, mc.due_on, mc.next_action_at, mc.stay, audits)


@pytest.mark.parametrize("state", list(State), ids=[s.value for s in State])
def test_every_event_in_every_state(rt_sqlite: Runtime, clock: FrozenClock, state: State) -> None:
    with unit_of_work(rt_sqlite.sessions) as s:
        _setup(s, clock, len(Event))
        mcs = s.scalars(select(MeasureCycle).order_by(MeasureCycle.id)).all()
        for mc in mcs:
            _put_in_state(s, mc, state, clock)
        ids = [mc.id for mc in mcs]
    for mc_id, event in zip(ids, Event, strict=True):
        with rt_sqlite.sessions() as s:
            before = _snapshot(s, mc_id)
        payload = dict(VALID_PAYLOAD)
        target = EXPECTED.get((state, event))
        if target is None:
            with pytest.raises(MoveRefused), unit_of_work(rt_sqlite.sessions) as s:
                apply_event(
                    session=s,
                    clock=clock,
                    measure_cycle_id=mc_id,
                    event=event,
                    expected_version=before[1],
                    actor="user:1",
                    payload=payload,
                )
            with rt_sqlite.sessions() as s:
                assert _snapshot(s, mc_id) == before, f"{event} changed a refused row"
            continue
        with unit_of_work(rt_sqlite.sessions) as s:
            apply_event(
                session=s,
                clock=clock,
                measure_cycle_id=mc_id,
                event=event,
                expected_version=before[1],
                actor="user:1",
                payload=payload,
            )
        with rt_sqlite.sessions() as s:
            mc = s.get(MeasureCycle, mc_id)
            assert mc is not None
            assert mc.state == target.value
            assert mc.version == before[1] + 1
            want = date(2030, 1, 15) if event is Event.EXTEND_DEADLINE else EXPECTED_DUE[target]
            assert mc.due_on == want, (state, event)
            audit = s.scalars(
                select(AuditEvent)
                .where(AuditEvent.measure_cycle_id == mc_id)
                .order_by(AuditEvent.id.desc())
            ).first()
            assert audit is not None
            assert (audit.event, audit.from_state, audit.to_state, audit.actor) == (
                event.value,
                state.value,
                target.value,
                "user:1",
            )
            assert audit.at == clock.now()
            assert audit.payload == payload


def test_refused_move_changes_nothing_on_both_databases(rt: Runtime, clock: FrozenClock) -> None:
    with unit_of_work(rt.sessions) as s:
        _setup(s, clock, 1)
        mc_id = s.scalars(select(MeasureCycle.id)).one()
    with rt.sessions() as s:
        before = _snapshot(s, mc_id)
        outbox_before = s.scalar(select(func.count()).select_from(OutboxMessage))
    with pytest.raises(MoveRefused) as info, unit_of_work(rt.sessions) as s:
        apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            event="submit_review",
            expected_version=1,
            actor="user:1",
        )
    assert info.value.code == "move_not_allowed"
    assert info.value.params["allowed_events"] == [
        "record_interview",
        "extend_deadline",
        "defer",
        "drop",
    ]
    with rt.sessions() as s:
        assert _snapshot(s, mc_id) == before
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == outbox_before


def test_second_writer_with_the_same_version_gets_a_conflict(
    rt: Runtime, clock: FrozenClock
) -> None:
    with unit_of_work(rt.sessions) as s:
        _setup(s, clock, 1)
        mc_id = s.scalars(select(MeasureCycle.id)).one()
    # Two people open the same item and both see version 1.
    with rt.sessions() as a, rt.sessions() as b:
        seen_a = a.get(MeasureCycle, mc_id)
        seen_b = b.get(MeasureCycle, mc_id)
        assert seen_a is not None and seen_b is not None
        version_a, version_b = seen_a.version, seen_b.version
    with unit_of_work(rt.sessions) as s:
        apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            event="record_interview",
            expected_version=version_a,
            actor="user:a",
            payload={"decision": "keep"},
        )
    with pytest.raises(VersionConflict) as info, unit_of_work(rt.sessions) as s:
        apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            event="drop",
            expected_version=version_b,
            actor="user:b",
            payload={"reason": "zu teuer"},
        )
    assert (info.value.expected, info.value.current) == (1, 2)
    with rt.sessions() as s:
        mc = s.get(MeasureCycle, mc_id)
        assert mc is not None
        assert (mc.state, mc.version) == (State.TARGET_AGREEMENT.value, 2)
        actors = s.scalars(
            select(AuditEvent.actor)
            .where(AuditEvent.measure_cycle_id == mc_id)
            .order_by(AuditEvent.id)
        ).all()
        assert actors == ["system", "user:a"]


def test_concurrent_stale_write_is_caught_by_the_version_column(
    rt: Runtime, clock: FrozenClock
) -> None:
    """Even a writer that skips the explicit check cannot overwrite: the UPDATE is versioned."""
    with unit_of_work(rt.sessions) as s:
        _setup(s, clock, 1)
        mc_id = s.scalars(select(MeasureCycle.id)).one()
    stale = rt.sessions()
    row = stale.get(MeasureCycle, mc_id)
    assert row is not None
    stale.commit()
    with unit_of_work(rt.sessions) as s:
        apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            event="record_interview",
            expected_version=1,
            actor="user:a",
            payload={"decision": "adapt"},
        )
    row.state = State.DROPPED.value
    from sqlalchemy.orm.exc import StaleDataError

    with pytest.raises(StaleDataError):
        stale.commit()
    stale.close()
    with rt.sessions() as s:
        mc = s.get(MeasureCycle, mc_id)
        assert mc is not None and mc.state == State.TARGET_AGREEMENT.value


def test_entering_target_agreement_queues_one_invitation(rt: Runtime, clock: FrozenClock) -> None:
    with unit_of_work(rt.sessions) as s:
        cycle_id, _ = _setup(s, clock, 2)
        mc_ids = s.scalars(select(MeasureCycle.id).order_by(MeasureCycle.id)).all()
    for mc_id in mc_ids:
        with unit_of_work(rt.sessions) as s:
            apply_event(
                session=s,
                clock=clock,
                measure_cycle_id=mc_id,
                event="record_interview",
                expected_version=1,
                actor="user:1",
                payload={"decision": "keep"},
            )
    with rt.sessions() as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [r.kind for r in rows] == ["invitation_agreement"] * 2
        assert {r.recipient_email for r in rows} == {"mkontakt0@stadt.example.org"}
        assert rows[0].context["measure_code"] == "M0001"
        assert s.get(Cycle, cycle_id) is not None


def test_drop_marks_the_measure_dropped(rt_sqlite: Runtime, clock: FrozenClock) -> None:
    with unit_of_work(rt_sqlite.sessions) as s:
        _setup(s, clock, 1)
        mc_id = s.scalars(select(MeasureCycle.id)).one()
    with unit_of_work(rt_sqlite.sessions) as s:
        apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            event="drop",
            expected_version=1,
            actor="user:1",
            payload={"reason": "erledigt sich"},
        )
    with rt_sqlite.sessions() as s:
        assert s.scalars(select(Measure.status)).one() == "dropped"


def test_extension_into_the_past_is_refused(rt_sqlite: Runtime, clock: FrozenClock) -> None:
    with unit_of_work(rt_sqlite.sessions) as s:
        _setup(s, clock, 1)
        mc_id = s.scalars(select(MeasureCycle.id)).one()
    with (
        pytest.raises(MoveRefused, match=r"move\.due_not_in_future"),
        unit_of_work(rt_sqlite.sessions) as s,
    ):
        apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            event="extend_deadline",
            expected_version=1,
            actor="user:1",
            payload={"due_on": "2026-03-01", "reason": "Urlaub"},
        )


def test_a_refused_compare_writes_neither_audit_nor_outbox(rt: Runtime, clock: FrozenClock) -> None:
    """The move's three writes stand or fall together: a stay no longer at the version the
    move was planned on is left alone, and no audit row or message is written for it."""
    from notifications.outbox import Draft
    from workflow.cycles.move_write import AuditRow, write_move

    with unit_of_work(rt.sessions) as s:
        _setup(s, clock, 1)
        mc = s.scalars(select(MeasureCycle)).one()
        mc_id, org_id, version = mc.id, mc.organisation_id, mc.version

    def attempt(at_version: int) -> bool:
        with unit_of_work(rt.sessions) as s:
            return write_move(
                s.connection(),
                measure_cycle_id=mc_id,
                version=at_version,
                changes={"state": State.DROPPED.value},
                audit=AuditRow(
                    org_id,
                    clock.now(),
                    "user:t",
                    "drop",
                    "initial_interview",
                    "dropped",
                    {"reason": "Test"},
                ),
                drafts=[Draft(org_id, f"cas-{at_version}", "test", "a@example.org")],
                now=clock.now(),
            )

    with rt.sessions() as s:
        before = _snapshot(s, mc_id)
        queued = s.scalar(select(func.count()).select_from(OutboxMessage))
    assert attempt(version + 1) is False
    with rt.sessions() as s:
        assert _snapshot(s, mc_id) == before
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == queued
    assert attempt(version) is True
    with rt.sessions() as s:
        mc = s.get(MeasureCycle, mc_id)
        assert mc is not None and (mc.state, mc.version) == ("dropped", version + 1)
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == queued + 1
        actors = s.scalars(
            select(AuditEvent.actor).where(AuditEvent.measure_cycle_id == mc_id)
        ).all()
        assert actors[-1] == "user:t" and len(actors) == before[-1] + 1
