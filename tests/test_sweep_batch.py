"""The set-based sweep batch (workflow/sweep_measures.py): the outbox rows it builds in SQL
are the ones the row-by-row sweep built in Python, and its statements do not grow with the
number of due rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update

from notifications.effects import item_context
from notifications.models import OutboxMessage
from tests.test_sweep import _at, seed, sweep
from workflow import sweep_sql
from workflow.catalogue.models import Contact
from workflow.clock import FrozenClock
from workflow.cycles.calendar import calendar_and_policy
from workflow.cycles.models import MeasureCycle
from workflow.cycles.stay import plan_of
from workflow.deadlines import StepKind
from workflow.runtime import Runtime
from workflow.sweep import run_sweep


def _row(m: OutboxMessage) -> tuple[Any, ...]:
    return (
        m.organisation_id,
        m.channel,
        m.recipient_email,
        m.recipient_name,
        m.language,
        m.measure_cycle_id,
        m.context,
        m.status,
        m.created_at,
        m.not_before,
    )


def test_the_rows_built_in_sql_are_the_ones_python_built(rt: Runtime, clock: FrozenClock) -> None:
    ids = seed(rt, clock, measures=2)
    moment = _at(2026, 5, 4, 9)  # late: the final reminder and both escalations are owed
    sweep(rt, clock, moment)
    with rt.sessions() as s:
        expected: dict[str, tuple[Any, ...]] = {}
        for mc_id in ids:
            mc = s.get(MeasureCycle, mc_id)
            assert mc is not None
            contact = mc.measure.contact
            assert contact is not None
            head = s.scalars(
                select(Contact).where(
                    Contact.department_id == mc.measure.department_id, Contact.is_head.is_(True)
                )
            ).one()
            plan = plan_of(mc, calendar_and_policy(s, mc)[1], calendar_and_policy(s, mc)[0])
            steps = [p for p in plan if p.kind is not StepKind.REMINDER]
            final = max(p.index for p in plan if p.kind is StepKind.REMINDER)
            item = item_context(mc)
            at = clock.now()
            prefix = f"mc:{mc.id}:{mc.stay}"
            expected[f"{prefix}:reminder:{final}"] = (
                mc.organisation_id, "email", contact.email, contact.name, contact.language,
                mc.id, {**item, "contact_id": contact.id, "step": final}, "pending", at, at,
            )  # fmt: skip
            for step, key, to in (
                (steps[0], f"{prefix}:escalation:{steps[0].index}:{head.id}", head),
                (steps[1], f"{prefix}:escalation:{steps[1].index}", None),
            ):
                context = {
                    **item,
                    "level": step.index,
                    "stay": mc.stay,
                    "contact_id": mc.measure.contact_id,
                    "escalated_at": step.at.isoformat(),
                }
                expected[key] = (
                    mc.organisation_id, "email" if to else "digest", to.email if to else "",
                    to.name if to else "", to.language if to else "de", mc.id, context,
                    "pending", at, at,
                )  # fmt: skip
        written = {
            m.dedupe_key: _row(m)
            for m in s.scalars(
                select(OutboxMessage).where(OutboxMessage.kind != "invitation_agreement")
            )
        }
    assert written == expected


def test_the_statements_of_a_batch_do_not_grow_with_its_rows(
    rt: Runtime, clock: FrozenClock
) -> None:
    ids = seed(rt, clock, measures=24)
    counted: list[str] = []
    event.listen(rt.engine, "before_cursor_execute", lambda *a: counted.append(a[2]))
    moment = _at(2026, 3, 30)  # the first reminder of all 24
    later = moment + timedelta(days=5)
    with rt.sessions.begin() as s:  # only 4 due now, the other 20 after them
        s.execute(
            update(MeasureCycle).where(MeasureCycle.id.in_(ids[4:])).values(next_action_at=later)
        )
    counted.clear()
    _one_batch(rt, clock, moment)
    few = len(counted)
    with rt.sessions.begin() as s:
        s.execute(
            update(MeasureCycle).where(MeasureCycle.id.in_(ids[4:])).values(next_action_at=moment)
        )
    counted.clear()
    _one_batch(rt, clock, moment)
    many = len(counted)
    with rt.sessions() as s:
        reminders = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder")).all()
    assert len(reminders) == 24
    assert many == few


def test_a_batch_on_postgresql_sends_the_same_statements_whatever_its_rows(
    rt: Runtime, clock: FrozenClock
) -> None:
    """The decisions travel as arrays: the same text for 4 rows as for 24, so the server
    parses and plans it once per connection. SQLite gets a VALUES list of the batch's size."""
    ids = seed(rt, clock, measures=24)
    texts: list[str] = []
    event.listen(rt.engine, "before_cursor_execute", lambda *a: texts.append(a[2]))
    moment = _at(2026, 3, 30)
    with rt.sessions.begin() as s:
        s.execute(
            update(MeasureCycle)
            .where(MeasureCycle.id.in_(ids[4:]))
            .values(next_action_at=moment + timedelta(days=5))
        )
    texts.clear()
    _one_batch(rt, clock, moment)
    few = [t for t in texts if t.startswith(("WITH d(", "WITH s("))]
    with rt.sessions.begin() as s:
        s.execute(
            update(MeasureCycle).where(MeasureCycle.id.in_(ids[4:])).values(next_action_at=moment)
        )
    texts.clear()
    _one_batch(rt, clock, moment)
    many = [t for t in texts if t.startswith(("WITH d(", "WITH s("))]
    with rt.sessions() as s:
        reminders = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder")).all()
        left = s.scalars(select(MeasureCycle.id).where(MeasureCycle.next_action_at <= moment))
        assert list(left) == []
    assert len(reminders) == 24
    assert len(few) == len(many) == 2  # the reminders' INSERT and the schedule's UPDATE
    if rt.engine.dialect.name == "postgresql":
        assert few == many
    else:
        assert all(len(b) > len(a) for a, b in zip(few, many, strict=True))


def _one_batch(rt: Runtime, clock: FrozenClock, moment: datetime) -> None:
    clock.set(moment)
    run_sweep(sessions=rt.sessions, clock=clock, batch_size=500)


def test_a_batch_larger_than_one_statement_is_written_in_chunks(
    rt: Runtime, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweep_sql, "CHUNK", 2)
    ids = seed(rt, clock, measures=5)
    moment = _at(2026, 4, 21, 12)
    sweep(rt, clock, moment)
    sweep(rt, clock, moment)  # the same instant again: nothing twice
    with rt.sessions() as s:
        kinds = sorted(
            s.scalars(
                select(OutboxMessage.kind).where(OutboxMessage.kind != "invitation_agreement")
            )
        )
        schedule = set(
            s.execute(
                select(MeasureCycle.action_step, MeasureCycle.escalation_level).where(
                    MeasureCycle.id.in_(ids)
                )
            ).all()
        )
    assert kinds == ["escalation_head"] * 5 + ["final_reminder"] * 5
    assert schedule == {(4, 1)}
