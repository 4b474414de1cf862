"""How a page writes a day, a moment and a number for its reader. Pure: never reads the
database or the settings; the caller passes the language and the organisation's time zone.

German: 31.12.2027, "31.12.2027, 14:05 Uhr", 1.234,5. English: 31/12/2027 (day first, as
in British and EU usage, so a German and an English page never disagree on the order),
"31/12/2027, 14:05", 1,234.5.

Pages use this short numeric form on purpose: it fits a table cell and a phone. Letters,
emails and reports are read as prose and spell the English month out ("31 December 2027");
that long form lives in ``workflow.reports.english``, the one home of the English month
names. German reads 31.12.2027 in both.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from workflow.reports import german

NONE = "–"


def day(value: date | None, lang: str) -> str:
    if value is None:
        return NONE
    return f"{value:%d/%m/%Y}" if lang == "en" else german.day(value)


def moment(value: datetime | None, lang: str, timezone: str) -> str:
    """A stored UTC moment in the organisation's local time."""
    if value is None:
        return NONE
    local = value.astimezone(ZoneInfo(timezone))
    if lang == "en":
        return f"{day(local.date(), lang)}, {local:%H:%M}"
    return f"{day(local.date(), lang)}, {local:%H:%M} Uhr"


def number(value: float | int | None, places: int, lang: str) -> str:
    """Rounded half-up to ``places``; German with a decimal comma, English with a point."""
    if value is None:
        return NONE
    text = german.number(value, places)
    if lang == "en":  # swap the German separators back: "1.234,5" -> "1,234.5"
        text = text.replace(".", "\x00").replace(",", ".").replace("\x00", ",")
    return text
