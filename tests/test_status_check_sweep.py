"""The sweep and status checks: reminders and escalations on the policy's days, each once
however often the sweep runs; answered parts and closed checks leave the schedule; the
scheduled mid-term check opens once per stay and month (on SQLite and PostgreSQL).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select, update

from notifications.models import OutboxMessage
from notifications.render import Renderer
from tests.conftest import BERLIN
from tests.form_support import World, build_world, set_archived
from workflow.catalogue.models import Contact
from workflow.clock import FrozenClock
from workflow.cycles.models import Cycle, MeasureCycle, TargetAgreement
from workflow.db import unit_of_work
from workflow.runtime import Runtime
from workflow.status_checks.models import StatusCheck, StatusCheckItem, StatusCheckRequest
from workflow.status_checks.selection import Selection
from workflow.status_checks.service import close_status_check, open_status_check
from workflow.sweep import run_sweep
from workflow.transitions import apply_event

DUE = date(2026, 4, 15)  # reminders 1, 12 and 15 April; escalations 22 April and 6 May


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)


def open_check(rt: Runtime, world: World) -> int:
    with unit_of_work(rt.sessions) as s:
        return open_status_check(
            s, clock=rt.clock, organisation_id=world.org_id, selection=Selection(),
            due_on=DUE, actor="user:1",
        ).id  # fmt: skip


def sweep_twice(rt: Runtime, clock: FrozenClock, moment: datetime) -> None:
    clock.set(moment)
    run_sweep(sessions=rt.sessions, clock=clock)
    run_sweep(sessions=rt.sessions, clock=clock)


def kinds(rt: Runtime) -> dict[str, int]:
    with rt.sessions() as s:
        return dict(
            s.execute(
                select(OutboxMessage.kind, func.count())
                .where(OutboxMessage.dedupe_key.like("sc:%"))
                .group_by(OutboxMessage.kind)
            ).all()
        )


def parts(rt: Runtime) -> list[StatusCheckRequest]:
    with rt.sessions() as s:
        found = list(s.scalars(select(StatusCheckRequest).order_by(StatusCheckRequest.id)))
        s.expunge_all()
        return found


def test_reminders_and_escalations_on_the_policys_days_each_once(
    rt: Runtime, clock: FrozenClock
) -> None:
    world = build_world(rt, measures=2)  # one measure for each of two contacts
    open_check(rt, world)
    sweep_twice(rt, clock, at(date(2026, 3, 31)))  # before the first reminder
    assert kinds(rt) == {"status_check_request": 2}
    for day in (date(2026, 4, 1), date(2026, 4, 12), date(2026, 4, 15)):
        sweep_twice(rt, clock, at(day))
    assert kinds(rt) == {
        "status_check_request": 2,
        "status_check_reminder": 4,
        "status_check_final_reminder": 2,
    }
    with rt.sessions() as s:
        keys = sorted(
            s.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.kind.like("status_check_%"))
            )
        )
    assert keys == sorted(
        f"sc:{p.id}:1:{what}" for p in parts(rt)
        for what in ("request:0", "reminder:0", "reminder:1", "reminder:2")
    )  # fmt: skip
    sweep_twice(rt, clock, at(date(2026, 4, 22)))  # the department head, once per part
    assert kinds(rt)["status_check_escalation_head"] == 2
    with rt.sessions() as s:
        head = s.scalars(select(Contact).where(Contact.is_head.is_(True))).one()
        to_heads = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "status_check_escalation_head")
        ).all()
        assert {r.recipient_email for r in to_heads} == {head.email}
    assert {p.escalation_level for p in parts(rt)} == {1}
    sweep_twice(rt, clock, at(date(2026, 5, 6)))  # the bodies: a level and a digest item
    assert [(p.escalation_level, p.next_action_at) for p in parts(rt)] == [(2, None)] * 2
    assert kinds(rt)["digest_item"] == 2  # no email (tests/test_status_check_ladder.py)
    sweep_twice(rt, clock, at(date(2026, 6, 1)))
    assert sum(kinds(rt).values()) == 12


def test_the_head_email_names_the_contact_and_the_measures_without_a_link(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    rt = rt_sqlite
    world = build_world(rt, measures=4)
    open_check(rt, world)
    sweep_twice(rt, clock, at(date(2026, 4, 22)))  # late: the last reminder, and the head
    assert kinds(rt) == {
        "status_check_request": 2,
        "status_check_final_reminder": 2,
        "status_check_escalation_head": 2,
    }
    with unit_of_work(rt.sessions) as s:
        contact = s.get(Contact, world.contact_id)
        assert contact is not None
        part = s.scalars(
            select(StatusCheckRequest).where(StatusCheckRequest.contact_id == contact.id)
        ).one()
        row = s.scalars(
            select(OutboxMessage).where(
                OutboxMessage.dedupe_key.like(f"sc:{part.id}:1:escalation:1:%")
            )
        ).one()
        email = Renderer(s, rt.settings, clock.now()).render([row])
    assert contact.name in email.subject
    assert f"{contact.name} ({contact.email})" in email.text
    assert "M0001" in email.text and "M0003" in email.text and "M0002" not in email.text
    assert "seit 7 Tagen überfällig" in email.text
    assert not re.search(r"/f/[A-Za-z0-9_-]{20,}", email.text + email.html)


def test_answered_parts_and_closed_checks_leave_the_schedule(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    rt = rt_sqlite
    world = build_world(rt, measures=2)
    check_id = open_check(rt, world)
    first, second = parts(rt)
    with unit_of_work(rt.sessions) as s:  # the first contact has answered everything
        s.execute(
            update(StatusCheckRequest)
            .where(StatusCheckRequest.id == first.id)
            .values(answered_at=clock.now(), answered_by=f"contact:{first.contact_id}")
        )
    sweep_twice(rt, clock, at(date(2026, 4, 1)))
    with rt.sessions() as s:
        reminded = s.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == "status_check_reminder")
        ).all()
    assert reminded == [f"sc:{second.id}:1:reminder:0"]
    after = {p.id: p.next_action_at for p in parts(rt)}
    assert after[first.id] is None and after[second.id] == at(date(2026, 4, 12), 8)
    with unit_of_work(rt.sessions) as s:
        close_status_check(
            s, clock=clock, organisation_id=world.org_id, status_check_id=check_id, actor="u:1"
        )
    for day in (date(2026, 4, 12), date(2026, 4, 15), date(2026, 4, 22), date(2026, 5, 6)):
        sweep_twice(rt, clock, at(day))
    assert kinds(rt) == {"status_check_request": 2, "status_check_reminder": 1}
    assert {p.next_action_at for p in parts(rt)} == {None}


def _implement(rt: Runtime, world: World) -> None:
    """Agree every measure of the world; they enter Umsetzung now."""
    for mc_id in world.mine + world.theirs:
        with unit_of_work(rt.sessions) as s:
            s.add(
                TargetAgreement(
                    measure_cycle_id=mc_id, decision="implement", targets="20 Lesepaten",
                    responsible="Frau A", submitted_at=rt.clock.now(), submitted_by="contact:0",
                    accepted_at=rt.clock.now(),
                )
            )  # fmt: skip
            apply_event(
                session=s, clock=rt.clock, measure_cycle_id=mc_id, event="submit_agreement",
                expected_version=None, actor="test",
            )  # fmt: skip


def scheduled(rt: Runtime) -> list[StatusCheck]:
    with rt.sessions() as s:
        found = list(s.scalars(select(StatusCheck).where(StatusCheck.origin == "scheduled")))
        s.expunge_all()
        return found


def test_the_mid_term_check_opens_at_month_six_once(rt: Runtime, clock: FrozenClock) -> None:
    world = build_world(rt, measures=4)
    _implement(rt, world)  # Umsetzung from Monday 2 March 2026
    sweep_twice(rt, clock, at(date(2026, 9, 1), 23))  # the evening before: nothing yet
    assert scheduled(rt) == []
    sweep_twice(rt, clock, at(date(2026, 9, 2), 0))  # just after local midnight
    sweep_twice(rt, clock, at(date(2026, 9, 3)))  # and the next day
    (check,) = scheduled(rt)
    assert check.dedupe_key == f"scheduled:{world.cycle_id}:6:2026-09-02"
    assert check.due_on == date(2026, 9, 23) and check.cycle_id == world.cycle_id
    assert check.selection == {"scheduled_month": 6} and check.created_by == "system:sweep"
    with rt.sessions() as s:
        items = s.scalars(select(StatusCheckItem).order_by(StatusCheckItem.measure_cycle_id))
        assert [(i.measure_cycle_id, i.scheduled_month) for i in items] == [
            (mc_id, 6) for mc_id in sorted(world.mine + world.theirs)
        ]
        by_contact = dict(
            s.execute(
                select(StatusCheckRequest.contact_id, func.count(StatusCheckItem.id))
                .join(StatusCheckItem, StatusCheckItem.request_id == StatusCheckRequest.id)
                .group_by(StatusCheckRequest.contact_id)
            ).all()
        )
    assert by_contact == {world.contact_id: 2, world.other_contact_id: 2}
    assert kinds(rt) == {"status_check_request": 2}


def test_no_scheduled_check_beyond_the_months_of_umsetzung(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    rt = rt_sqlite
    world = build_world(rt, measures=2)
    _implement(rt, world)
    with unit_of_work(rt.sessions) as s:
        cycle = s.get(Cycle, world.cycle_id)
        assert cycle is not None
        cycle.policy = {**cycle.policy, "status_check_months": [3, 13], "implementation_months": 12}
        # A stay that began 14 months ago and has not been moved on yet.
        s.execute(
            update(MeasureCycle)
            .where(MeasureCycle.id == world.mine[0])
            .values(entered_state_at=clock.now() - relativedelta(months=14))
        )
    sweep_twice(rt, clock, at(date(2026, 3, 3)))
    (check,) = scheduled(rt)
    assert check.selection == {"scheduled_month": 3}
    with rt.sessions() as s:
        asked = s.execute(
            select(StatusCheckItem.measure_cycle_id, StatusCheckItem.scheduled_month)
        ).all()
    assert [tuple(row) for row in asked] == [(world.mine[0], 3)]


def test_a_stay_begun_on_a_months_last_day_is_asked_on_the_clipped_day(
    rt: Runtime, clock: FrozenClock
) -> None:
    """31 August + 6 months is 28 February: the database's pre-selection (a date cut with a
    margin) must not drop such a stay, nor one that began just after local midnight."""
    world = build_world(rt, measures=2)
    _implement(rt, world)
    stays = [world.mine[0], world.theirs[0]]
    with unit_of_work(rt.sessions) as s:
        for mc_id, begun in (
            (stays[0], at(date(2025, 8, 31), 10)),
            (stays[1], at(date(2025, 8, 31), 0)),  # 22:00 UTC on the 30th
        ):
            s.execute(
                update(MeasureCycle).where(MeasureCycle.id == mc_id).values(entered_state_at=begun)
            )
    sweep_twice(rt, clock, at(date(2026, 2, 27), 23))
    assert scheduled(rt) == []
    sweep_twice(rt, clock, at(date(2026, 2, 28), 0))
    with rt.sessions() as s:
        asked = s.execute(
            select(StatusCheckItem.measure_cycle_id, StatusCheckItem.scheduled_month).where(
                StatusCheckItem.measure_cycle_id.in_(stays)
            )
        ).all()
    assert sorted(tuple(row) for row in asked) == sorted((mc_id, 6) for mc_id in stays)
    (check,) = scheduled(rt)
    assert check.dedupe_key == f"scheduled:{world.cycle_id}:6:2026-02-28"


def test_organisations_with_different_months_are_each_asked_at_their_own(
    rt: Runtime, clock: FrozenClock
) -> None:
    """One organisation asks at month 3, another at month 6: each month's search covers only
    the cycles whose policy has it."""
    from dataclasses import replace

    from tests import factories
    from workflow.cycles.service import open_cycle

    world = build_world(rt, measures=2)
    with unit_of_work(rt.sessions) as s:
        other = factories.organisation(s, "zweitstadt")
        for m in factories.measures(s, other, 2, prefix="Z"):
            m.interviewed_at = clock.now()
        other_cycle = open_cycle(
            session=s, clock=clock, organisation_id=other.id, year=2026
        ).cycle_id
        theirs = list(
            s.scalars(select(MeasureCycle.id).where(MeasureCycle.cycle_id == other_cycle))
        )
        cycle = s.get(Cycle, world.cycle_id)
        assert cycle is not None
        cycle.policy = {**cycle.policy, "status_check_months": [3]}
    # Both organisations' stays enter Umsetzung on Monday 2 March 2026.
    _implement(rt, replace(world, theirs=world.theirs + theirs))
    sweep_twice(rt, clock, at(date(2026, 6, 2)))
    assert [(c.cycle_id, c.selection) for c in scheduled(rt)] == [
        (world.cycle_id, {"scheduled_month": 3})
    ]
    sweep_twice(rt, clock, at(date(2026, 9, 2)))
    assert sorted((c.cycle_id, c.selection["scheduled_month"]) for c in scheduled(rt)) == sorted(
        [(world.cycle_id, 3), (other_cycle, 6)]
    )


def test_an_archived_organisation_gets_no_scheduled_check(rt: Runtime, clock: FrozenClock) -> None:

    world = build_world(rt, measures=2)
    _implement(rt, world)
    set_archived(rt, world.org_id, clock.now())
    sweep_twice(rt, clock, at(date(2026, 9, 2)))
    assert scheduled(rt) == []


def test_an_archived_organisations_check_is_not_reminded_until_it_returns(
    rt: Runtime, clock: FrozenClock
) -> None:
    world = build_world(rt, measures=2)
    open_check(rt, world)

    set_archived(rt, world.org_id, clock.now())
    sweep_twice(rt, clock, at(date(2026, 4, 1)))
    assert kinds(rt) == {"status_check_request": 2}
    set_archived(rt, world.org_id, None)
    sweep_twice(rt, clock, at(date(2026, 4, 2)))
    assert kinds(rt) == {"status_check_request": 2, "status_check_reminder": 2}
