"""Deadline policy and business calendar: weekends, holidays per Bundesland, daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from tests.conftest import BERLIN
from workflow.deadlines import (
    BusinessCalendar,
    DeadlinePolicy,
    StepKind,
    action_plan,
    add_months,
    days_overdue,
    due_on,
)
from workflow.machine import State

NW = BusinessCalendar(state="NW")
BE = BusinessCalendar(state="BE")


def _entered(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN).astimezone(UTC)


def _agreement_due(entered: date, days: int, cal: BusinessCalendar = NW) -> date | None:
    return due_on(
        State.TARGET_AGREEMENT, _entered(entered), DeadlinePolicy(agreement_days=days), cal
    )


def test_due_date_on_a_weekend_moves_to_monday() -> None:
    assert _agreement_due(date(2026, 3, 2), 5) == date(2026, 3, 9)  # Sat 7 → Mon 9
    assert _agreement_due(date(2026, 3, 2), 6) == date(2026, 3, 9)  # Sun 8 → Mon 9
    assert _agreement_due(date(2026, 3, 2), 4) == date(2026, 3, 6)  # a Friday stays


def test_german_unity_day_moves_the_deadline() -> None:
    # 3 October 2029 is a Wednesday and a holiday everywhere.
    assert _agreement_due(date(2029, 9, 26), 7) == date(2029, 10, 4)
    assert _agreement_due(date(2029, 9, 26), 7, BE) == date(2029, 10, 4)


def test_christmas_and_the_weekend_after_it() -> None:
    # Fri 25 and Sat 26 December 2026 are holidays, then Sunday: Monday 28 is next.
    assert _agreement_due(date(2026, 12, 18), 7) == date(2026, 12, 28)
    # Christmas Eve is no public holiday: a deadline on it stays.
    assert _agreement_due(date(2026, 12, 17), 7) == date(2026, 12, 24)
    assert NW.is_working_day(date(2026, 12, 24))


def test_state_only_holiday_counts_only_in_its_state() -> None:
    # Fronleichnam, Thu 4 June 2026: a holiday in NW, a working day in Berlin.
    assert _agreement_due(date(2026, 5, 28), 7, NW) == date(2026, 6, 5)
    assert _agreement_due(date(2026, 5, 28), 7, BE) == date(2026, 6, 4)
    # Buß- und Bettag, Wed 18 November 2026, only in Saxony.
    sn = BusinessCalendar(state="SN")
    assert not sn.is_working_day(date(2026, 11, 18))
    assert NW.is_working_day(date(2026, 11, 18))


def test_reminders_stay_at_eight_local_across_the_spring_and_autumn_change() -> None:
    # Summer time starts Sun 29 March 2026 and ends Sun 25 October 2026.
    before, after = NW.at_local(date(2026, 3, 27), 8), NW.at_local(date(2026, 3, 30), 8)
    assert (before.hour, after.hour) == (7, 6)  # UTC: 08:00 CET, then 08:00 CEST
    assert after.tzinfo == UTC
    autumn = NW.at_local(date(2026, 10, 26), 8)
    assert autumn.hour == 7
    plan = action_plan(State.TARGET_AGREEMENT, date(2026, 4, 8), DeadlinePolicy(), NW)
    assert all(s.at.astimezone(BERLIN).hour == 8 for s in plan)
    assert [s.at.astimezone(BERLIN).date() for s in plan] == [
        date(2026, 3, 25),
        date(2026, 4, 5),
        date(2026, 4, 8),
        date(2026, 4, 15),
        date(2026, 4, 29),
    ]


def test_local_date_decides_the_day_not_utc() -> None:
    # 23:30 UTC on 31 March is already 1 April in Berlin (summer time).
    late = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    assert NW.local_date(late) == date(2026, 4, 1)
    assert due_on(State.ASSESSMENT, late, DeadlinePolicy(assessment_days=1), NW) == date(2026, 4, 2)


def test_action_plan_has_reminders_then_escalations() -> None:
    plan = action_plan(State.REVIEW, date(2026, 6, 15), DeadlinePolicy(), NW)
    assert [(s.kind, s.index) for s in plan] == [
        (StepKind.REMINDER, 0),
        (StepKind.REMINDER, 1),
        (StepKind.REMINDER, 2),
        (StepKind.ESCALATION, 1),
        (StepKind.ESCALATION, 2),
    ]
    implementation = action_plan(State.IMPLEMENTATION, date(2027, 3, 2), DeadlinePolicy(), NW)
    assert [s.kind for s in implementation] == [StepKind.AUTO]
    assert action_plan(State.INITIAL_INTERVIEW, date(2026, 6, 15), DeadlinePolicy(), NW) == []


def test_months_clamp_to_the_end_of_the_month() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    assert add_months(date(2026, 3, 2), 12) == date(2027, 3, 2)


def test_overdue_days_count_local_days() -> None:
    assert days_overdue(date(2026, 3, 2), NW.at_local(date(2026, 3, 2), 23), NW) == 0
    assert days_overdue(date(2026, 3, 2), NW.at_local(date(2026, 3, 9), 1), NW) == 7
    assert days_overdue(None, datetime.now(UTC), NW) == 0


def test_policy_validation_in_german_and_normalised() -> None:
    policy = DeadlinePolicy(reminder_offsets_days=[0, 14, 3, 3])
    assert policy.reminder_offsets_days == [14, 3, 0]
    with pytest.raises(ValidationError, match="Erinnerungen liegen vor oder am Fälligkeitstag"):
        DeadlinePolicy(reminder_offsets_days=[-1])
    assert DeadlinePolicy.model_validate(policy.model_dump(mode="json")) == policy
    assert timedelta(days=policy.agreement_days) == timedelta(days=42)
