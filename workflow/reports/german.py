"""How numbers and dates read in a German report: decimal comma, "62,5 %", "02.03.2026". Pure."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

NBSP = "\u00a0"
MONTHS = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)


def _rounded(value: float, places: int) -> Decimal:
    # Half-up as people round by hand; float's own round() would give 62,4 for 0.6245.
    quantum = Decimal(1).scaleb(-places)
    return Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP)


def number(value: float | int | None, places: int = 0) -> str:
    """1234.5 -> "1.234,5"; None -> "–"."""
    if value is None:
        return "–"
    text = f"{_rounded(float(value), places):,.{places}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def percent(rate: float | None, places: int = 1) -> str:
    """0.625 -> "62,5 %" (with a no-break space); None (nothing to divide by) -> "–"."""
    return "–" if rate is None else f"{number(rate * 100, places)}{NBSP}%"


def points(diff: float | None, places: int = 1) -> str:
    """A difference of two rates in percentage points, always signed: "+5,0 Pp.", "−2,5 Pp."."""
    if diff is None:
        return "–"
    value = _rounded(diff * 100, places)
    sign = "±" if value == 0 else ("+" if value > 0 else "−")
    return f"{sign}{number(abs(float(value)), places)}{NBSP}Pp."


def day(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else "–"


def long_day(value: date) -> str:
    """2. März 2026."""
    return f"{value.day}. {MONTHS[value.month - 1]} {value.year}"


def ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def code_key(code: str) -> tuple[object, ...]:
    """The order people read codes in: "A1.9" before "A1.10" (digits compare as numbers)."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", code))
