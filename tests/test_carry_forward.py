"""Neuplanung on real databases: the sweep carries a measure into the next cycle by itself,
once even with two sweeps at the same time, and reminds the coordinators when no next cycle
is open within the policy's ``replanning_days`` (once, then one more time)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

from sqlalchemy import select

from notifications.models import OutboxMessage
from notifications.render import Renderer
from tests import factories
from tests.conftest import BERLIN
from workflow.accounts import Role, add_or_update_user
from workflow.clock import FrozenClock
from workflow.cycles.models import AuditEvent, Cycle, MeasureCycle, Review, TargetAgreement
from workflow.cycles.service import open_cycle, record_interview
from workflow.db import unit_of_work
from workflow.machine import Event, State
from workflow.runtime import Runtime
from workflow.sweep import run_sweep
from workflow.transitions import apply_event

COORDINATORS = ("koordination@stadt.example.org", "vertretung@stadt.example.org")


def _move(rt: Runtime, clock: FrozenClock, mc_id: int, event: Event) -> None:
    with unit_of_work(rt.sessions) as s:
        apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            event=event,
            expected_version=None,
            actor="user:1",
        )


def _to(rt: Runtime, clock: FrozenClock, mc_id: int, state: State) -> None:
    """Walk one stay from the Erstgespräch to ``state`` (Bewertung or Neuplanung)."""
    now = clock.now()
    with unit_of_work(rt.sessions) as s:
        record_interview(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            expected_version=None,
            actor="user:1",
            decision="keep",
        )
        s.add(
            TargetAgreement(
                measure_cycle_id=mc_id,
                decision="implement",
                targets="20 Lesepaten gewinnen",
                responsible="Frau A",
                submitted_at=now,
                submitted_by="contact:1",
            )
        )
    _move(rt, clock, mc_id, Event.SUBMIT_AGREEMENT)
    _move(rt, clock, mc_id, Event.START_REVIEW)
    with unit_of_work(rt.sessions) as s:
        s.add(
            Review(
                measure_cycle_id=mc_id,
                achievement="teilweise",
                proposal="adapt",
                proposal_text="Mehr Schulen einbinden",
                submitted_at=now,
                submitted_by="contact:1",
            )
        )
    _move(rt, clock, mc_id, Event.SUBMIT_REVIEW)
    if state is State.REPLANNING:
        _move(rt, clock, mc_id, Event.ACCEPT_REVIEW)


def _world(rt: Runtime, clock: FrozenClock, measures: int) -> tuple[int, list[int]]:
    """A 2026 cycle (opened Mon 2 March 2026) with two coordinators; the stays' ids."""
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        factories.measures(s, org, measures)
        for email in COORDINATORS:
            add_or_update_user(
                session=s,
                organisation_id=org.id,
                email=email,
                role=Role.COORDINATOR,
                password="ein langes Passwort 2026",
                now=clock.now(),
                name=email.split("@")[0].title(),
            )
        open_cycle(session=s, clock=clock, organisation_id=org.id, year=2026)
        ids = list(s.scalars(select(MeasureCycle.id).order_by(MeasureCycle.id)))
        return org.id, ids


def _sweep(rt: Runtime, clock: FrozenClock, moment: datetime) -> None:
    clock.set(moment)
    run_sweep(sessions=rt.sessions, clock=clock)


def _stays_of(rt: Runtime, measure_id: int) -> list[tuple[int, str]]:
    with rt.sessions() as s:
        return [
            (year, state)
            for year, state in s.execute(
                select(Cycle.year, MeasureCycle.state)
                .join(Cycle, Cycle.id == MeasureCycle.cycle_id)
                .where(MeasureCycle.measure_id == measure_id)
                .order_by(Cycle.year)
            )
        ]


def _kinds(rt: Runtime) -> list[tuple[str, str]]:
    with rt.sessions() as s:
        return sorted(
            (r.kind, r.dedupe_key)
            for r in s.scalars(select(OutboxMessage))
            if r.kind in ("open_cycle_reminder", "invitation_agreement")
        )


def test_the_sweep_carries_into_the_next_cycle_once_it_is_open_and_only_once(
    rt: Runtime, clock: FrozenClock
) -> None:
    org_id, (early, late) = _world(rt, clock, 2)
    with rt.sessions() as s:
        early_measure, late_measure = (
            s.get(MeasureCycle, i).measure_id  # type: ignore[union-attr]
            for i in (early, late)
        )
    _to(rt, clock, early, State.REPLANNING)
    _to(rt, clock, late, State.ASSESSMENT)

    # No later cycle: the sweep leaves Neuplanung alone.
    _sweep(rt, clock, datetime(2026, 12, 1, 9, 0, tzinfo=BERLIN))
    assert _stays_of(rt, early_measure) == [(2026, State.REPLANNING.value)]

    # Opening 2027 carries the early one itself; the late one is still in Bewertung and stays.
    clock.set(datetime(2027, 1, 11, 9, 0, tzinfo=BERLIN))
    with unit_of_work(rt.sessions) as s:
        result = open_cycle(session=s, clock=clock, organisation_id=org_id, year=2027)
    assert (result.created, result.carried_forward, result.running_in) == (1, 1, {2026: ["M0002"]})
    assert _stays_of(rt, late_measure) == [(2026, State.ASSESSMENT.value)]

    clock.set(datetime(2027, 2, 1, 10, 0, tzinfo=BERLIN))
    _move(rt, clock, late, Event.ACCEPT_REVIEW)
    invitations_before = len(_kinds(rt))
    # Two sweeps at the same time, each in its own process.
    url = rt.engine.url.render_as_string(hide_password=False)
    moment = datetime(2027, 2, 1, 16, 0, tzinfo=BERLIN).isoformat()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.sweep_process", url, moment, "10"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    assert all(json.loads(out)["examined"] >= 0 for out, _ in results)
    _sweep(rt, clock, datetime(2027, 2, 2, 9, 0, tzinfo=BERLIN))  # and a late third one

    assert _stays_of(rt, late_measure) == [
        (2026, State.CARRIED_FORWARD.value),
        (2027, State.TARGET_AGREEMENT.value),
    ]
    assert len(_kinds(rt)) == invitations_before + 1  # one invitation, to the contact
    with rt.sessions() as s:
        new = s.scalars(
            select(MeasureCycle)
            .join(Cycle, Cycle.id == MeasureCycle.cycle_id)
            .where(MeasureCycle.measure_id == late_measure, Cycle.year == 2027)
        ).one()
        assert new.draft["proposal"] == "adapt"
        assert new.draft["proposal_text"] == "Mehr Schulen einbinden"
        assert new.draft["last_targets"] == "20 Lesepaten gewinnen"
        assert new.draft["from_measure_cycle_id"] == late
        events = [
            (a.measure_cycle_id, a.event, a.actor, a.payload)
            for a in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.measure_cycle_id.in_((late, new.id)))
                .where(AuditEvent.event.in_(("carry_forward", "open_cycle")))
                .order_by(AuditEvent.id)
            )
        ]
    assert events == [
        (late, "open_cycle", "system", {"year": 2026}),
        (late, "carry_forward", "system:sweep", {"into_year": 2027}),
        (new.id, "open_cycle", "system:sweep", {"year": 2027}),
    ]
    # Only the early stay waited without a next cycle; the late sweep of 1 December owed
    # both of its reminders and sent the latest one only. The late stay never waited.
    with rt.sessions() as s:
        stay = s.get(MeasureCycle, early).stay  # type: ignore[union-attr]
    assert [k for k in _kinds(rt) if k[0] == "open_cycle_reminder"] == sorted(
        ("open_cycle_reminder", f"mc:{early}:{stay - 1}:open_cycle_reminder:1:{email}")
        for email in COORDINATORS
    )


def test_coordinators_are_reminded_after_replanning_days_once_and_then_once_more(
    rt: Runtime, clock: FrozenClock
) -> None:
    _, (waiting,) = _world(rt, clock, 1)
    _to(rt, clock, waiting, State.REPLANNING)  # Mon 2 March 2026: due Wed 1 April
    with rt.sessions() as s:
        row = s.get(MeasureCycle, waiting)
        assert row is not None and row.due_on is not None
        assert (row.state, row.due_on.isoformat()) == (State.REPLANNING.value, "2026-04-01")
        stay = row.stay

    _sweep(rt, clock, datetime(2026, 3, 31, 16, 0, tzinfo=BERLIN))
    assert [k for k, _ in _kinds(rt) if k == "open_cycle_reminder"] == []

    first = [
        ("open_cycle_reminder", f"mc:{waiting}:{stay}:open_cycle_reminder:0:{email}")
        for email in COORDINATORS
    ]
    for moment in (
        datetime(2026, 4, 1, 8, 5),
        datetime(2026, 4, 1, 16, 0),
        datetime(2026, 4, 2, 8, 5),
    ):
        _sweep(rt, clock, moment.replace(tzinfo=BERLIN))
        assert [r for r in _kinds(rt) if r[0] == "open_cycle_reminder"] == sorted(first)

    # One more after another replanning_days (1 May is a holiday: Monday 4 May), then none.
    second = [
        ("open_cycle_reminder", f"mc:{waiting}:{stay}:open_cycle_reminder:1:{email}")
        for email in COORDINATORS
    ]
    _sweep(rt, clock, datetime(2026, 5, 1, 16, 0, tzinfo=BERLIN))
    assert len([r for r in _kinds(rt) if r[0] == "open_cycle_reminder"]) == 2
    for moment in (datetime(2026, 5, 4, 8, 5), datetime(2026, 8, 3, 8, 5)):
        _sweep(rt, clock, moment.replace(tzinfo=BERLIN))
        assert [r for r in _kinds(rt) if r[0] == "open_cycle_reminder"] == sorted(first + second)

    # The email names the measure, the missing year and the page that lists what waits.
    with rt.sessions() as s:
        rows = s.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.kind == "open_cycle_reminder",
                OutboxMessage.recipient_email == COORDINATORS[0],
            )
            .order_by(OutboxMessage.id)
        ).all()
        mail = Renderer(s, rt.settings, clock.now()).render([rows[0]])
    assert mail.subject == "Bitte eröffnen Sie den Zyklus 2027: 1 Maßnahme wartet auf die Neuplanung"
    assert "M0001 Maßnahme 1" in mail.text
    assert "zielflow open-cycle 2027" in mail.text
    assert f"{rt.settings.base_url.rstrip('/')}/pipeline?cycle=2026" in mail.text


def test_a_sweep_in_small_batches_reminds_every_waiting_stay(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    _, ids = _world(rt_sqlite, clock, 3)
    for mc_id in ids:
        _to(rt_sqlite, clock, mc_id, State.REPLANNING)

    def reminded() -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for kind, key in _kinds(rt_sqlite):
            if kind == "open_cycle_reminder" and key.endswith(COORDINATORS[0]):
                out.setdefault(int(key.split(":")[1]), []).append(int(key.split(":")[4]))
        return out

    # A stay reminded once is read again in the next batch: it must not hide the others.
    for moment, steps in (
        (datetime(2026, 4, 1, 8, 5), [0]),
        (datetime(2026, 4, 2, 8, 5), [0]),
        (datetime(2026, 5, 4, 8, 5), [0, 1]),
    ):
        clock.set(moment.replace(tzinfo=BERLIN))
        run_sweep(sessions=rt_sqlite.sessions, clock=clock, batch_size=1)
        assert reminded() == {mc_id: steps for mc_id in ids}


def test_an_archived_organisation_is_not_carried_forward_until_it_returns(
    rt: Runtime, clock: FrozenClock
) -> None:
    from tests.form_support import set_archived

    org_id, (_early, late) = _world(rt, clock, 2)
    with rt.sessions() as s:
        late_measure = s.get(MeasureCycle, late).measure_id  # type: ignore[union-attr]
    _to(rt, clock, late, State.ASSESSMENT)
    clock.set(datetime(2027, 1, 11, 9, 0, tzinfo=BERLIN))
    with unit_of_work(rt.sessions) as s:
        open_cycle(session=s, clock=clock, organisation_id=org_id, year=2027)
    clock.set(datetime(2027, 2, 1, 10, 0, tzinfo=BERLIN))
    _move(rt, clock, late, Event.ACCEPT_REVIEW)
    set_archived(rt, org_id, clock.now())
    _sweep(rt, clock, datetime(2027, 2, 1, 16, 0, tzinfo=BERLIN))
    assert _stays_of(rt, late_measure) == [(2026, State.REPLANNING.value)]
    set_archived(rt, org_id, None)
    _sweep(rt, clock, datetime(2027, 2, 2, 9, 0, tzinfo=BERLIN))
    assert _stays_of(rt, late_measure) == [
        (2026, State.CARRIED_FORWARD.value),
        (2027, State.TARGET_AGREEMENT.value),
    ]
