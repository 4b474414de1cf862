"""The timing of one stay in a state: due date, action plan, next action time. Pure."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from workflow.cycles.locked_stay import LockedStay
from workflow.cycles.models import MeasureCycle
from workflow.deadlines import (
    BusinessCalendar,
    DeadlinePolicy,
    Step,
    StepKind,
    action_plan,
    due_on,
)
from workflow.machine import State

# A reminder never follows the request (or the new deadline) it chases within less than
# this many working days: a late start skips the reminders dated before that.
MIN_WORKING_DAYS_BEFORE_REMINDER = 2


def enter(
    mc: MeasureCycle | LockedStay,
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


def plan_of(
    mc: MeasureCycle | LockedStay, policy: DeadlinePolicy, cal: BusinessCalendar
) -> list[Step]:
    return action_plan(State(mc.state), mc.due_on, policy, cal)


def first_follow_up(now: datetime, policy: DeadlinePolicy, cal: BusinessCalendar) -> datetime:
    """The earliest moment a reminder may follow a request sent at ``now``: the send hour of
    the ``MIN_WORKING_DAYS_BEFORE_REMINDER``-th working day after it, so that the person has
    had the request for a while before anything chases it."""
    day = cal.local_date(now)
    for _ in range(MIN_WORKING_DAYS_BEFORE_REMINDER):
        day = cal.roll_forward(day + timedelta(days=1))
    return cal.at_local(day, policy.send_hour)


def first_step(plan: list[Step], earliest: datetime) -> tuple[int, datetime | None]:
    """Where a late start picks up its plan: reminders dated before ``earliest`` are skipped
    (the request itself names the due date), and an escalation already owed waits until
    ``earliest`` too. An automatic move keeps its own time."""
    index = next(
        (i for i, s in enumerate(plan) if not (s.kind is StepKind.REMINDER and s.at < earliest)),
        len(plan),
    )
    if index == len(plan):
        return index, None
    step = plan[index]
    return index, step.at if step.kind is StepKind.AUTO else max(step.at, earliest)


def skip_past_steps(
    mc: MeasureCycle | LockedStay,
    *,
    now: datetime,
    policy: DeadlinePolicy,
    cal: BusinessCalendar,
) -> None:
    """A stay that starts late (a deadline set close, or extended) does not owe old reminders,
    and no reminder arrives right behind the email that opened the stay (issue 13)."""
    plan = plan_of(mc, policy, cal)
    mc.action_step, mc.next_action_at = first_step(plan, first_follow_up(now, policy, cal))
