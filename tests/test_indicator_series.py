"""Indicator series: trend, direction and outliers (pure), and the summaries read from a database."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests import factories
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.indicators import series
from workflow.indicators.models import Indicator, IndicatorValue
from workflow.indicators.summary import indicator_summaries
from workflow.runtime import Runtime


def _yearly(*values: float, start: int = 2022) -> list[tuple[date, float]]:
    return [(date(start + i, 2, 15), v) for i, v in enumerate(values)]


def test_slope_is_least_squares_per_year() -> None:
    slope = series.slope_per_year(_yearly(10, 12, 14, 16))
    assert slope == pytest.approx(2.0, rel=1e-3)
    assert series.slope_per_year(_yearly(5)) is None
    assert series.slope_per_year([(date(2024, 1, 1), 1.0), (date(2024, 1, 1), 3.0)]) is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((10, 12, 14, 16), series.RISING),
        ((16, 14, 12, 10), series.FALLING),
        ((50, 50.5, 49.8, 50.2), series.LEVEL),  # well within 5 % of the level
        ((20, 21, 20.5, 21.5), series.RISING),  # +1.5 over the span is 7 % of ~20.8
        ((7,), series.UNCLEAR),
        ((), series.UNCLEAR),
    ],
)
def test_trend_classification(values: tuple[float, ...], expected: str) -> None:
    assert series.trend(_yearly(*values)) == expected


def test_trend_ignores_order_of_points() -> None:
    points = _yearly(10, 12, 14, 16)
    assert series.trend(list(reversed(points))) == series.RISING


@pytest.mark.parametrize(
    ("direction", "trend", "last", "target", "expected"),
    [
        ("up", series.RISING, None, None, True),
        ("up", series.FALLING, None, None, False),
        ("down", series.FALLING, None, None, True),
        ("down", series.RISING, None, None, False),
        ("up", series.LEVEL, None, None, None),
        ("down", series.UNCLEAR, None, None, None),
        ("target", series.FALLING, 12.0, 8.0, True),  # falling towards 8
        ("target", series.RISING, 12.0, 8.0, False),  # moving away
        ("target", series.LEVEL, 8.2, 8.0, True),  # already there (within 5 %)
        ("target", series.LEVEL, 12.0, 8.0, None),
        ("target", series.RISING, 12.0, None, None),  # no target: cannot say
    ],
)
def test_direction_judged_against_desired(
    direction: str, trend: str, last: float | None, target: float | None, expected: bool | None
) -> None:
    assert series.on_track(direction, trend, last=last, target=target) is expected


def test_outlier_by_mad_with_enough_history() -> None:
    history = [10.0, 10.4, 9.8, 10.1, 10.3, 9.9, 10.2, 10.0]
    # median 10.05, MAD 0.15 -> scaled ~0.22; 3 MAD ~0.67
    assert not series.outlier(history, 10.6)
    assert series.outlier(history, 10.9)
    assert series.outlier(history, 9.2)


def test_outlier_uses_only_the_last_eight_values() -> None:
    old = [100.0] * 10
    recent = [10.0, 10.4, 9.8, 10.1, 10.3, 9.9, 10.2, 10.0]
    assert not series.outlier(old + recent, 10.2)
    assert series.outlier(old + recent, 100.0)


def test_outlier_by_jump_with_short_history() -> None:
    assert not series.outlier([], 1000.0)  # a first value is never flagged
    assert not series.outlier([20.0, 22.0], 32.0)  # +45 % of 22
    assert series.outlier([20.0, 22.0], 34.0)  # +55 %
    assert series.outlier([20.0, 22.0], 10.0)  # -55 %
    assert not series.outlier([0.0], 5.0)  # no relative jump from zero


def test_outlier_of_a_flat_history_falls_back_to_the_jump_rule() -> None:
    flat = [40.0] * 6
    assert not series.outlier(flat, 45.0)
    assert series.outlier(flat, 70.0)


def test_survey_mean() -> None:
    assert series.survey_mean([2, 3, 5, 0, 0]) == pytest.approx((2 + 6 + 15) / 10)
    assert series.survey_mean([0, 0, 0, 0, 0]) is None


def _indicator(
    org_id: int, code: str, direction: str, now: datetime, unit: str = "percent"
) -> Indicator:
    return Indicator(
        organisation_id=org_id,
        code=code,
        statement=f"Aussage {code}",
        unit=unit,
        direction=direction,
        due_months=[2],
        created_at=now,
    )


def test_summaries_from_the_database(rt: Runtime, clock: FrozenClock) -> None:
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        measure = factories.measures(s, org, 1)[0]
        up = _indicator(org.id, "K2", "up", clock.now())
        down = _indicator(org.id, "K1", "down", clock.now())
        report = _indicator(org.id, "W1", "up", clock.now(), unit="text")
        up.goals.append(measure.goal)
        up.measures.append(measure)
        s.add_all([up, down, report])
        s.flush()
        rows = [
            (up, "", date(2023, 2, 15), 30.0, False),
            (up, "", date(2024, 2, 15), 33.0, False),
            (up, "", date(2025, 2, 15), 36.0, False),
            (up, "", date(2026, 2, 15), 80.0, True),  # after `until`: left out
            (up, "Bensberg", date(2025, 2, 15), 99.0, False),  # a district: not city-wide
            (down, "", date(2024, 2, 15), 12.0, False),
            (down, "", date(2025, 2, 15), 11.0, False),
            (report, "", date(2025, 2, 15), None, False),
        ]
        for ind, district, day, value, flagged in rows:
            s.add(
                IndicatorValue(
                    organisation_id=org.id,
                    indicator_id=ind.id,
                    survey_date=day,
                    district=district,
                    value=value,
                    report="Bericht" if value is None else "",
                    delivered_by="test",
                    delivered_at=clock.now(),
                    flagged=flagged,
                )
            )
        org_id, goal_code, measure_code = org.id, measure.goal.code, measure.code
    with rt.sessions() as s:
        summaries = indicator_summaries(s, organisation_id=org_id, until=date(2025, 12, 31))
    assert [x.code for x in summaries] == ["K1", "K2", "W1"]
    k1, k2, w1 = summaries
    assert [p.value for p in k2.points] == [30.0, 33.0, 36.0]
    assert all(p.district == "" for p in k2.points)
    assert (k2.trend, k2.on_track, k2.last_value, k2.previous_value) == (
        series.RISING,
        True,
        36.0,
        33.0,
    )
    assert (k2.goal_codes, k2.measure_codes, k2.kind) == (
        (goal_code,),
        (measure_code,),
        "quantitative",
    )
    assert (k1.trend, k1.on_track) == (series.FALLING, True)
    assert (w1.kind, w1.trend, w1.on_track, w1.last_value) == (
        "qualitative",
        series.UNCLEAR,
        None,
        None,
    )
    assert len(w1.points) == 1
