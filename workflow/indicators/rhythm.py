"""When an indicator's value is due and which period it describes, from its rhythm. Pure.

The due date is when the source delivers; the reference period is what the value is about.
Seed 004 asks in February for the previous calendar year, so the two are kept apart: a
request stores both and every page names both. ``period`` (YYYY-MM of the due date) stays the
key of a request, so a rhythm must never put two due dates into one month.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from workflow.indicators.models import Indicator, Rhythm
from workflow.reports import english, german


@dataclass(frozen=True)
class RhythmSpec:
    """The rhythm fields of an indicator, checked or not."""

    rhythm: str = Rhythm.MONTHS.value
    due_months: tuple[int, ...] = ()
    due_day: int = 15
    every_years: int = 1
    first_year: int | None = None
    event_dates: tuple[str, ...] = ()


def spec_of(indicator: Indicator) -> RhythmSpec:
    return RhythmSpec(
        rhythm=indicator.rhythm or Rhythm.MONTHS.value,
        due_months=tuple(indicator.due_months or ()),
        due_day=indicator.due_day,
        every_years=indicator.every_years or 1,
        first_year=indicator.first_year,
        event_dates=tuple(indicator.event_dates or ()),
    )


# -- due dates ----------------------------------------------------------------------------


def _day(spec: RhythmSpec) -> int:
    # Day 28 exists in every month; a broken definition must not break the sweep.
    return min(max(spec.due_day, 1), 28)


def _months(spec: RhythmSpec) -> list[int]:
    return sorted({m for m in spec.due_months if 1 <= m <= 12})


def _year_hit(spec: RhythmSpec, year: int) -> bool:
    if spec.rhythm != Rhythm.EVERY_YEARS:
        return True
    if spec.first_year is None or year < spec.first_year:
        return False
    return (year - spec.first_year) % max(spec.every_years, 1) == 0


def event_days(spec: RhythmSpec) -> list[date]:
    """The readable event dates, ascending; an unreadable one is skipped (validation names it)."""
    days = {parse_event_date(text) for text in spec.event_dates}
    return sorted(d for d in days if d is not None)


def due_dates(spec: RhythmSpec, first: date, last: date) -> list[date]:
    """Every due date from ``first`` to ``last`` (both included), ascending."""
    if spec.rhythm == Rhythm.EVENT:
        return [d for d in event_days(spec) if first <= d <= last]
    day = _day(spec)
    return [
        due
        for year in range(first.year, last.year + 1)
        if _year_hit(spec, year)
        for month in _months(spec)
        if first <= (due := date(year, month, day)) <= last
    ]


# -- reference periods --------------------------------------------------------------------


def month_span(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def reference_period(spec: RhythmSpec, due: date) -> tuple[date, date]:
    """The period (first day, last day) a value due on ``due`` describes; never after ``due``
    except for the rhythm "months", whose value describes its whole due month."""
    if spec.rhythm == Rhythm.EVENT:
        return due, due
    if spec.rhythm in (Rhythm.YEARLY, Rhythm.EVERY_YEARS):
        return date(due.year - 1, 1, 1), date(due.year - 1, 12, 31)
    if spec.rhythm == Rhythm.HALF_YEARLY:
        if due.month >= 7:
            return date(due.year, 1, 1), date(due.year, 6, 30)
        return date(due.year - 1, 7, 1), date(due.year - 1, 12, 31)
    return month_span(due.year, due.month)


# -- labels -------------------------------------------------------------------------------

_WORDS = {
    "de": {
        "year": "Kalenderjahr {year}",
        "half": "{half}. Halbjahr {year}",
        "event": "Wahl am {day}",
        "span": "{start} bis {end}",
        "delivery": "Lieferung bis {day}",
    },
    "en": {
        "year": "Calendar year {year}",
        "half": "{ordinal} half of {year}",
        "event": "Election on {day}",
        "span": "{start} to {end}",
        "delivery": "Delivery by {day}",
    },
}
_ORDINALS = {1: "First", 2: "Second"}


def _date(day: date, lang: str) -> str:
    return english.long_day(day) if lang == "en" else german.day(day)


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "de"


def reference_label(start: date, end: date, lang: str) -> str:
    """ "Kalenderjahr 2027", "1. Halbjahr 2027", "März 2026", "Wahl am 13.09.2027" (or English)."""
    words = _WORDS[_lang(lang)]
    if start == end:
        return words["event"].format(day=_date(start, lang))
    if (start, end) == month_span(start.year, start.month):
        name = english.month(start.month) if lang == "en" else german.MONTHS[start.month - 1]
        return f"{name} {start.year}"
    if start.year == end.year:
        ends = ((start.month, start.day), (end.month, end.day))
        if ends == ((1, 1), (12, 31)):
            return words["year"].format(year=start.year)
        half = {((1, 1), (6, 30)): 1, ((7, 1), (12, 31)): 2}.get(ends)
        if half is not None:
            return words["half"].format(half=half, ordinal=_ORDINALS[half], year=start.year)
    return words["span"].format(start=_date(start, lang), end=_date(end, lang))


def describes_month(start: date, end: date, period: str) -> bool:
    """Whether the reference is exactly the month ``period`` ("YYYY-MM"), as with the rhythm
    "months": then the delivery date needs no line of its own."""
    year, _, month = period.partition("-")
    if not (year.isdigit() and month.isdigit() and 1 <= int(month) <= 12):
        return False
    return (start, end) == month_span(int(year), int(month))


def delivery_label(due: date, lang: str) -> str:
    return _WORDS[_lang(lang)]["delivery"].format(day=_date(due, lang))


# -- event dates --------------------------------------------------------------------------

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_GERMAN = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def parse_event_date(text: str) -> date | None:
    """31.12.2027 or 2027-12-31; None for anything else.

    Not ``forms.validation.parse_date``: the forms import the mail module, which imports the
    requests, which import this module.
    """
    text = text.strip()
    try:
        if _ISO.match(text):
            return date.fromisoformat(text)
        found = _GERMAN.match(text)
        if found:
            return date(int(found[3]), int(found[2]), int(found[1]))
    except ValueError:
        return None
    return None


def normal_event_dates(texts: Sequence[str]) -> list[str]:
    """Readable dates as sorted, distinct ISO strings, as ``Indicator.event_dates`` keeps them."""
    days = {parse_event_date(t) for t in texts}
    return sorted(d.isoformat() for d in days if d is not None)
