"""Deadline policy and business calendar: when a phase is due and when to remind or escalate.

Pure: takes dates, a policy and a calendar, returns dates. All "local" dates are in the
organisation's time zone; every datetime that leaves this module is UTC.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from workflow import messages
from workflow.machine import STATES, Actor, DueRule, State


class EscalationTarget(StrEnum):
    DEPARTMENT_HEAD = "department_head"
    STEERING_GROUP = "steering_group"


class EscalationStep(BaseModel):
    days_overdue: int = Field(ge=1)
    target: EscalationTarget


def policy_error(code: str, **params: Any) -> PydanticCustomError:
    """A broken rule of the policy as pydantic's error: its ``type`` is a code of
    workflow/locales/errors.*.json and ``ctx`` its parameters, so an edge can word it in its
    reader's language; ``msg`` stays the German sentence for readers without one."""
    return PydanticCustomError(code, messages.message(code, messages.DEFAULT, **params), params)


class DeadlinePolicy(BaseModel):
    """Stored with each cycle as JSON and editable there; defaults follow the seeds' practice."""

    interview_days: int = Field(default=56, ge=1)
    agreement_days: int = Field(default=42, ge=1)
    implementation_months: int = Field(default=12, ge=1, le=24)
    review_days: int = Field(default=42, ge=1)
    assessment_days: int = Field(default=21, ge=1)
    reminder_offsets_days: list[int] = Field(default_factory=lambda: [14, 3, 0])
    escalation_steps: list[EscalationStep] = Field(
        default_factory=lambda: [
            EscalationStep(days_overdue=7, target=EscalationTarget.DEPARTMENT_HEAD),
            EscalationStep(days_overdue=21, target=EscalationTarget.STEERING_GROUP),
        ]
    )
    send_hour: int = Field(default=8, ge=0, le=23)
    digest_weekday: int = Field(default=0, ge=0, le=6, description="0 = Monday")
    link_valid_days_after_due: int = Field(default=30, ge=1)
    # Days before a body's meeting that its members and guests are invited.
    meeting_invitation_days: int = Field(default=14, ge=1, le=90)
    # Months of Umsetzung at which the sweep opens a status check (Sachstandsabfrage).
    status_check_months: list[int] = Field(default_factory=lambda: [6])
    # A milestone this many days past its date, not reached, makes the measure "verzögert".
    milestone_grace_days: int = Field(default=14, ge=0, le=365)
    # Days a measure may wait in Neuplanung for the next cycle before the coordinator is
    # reminded to open it.
    replanning_days: int = Field(default=30, ge=1, le=365)

    @field_validator("reminder_offsets_days")
    @classmethod
    def _offsets_descending(cls, v: list[int]) -> list[int]:
        if any(o < 0 for o in v):
            raise policy_error("policy.reminder_offset_negative")
        return sorted(set(v), reverse=True)

    @field_validator("status_check_months")
    @classmethod
    def _months_of_implementation(cls, v: list[int]) -> list[int]:
        if any(not 1 <= m <= 24 for m in v):
            raise policy_error("policy.status_check_month_range")
        return sorted(set(v))

    @field_validator("escalation_steps")
    @classmethod
    def _steps_ascending(cls, v: list[EscalationStep]) -> list[EscalationStep]:
        return sorted(v, key=lambda s: s.days_overdue)

    def amount(self, rule: DueRule) -> int:
        value = getattr(self, rule.policy_key)
        assert isinstance(value, int)
        return value


@lru_cache(maxsize=64)
def _holidays_for(state: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("DE", subdiv=state, years=year)


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days of one Bundesland in one time zone."""

    state: str = "NW"
    timezone: str = "Europe/Berlin"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in _holidays_for(self.state, day.year)

    def roll_forward(self, day: date) -> date:
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def at_local(self, day: date, hour: int) -> datetime:
        """``hour`` o'clock local time on ``day``, as UTC; zoneinfo resolves DST gaps."""
        return datetime.combine(day, time(hour), tzinfo=self.tz).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def due_on(
    state: State, entered_at: datetime, policy: DeadlinePolicy, cal: BusinessCalendar
) -> date | None:
    """The working day by which ``state`` must be left, or None if it has no deadline."""
    rule = STATES[state].due
    if rule is None:
        return None
    start = cal.local_date(entered_at)
    amount = policy.amount(rule)
    raw = add_months(start, amount) if rule.unit == "months" else start + timedelta(days=amount)
    return cal.roll_forward(raw)


class StepKind(StrEnum):
    REMINDER = "reminder"
    ESCALATION = "escalation"
    AUTO = "auto"


@dataclass(frozen=True)
class Step:
    kind: StepKind
    index: int
    at: datetime
    target: EscalationTarget | None = None


def action_plan(
    state: State, due: date | None, policy: DeadlinePolicy, cal: BusinessCalendar
) -> list[Step]:
    """Every timed step of one stay in ``state``, in order; the sweep works through them."""
    rule = STATES[state].due
    if rule is None or due is None:
        return []
    if rule.auto_event is not None:
        return [Step(StepKind.AUTO, 0, cal.at_local(due, 0))]
    if rule.waiting_on is not Actor.DEPARTMENT:
        return []
    return contact_plan(due, policy, cal)


def contact_plan(due: date, policy: DeadlinePolicy, cal: BusinessCalendar) -> list[Step]:
    """Reminders before ``due`` and escalations after it, for anyone the engine waits on.

    The same steps serve a department's answer in a cycle and a data source's delivery.
    """
    steps = [
        Step(StepKind.REMINDER, i, cal.at_local(due - timedelta(days=offset), policy.send_hour))
        for i, offset in enumerate(policy.reminder_offsets_days)
    ]
    steps += [
        Step(
            StepKind.ESCALATION,
            i + 1,
            cal.at_local(due + timedelta(days=s.days_overdue), policy.send_hour),
            s.target,
        )
        for i, s in enumerate(policy.escalation_steps)
    ]
    return sorted(steps, key=lambda s: s.at)


def days_overdue(due: date | None, now: datetime, cal: BusinessCalendar) -> int:
    if due is None:
        return 0
    return max(0, (cal.local_date(now) - due).days)
