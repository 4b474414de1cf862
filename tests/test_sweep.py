"""The sweep on real databases: the right step at the right time, once, even run concurrently."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from notifications.models import OutboxMessage
from tests import factories
from tests.conftest import BERLIN, make_runtime
from workflow.bodies.models import Body, BodyMember
from workflow.clock import FrozenClock
from workflow.cycles.models import MeasureCycle
from workflow.cycles.service import open_cycle, record_interview
from workflow.db import unit_of_work
from workflow.machine import State
from workflow.runtime import Runtime
from workflow.sweep import run_sweep


def _at(y: int, m: int, d: int, h: int = 8, minute: int = 1) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=BERLIN)


def seed(rt: Runtime, clock: FrozenClock, measures: int = 3, contacts: int = 1) -> list[int]:
    """Measures interviewed on Mon 2 March 2026, 10:00: agreements due Mon 13 April."""
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        factories.measures(s, org, measures, contacts=contacts)
        group = Body(organisation_id=org.id, name="Steuerungsgruppe")
        s.add(group)
        s.flush()
        s.add(BodyMember(body_id=group.id, name="Dr. Sommer", email="sommer@stadt.example.org"))
        open_cycle(session=s, clock=clock, organisation_id=org.id, year=2026)
        ids = list(s.scalars(select(MeasureCycle.id).order_by(MeasureCycle.id)))
        for mc_id in ids:
            record_interview(
                session=s,
                clock=clock,
                measure_cycle_id=mc_id,
                expected_version=None,
                actor="user:1",
                decision="keep",
            )
    return ids


def outbox(rt: Runtime) -> list[tuple[str, str, str]]:
    with rt.sessions() as s:
        return [
            (r.dedupe_key, r.kind, r.recipient_email)
            for r in s.scalars(select(OutboxMessage).order_by(OutboxMessage.dedupe_key))
        ]


def kinds(rt: Runtime) -> list[str]:
    return sorted(k for _, k, _ in outbox(rt))


def sweep(rt: Runtime, clock: FrozenClock, moment: datetime) -> None:
    clock.set(moment)
    run_sweep(sessions=rt.sessions, clock=clock, batch_size=2)


def test_steps_fire_on_their_days_and_only_once(rt: Runtime, clock: FrozenClock) -> None:
    ids = seed(rt, clock, measures=3)
    assert kinds(rt) == ["invitation_agreement"] * 3
    sweep(rt, clock, _at(2026, 3, 30, 7, 59))
    assert kinds(rt) == ["invitation_agreement"] * 3  # a minute early: nothing
    timeline = [
        (_at(2026, 3, 30), "reminder"),  # 14 days before Mon 13 April
        (_at(2026, 4, 10), "reminder"),  # 3 days before
        (_at(2026, 4, 13), "final_reminder"),  # on the due date
        (_at(2026, 4, 20), "escalation_head"),  # 7 days overdue, to the department head
        (_at(2026, 5, 4), "digest_item"),  # 21 days overdue, into the steering digest
    ]
    expected = ["invitation_agreement"] * 3
    for moment, kind in timeline:
        sweep(rt, clock, moment)
        expected = sorted([*expected, *[kind] * 3])
        assert kinds(rt) == expected, moment
        sweep(rt, clock, moment + timedelta(minutes=5))  # a second beat finds nothing new
        assert kinds(rt) == expected
    with rt.sessions() as s:
        mcs = s.scalars(select(MeasureCycle).where(MeasureCycle.id.in_(ids))).all()
        assert {(mc.escalation_level, mc.next_action_at, mc.version) for mc in mcs} == {
            (2, None, 2)
        }
        heads = {
            r.recipient_email
            for r in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "escalation_head"))
        }
        assert heads == {"mleitung@stadt.example.org"}


def test_a_late_sweep_sends_the_latest_reminder_and_every_escalation(
    rt: Runtime, clock: FrozenClock
) -> None:
    seed(rt, clock, measures=2)
    sweep(rt, clock, _at(2026, 4, 21, 12))
    assert kinds(rt) == sorted(
        ["invitation_agreement"] * 2 + ["final_reminder"] * 2 + ["escalation_head"] * 2
    )
    sweep(rt, clock, _at(2026, 5, 4, 9))
    assert kinds(rt).count("digest_item") == 2


def test_implementation_ends_by_itself_with_a_review_request(
    rt: Runtime, clock: FrozenClock
) -> None:
    ids = seed(rt, clock, measures=1)
    from workflow.transitions import apply_event

    with unit_of_work(rt.sessions) as s:
        apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=ids[0],
            event="submit_agreement",
            expected_version=None,
            actor="contact:1",
        )
    sweep(rt, clock, _at(2027, 3, 1, 23, 0))
    with rt.sessions() as s:
        assert s.get(MeasureCycle, ids[0]).state == State.IMPLEMENTATION.value  # type: ignore[union-attr]
    sweep(rt, clock, _at(2027, 3, 2, 0, 1))
    with rt.sessions() as s:
        mc = s.get(MeasureCycle, ids[0])
        assert mc is not None and mc.state == State.REVIEW.value
    assert kinds(rt).count("review_request") == 1


def test_sweep_does_not_bump_the_version_a_user_holds(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    ids = seed(rt_sqlite, clock, measures=1)
    with rt_sqlite.sessions() as s:
        version = s.get(MeasureCycle, ids[0]).version  # type: ignore[union-attr]
    sweep(rt_sqlite, clock, _at(2026, 3, 30))
    from workflow.transitions import apply_event

    with unit_of_work(rt_sqlite.sessions) as s:
        apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=ids[0],
            event="submit_agreement",
            expected_version=version,
            actor="contact:1",
        )


def _schedule(rt: Runtime) -> list[tuple[object, ...]]:
    with rt.sessions() as s:
        return [
            (
                mc.measure_id,
                mc.state,
                mc.action_step,
                mc.next_action_at,
                mc.escalation_level,
                mc.version,
            )
            for mc in s.scalars(select(MeasureCycle).order_by(MeasureCycle.measure_id))
        ]


def test_two_concurrent_sweep_processes_equal_one(
    database_url: str, another_database: Callable[[str], str], clock: FrozenClock, tmp_path
) -> None:
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    moment = _at(2026, 4, 21, 12)
    once = make_runtime(database_url, clock, tmp_path)
    seed(once, clock, measures=120, contacts=7)
    clock.set(moment)
    run_sweep(sessions=once.sessions, clock=clock, batch_size=10)
    expected_outbox, expected_schedule = outbox(once), _schedule(once)
    once.dispose()

    clock.set(_at(2026, 3, 2, 10, 0))
    twice = make_runtime(another_database(kind), clock, tmp_path)
    seed(twice, clock, measures=120, contacts=7)
    url = twice.engine.url.render_as_string(hide_password=False)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.sweep_process", url, moment.isoformat(), "10"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    examined = sum(int(__import__("json").loads(out)["examined"]) for out, _ in results)
    assert examined >= 120  # together they looked at every due row
    clock.set(moment)
    run_sweep(sessions=twice.sessions, clock=clock, batch_size=10)  # and a third, late one
    assert outbox(twice) == expected_outbox
    assert _schedule(twice) == expected_schedule
    assert len(expected_outbox) == 120 * 3  # invitation, final reminder, head escalation
    twice.dispose()


def test_a_proposed_drop_is_not_chased(rt_sqlite: Runtime, clock: FrozenClock) -> None:
    from workflow.cycles.models import TargetAgreement

    ids = seed(rt_sqlite, clock, measures=2)
    with unit_of_work(rt_sqlite.sessions) as s:
        s.add(
            TargetAgreement(
                measure_cycle_id=ids[0],
                decision="drop_proposed",
                reason="Angebot endet",
                submitted_at=clock.now(),
                submitted_by="contact:1",
            )
        )
    sweep(rt_sqlite, clock, _at(2026, 4, 21))
    with rt_sqlite.sessions() as s:
        chased = {
            r.measure_cycle_id
            for r in s.scalars(
                select(OutboxMessage).where(OutboxMessage.kind != "invitation_agreement")
            )
        }
        waiting = s.get(MeasureCycle, ids[0])
        assert waiting is not None and waiting.next_action_at is None
    assert chased == {ids[1]}
