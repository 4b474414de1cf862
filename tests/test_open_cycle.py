"""Opening a cycle: one place per active measure, idempotent, proposals carried forward."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from notifications.models import OutboxMessage
from tests import factories
from tests.conftest import BERLIN
from workflow.clock import FrozenClock
from workflow.cycles.models import AuditEvent, MeasureCycle, Review, TargetAgreement
from workflow.cycles.service import open_cycle, record_interview
from workflow.db import unit_of_work
from workflow.machine import State
from workflow.runtime import Runtime
from workflow.transitions import apply_event


def _table_counts(rt: Runtime) -> dict[str, Any]:
    with rt.sessions() as s:
        return {
            "mc": s.scalar(select(func.count()).select_from(MeasureCycle)),
            "audit": s.scalar(select(func.count()).select_from(AuditEvent)),
            "outbox": s.scalar(select(func.count()).select_from(OutboxMessage)),
            "states": sorted(s.scalars(select(MeasureCycle.state))),
        }


def test_open_twice_is_a_no_op(rt: Runtime, clock: FrozenClock) -> None:
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        factories.measures(s, org, 5)
        first = open_cycle(session=s, clock=clock, organisation_id=org.id, year=2026)
        org_id = org.id
    assert first.created == 5
    before = _table_counts(rt)
    with unit_of_work(rt.sessions) as s:
        again = open_cycle(session=s, clock=clock, organisation_id=org_id, year=2026)
    assert (again.created, again.already_open, again.cycle_id) == (0, 5, first.cycle_id)
    assert _table_counts(rt) == before
    assert before["states"] == [State.INITIAL_INTERVIEW.value] * 5


def _run_to_replanning(rt: Runtime, clock: FrozenClock, mc_id: int, proposal: str) -> None:
    actor = "user:1"
    with unit_of_work(rt.sessions) as s:
        record_interview(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            expected_version=None,
            actor=actor,
            decision="keep",
            notes="passt",
        )
    with unit_of_work(rt.sessions) as s:
        s.add(
            TargetAgreement(
                measure_cycle_id=mc_id,
                decision="implement",
                targets="20 Lesepaten gewinnen",
                responsible="Frau A",
                submitted_at=clock.now(),
                submitted_by="contact:1",
            )
        )
        apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            event="submit_agreement",
            expected_version=None,
            actor="contact:1",
        )
    for event in ("start_review",):
        with unit_of_work(rt.sessions) as s:
            apply_event(
                session=s,
                clock=clock,
                measure_cycle_id=mc_id,
                event=event,
                expected_version=None,
                actor="system:sweep",
            )
    with unit_of_work(rt.sessions) as s:
        s.add(
            Review(
                measure_cycle_id=mc_id,
                achievement="teilweise",
                proposal=proposal,
                proposal_text="Mehr Schulen einbinden",
                submitted_at=clock.now(),
                submitted_by="contact:1",
            )
        )
        apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            event="submit_review",
            expected_version=None,
            actor="contact:1",
        )
    with unit_of_work(rt.sessions) as s:
        apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            event="accept_review",
            expected_version=None,
            actor=actor,
        )


def test_second_year_carries_the_proposal_forward(rt: Runtime, clock: FrozenClock) -> None:
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        ms = factories.measures(s, org, 3)
        open_cycle(session=s, clock=clock, organisation_id=org.id, year=2026)
        org_id = org.id
        ids = {mc.measure_id: mc.id for mc in s.scalars(select(MeasureCycle))}
    done, running, dropped = (ids[m.id] for m in ms)
    _run_to_replanning(rt, clock, done, "adapt")
    with unit_of_work(rt.sessions) as s:
        record_interview(
            session=s,
            clock=clock,
            measure_cycle_id=running,
            expected_version=None,
            actor="user:1",
            decision="keep",
        )
        record_interview(
            session=s,
            clock=clock,
            measure_cycle_id=dropped,
            expected_version=None,
            actor="user:1",
            decision="drop",
            notes="Angebot gibt es nicht mehr",
        )

    clock.set(datetime(2027, 1, 11, 9, 0, tzinfo=BERLIN))
    with unit_of_work(rt.sessions) as s:
        result = open_cycle(session=s, clock=clock, organisation_id=org_id, year=2027)
    assert (result.created, result.carried_forward, result.still_running) == (1, 1, 1)
    with rt.sessions() as s:
        old = s.get(MeasureCycle, done)
        assert old is not None and old.state == State.CARRIED_FORWARD.value
        new = s.scalars(select(MeasureCycle).where(MeasureCycle.cycle_id == result.cycle_id)).one()
        assert new.measure_id == ms[0].id
        assert new.state == State.TARGET_AGREEMENT.value  # interviewed last year
        assert new.draft["proposal"] == "adapt"
        assert new.draft["proposal_text"] == "Mehr Schulen einbinden"
        assert new.draft["last_targets"] == "20 Lesepaten gewinnen"
        assert new.draft["from_measure_cycle_id"] == done
