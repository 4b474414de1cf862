"""Charts of the reports as plain SVG text: bar charts of rates and counts, line charts of series.

Pure: data in, an SVG string out, the same bytes for the same data; no I/O, no clock, no
JavaScript and no chart library, so that the HTML page and the PDF show the very same picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from workflow.reports import german

PALETTE = ("#1d3a5f", "#5b9bd5", "#d1570e", "#6b8e23", "#8c959f", "#b3261e", "#7b4f9d")
FONT = "Liberation Sans, DejaVu Sans, Arial, sans-serif"
INK = "#1f2328"
MUTED = "#57606a"
GRID = "#d0d7de"


@dataclass(frozen=True)
class Series:
    """One named row of values, one value per category; None where there is nothing to show."""

    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Point:
    when: date
    value: float
    flagged: bool = False


@dataclass(frozen=True)
class Line:
    name: str
    points: tuple[Point, ...]


def _n(x: float) -> str:
    """Coordinates with one decimal: stable text, and fine enough for print."""
    return f"{x:.1f}".replace("-0.0", "0.0")


def _text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    size: int = 11,
    fill: str = INK,
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{fill}" font-weight="{weight}">{escape(content)}</text>'
    )


def _clip(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{_n(width)}" height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'font-family="{FONT}"><title>{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def _legend(names: Sequence[str], x: float, y: float) -> tuple[list[str], float]:
    parts: list[str] = []
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{_n(x)}" y="{_n(y - 9)}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(x + 14, y, name, size=10))
        x += 24 + 6.2 * len(name)
    return parts, x


def rate_bars(
    title: str, categories: Sequence[str], series: Sequence[Series], *, width: float = 640
) -> str:
    """Horizontal grouped bars of rates between 0 and 1, each labelled with its percentage."""
    label_width, value_width, bar_height, gap, top = 200.0, 56.0, 11.0, 9.0, 30.0
    plot_left, plot_right = label_width, width - value_width
    plot_width = plot_right - plot_left
    band = bar_height * len(series) + gap
    height = top + band * len(categories) + 20
    body, _ = _legend([s.name for s in series], plot_left, 14)
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = plot_left + tick * plot_width
        body.append(
            f'<line x1="{_n(x)}" y1="{_n(top - 4)}" x2="{_n(x)}" y2="{_n(height - 16)}" '
            f'stroke="{GRID}" stroke-width="0.8"/>'
        )
        body.append(
            _text(x, height - 4, german.percent(tick, 0), anchor="middle", size=9, fill=MUTED)
        )
    for row, category in enumerate(categories):
        y0 = top + row * band
        body.append(_text(plot_left - 8, y0 + band / 2, _clip(category, 34), anchor="end", size=10))
        for i, s in enumerate(series):
            value = s.values[row]
            y = y0 + i * bar_height
            if value is None:
                body.append(_text(plot_left + 3, y + bar_height - 2, "–", size=9, fill=MUTED))
                continue
            w = max(0.0, min(1.0, value)) * plot_width
            colour = PALETTE[i % len(PALETTE)]
            body.append(
                f'<rect x="{_n(plot_left)}" y="{_n(y + 1)}" width="{_n(w)}" '
                f'height="{_n(bar_height - 2)}" fill="{colour}"/>'
            )
            body.append(_text(plot_left + w + 4, y + bar_height - 2, german.percent(value), size=9))
    return _svg(width, height, title, body)


def count_bars(
    title: str, categories: Sequence[str], series: Sequence[Series], *, width: float = 640
) -> str:
    """Horizontal stacked bars of counts: one bar per category, one segment per series."""
    label_width, bar_height, gap, top = 200.0, 16.0, 8.0, 30.0
    plot_left, plot_right = label_width, width - 40
    totals = [sum(int(s.values[r] or 0) for s in series) for r in range(len(categories))]
    scale = (plot_right - plot_left) / max(1, max(totals, default=1))
    height = top + (bar_height + gap) * len(categories) + 4
    body, _ = _legend([s.name for s in series], plot_left, 14)
    for row, category in enumerate(categories):
        y = top + row * (bar_height + gap)
        body.append(
            _text(plot_left - 8, y + bar_height - 4, _clip(category, 34), anchor="end", size=10)
        )
        x = plot_left
        for i, s in enumerate(series):
            count = int(s.values[row] or 0)
            if not count:
                continue
            w = count * scale
            body.append(
                f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(bar_height)}" '
                f'fill="{PALETTE[i % len(PALETTE)]}"/>'
            )
            if w >= 14:
                body.append(
                    _text(
                        x + w / 2,
                        y + bar_height - 4,
                        str(count),
                        anchor="middle",
                        size=9,
                        fill="#ffffff",
                        weight="bold",
                    )
                )
            x += w
        body.append(_text(x + 4, y + bar_height - 4, str(totals[row]), size=9, fill=MUTED))
    return _svg(width, height, title, body)


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round axis values covering [low, high]: steps of 1, 2 or 5 times a power of ten."""
    if high <= low:
        low, high = low - 1, high + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _places(ticks: Sequence[float]) -> int:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    return 0 if step >= 1 else min(3, int(-math.floor(math.log10(step))))


def line_chart(
    title: str, lines: Sequence[Line], *, unit: str = "", width: float = 310, height: float = 170
) -> str:
    """Lines over time, one per series; flagged points are drawn as open red rings."""
    points = [p for line in lines for p in line.points]
    left, right, top, bottom = 46.0, 22.0, 14.0, 34.0 if len(lines) > 1 else 22.0
    plot_w, plot_h = width - left - right, height - top - bottom
    body: list[str] = []
    if not points:
        body.append(_text(width / 2, height / 2, "keine Werte", anchor="middle", fill=MUTED))
        return _svg(width, height, title, body)
    ticks = nice_ticks(min(p.value for p in points), max(p.value for p in points))
    low, high = ticks[0], ticks[-1]
    first = min(p.when for p in points).toordinal()
    span = max(1, max(p.when for p in points).toordinal() - first)

    def x_of(day: date) -> float:
        if len({p.when for p in points}) == 1:
            return left + plot_w / 2
        return left + (day.toordinal() - first) / span * plot_w

    def y_of(value: float) -> float:
        return top + (high - value) / (high - low) * plot_h

    places = _places(ticks)
    for tick in ticks:
        y = y_of(tick)
        body.append(
            f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(width - right)}" y2="{_n(y)}" '
            f'stroke="{GRID}" stroke-width="0.8"/>'
        )
        body.append(
            _text(left - 4, y + 3, german.number(tick, places), anchor="end", size=9, fill=MUTED)
        )
    if unit:
        body.append(_text(left, top - 4, unit, size=9, fill=MUTED))
    days = sorted({p.when for p in points})
    shown = days if len(days) <= 5 else [days[0], days[len(days) // 2], days[-1]]
    base = top + plot_h
    for day in shown:
        body.append(
            _text(x_of(day), base + 12, day.strftime("%m/%Y"), anchor="middle", size=9, fill=MUTED)
        )
    for i, line in enumerate(lines):
        colour = PALETTE[i % len(PALETTE)]
        ordered = sorted(line.points, key=lambda p: p.when)
        path = " ".join(f"{_n(x_of(p.when))},{_n(y_of(p.value))}" for p in ordered)
        if len(ordered) > 1:
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.8"/>'
            )
        for p in ordered:
            if p.flagged:
                body.append(
                    f'<circle cx="{_n(x_of(p.when))}" cy="{_n(y_of(p.value))}" r="3.6" '
                    f'fill="#ffffff" stroke="#b3261e" stroke-width="1.6"/>'
                )
            else:
                body.append(
                    f'<circle cx="{_n(x_of(p.when))}" cy="{_n(y_of(p.value))}" r="2.6" '
                    f'fill="{colour}"/>'
                )
    if len(lines) > 1:
        legend, _ = _legend([_clip(line.name, 18) for line in lines], left, height - 4)
        body += legend
    return _svg(width, height, title, body)
