"""The timing of one stay in a state: due date, action plan, next action time. Pure."""

from __future__ import annotations

from datetime import date, datetime

from workflow.cycles.models import MeasureCycle
from workflow.deadlines import BusinessCalendar, DeadlinePolicy, Step, action_plan, due_on
from workflow.machine import State


def enter(
    mc: MeasureCycle,
    state: State,
    *,
    now: datetime,
    policy: DeadlinePolicy,
    cal: BusinessCalendar,
    due_override: date | None = None,
) -> None:
    """Start a new stay in ``state``: fresh deadline, fresh reminders, no escalation."""
    mc.state = state.value
    mc.entered_state_at = now
    mc.due_on = due_override or due_on(state, now, policy, cal)
    mc.action_step = 0
    mc.escalation_level = 0
    mc.stay = (mc.stay or 0) + 1
    skip_past_steps(mc, now=now, policy=policy, cal=cal)


def plan_of(mc: MeasureCycle, policy: DeadlinePolicy, cal: BusinessCalendar) -> list[Step]:
    return action_plan(State(mc.state), mc.due_on, policy, cal)


def skip_past_steps(
    mc: MeasureCycle, *, now: datetime, policy: DeadlinePolicy, cal: BusinessCalendar
) -> None:
    """A stay that starts late (a deadline set close, or extended) does not owe old reminders.

    The last step already in the past is kept, so an item entered after its first reminder
    date still gets exactly one reminder, not none and not all of them at once.
    """
    plan = plan_of(mc, policy, cal)
    past = [i for i, step in enumerate(plan) if step.at <= now and step.kind.value == "reminder"]
    if len(past) > 1:
        mc.action_step = past[-1]
    schedule_next(mc, plan)


def schedule_next(mc: MeasureCycle, plan: list[Step]) -> None:
    mc.next_action_at = plan[mc.action_step].at if mc.action_step < len(plan) else None
