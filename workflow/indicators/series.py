"""Reading an indicator's series: trend, whether it goes the desired way, and outliers. Pure.

Takes dates and numbers, returns words and flags; never touches the database or the clock.

- Trend: least-squares slope of value over survey date (in years). The change the fitted
  line predicts over the whole series is compared with the series' mean level: within
  ``TREND_TOLERANCE`` (5 %) of it the series is "gleichbleibend"; fewer than two values,
  or all on one date, is "unklar".
- Direction: "up" is on track when rising, "down" when falling; a level series or an
  unclear trend is neither (None). "target" is on track when the last value is within the
  tolerance of the target or the trend moves towards it, off track when it moves away.
- Outlier: with at least ``MIN_FOR_MAD`` (5) earlier values, a value is flagged when it lies
  more than 3 scaled MADs (MAD × 1.4826, the normal-consistent estimate of one standard
  deviation) from the median of the last 8 earlier values; if those values barely vary
  (MAD 0), or with 1–4 earlier values, when it differs from the reference (median, or the
  previous value) by more than 50 % of the reference. A reference of 0 flags nothing,
  a first value is never flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from statistics import median

TREND_TOLERANCE = 0.05
OUTLIER_WINDOW = 8
MIN_FOR_MAD = 5
MAD_LIMIT = 3.0
MAD_SCALE = 1.4826
JUMP_LIMIT = 0.5

RISING = "steigend"
FALLING = "fallend"
LEVEL = "gleichbleibend"
UNCLEAR = "unklar"

Point = tuple[date, float]


def slope_per_year(points: Sequence[Point]) -> float | None:
    """Least-squares slope in value units per year; None below two distinct dates."""
    if len(points) < 2:
        return None
    origin = min(d for d, _ in points)
    xs = [(d - origin).days / 365.25 for d, _ in points]
    ys = [v for _, v in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx


def trend(points: Sequence[Point], tolerance: float = TREND_TOLERANCE) -> str:
    slope = slope_per_year(points)
    if slope is None:
        return UNCLEAR
    span_years = (max(d for d, _ in points) - min(d for d, _ in points)).days / 365.25
    change = slope * span_years
    level = abs(sum(v for _, v in points) / len(points))
    # A series around zero has no level to compare with; any change then counts.
    if abs(change) <= tolerance * level or change == 0:
        return LEVEL
    return RISING if change > 0 else FALLING


def on_track(
    direction: str,
    series_trend: str,
    *,
    last: float | None = None,
    target: float | None = None,
    tolerance: float = TREND_TOLERANCE,
) -> bool | None:
    """True on track, False off track, None when it cannot be said."""
    if direction == "target":
        if last is None or target is None:
            return None
        if abs(last - target) <= tolerance * max(abs(target), 1e-9):
            return True
        if series_trend not in (RISING, FALLING):
            return None
        towards = RISING if target > last else FALLING
        return series_trend == towards
    if series_trend not in (RISING, FALLING):
        return None
    wanted = RISING if direction == "up" else FALLING if direction == "down" else None
    return None if wanted is None else series_trend == wanted


def outlier(history: Sequence[float], value: float) -> bool:
    """Whether ``value`` is far from ``history`` (earlier values, oldest first)."""
    if not history:
        return False
    recent = list(history[-OUTLIER_WINDOW:])
    if len(recent) >= MIN_FOR_MAD:
        centre = median(recent)
        mad = median(abs(v - centre) for v in recent) * MAD_SCALE
        if mad > 0:
            return abs(value - centre) > MAD_LIMIT * mad
        return _jump(centre, value)
    return _jump(recent[-1], value)


def _jump(reference: float, value: float) -> bool:
    if reference == 0:
        return False
    return abs(value - reference) > JUMP_LIMIT * abs(reference)


def survey_mean(counts: Sequence[int]) -> float | None:
    """Mean scale point (1..5) of a 5-point survey's answer counts; None without answers."""
    total = sum(counts)
    if total == 0:
        return None
    return sum((i + 1) * c for i, c in enumerate(counts)) / total
