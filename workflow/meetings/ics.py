"""The calendar file (iCalendar, METHOD:REQUEST) of a meeting invitation; pure, no database.

One UID per meeting, so a calendar updates the entry it already holds when a change arrives
with a higher SEQUENCE. Times are local wall-clock times in the organisation's time zone,
written with their TZID and the zone's definition; a meeting without a start time is an
all-day entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

# A meeting has a start but no stated end; calendars need one to show a block.
ASSUMED_LENGTH = timedelta(hours=2)
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class CalendarEntry:
    uid: str
    sequence: int
    summary: str
    description: str
    location: str
    day: date
    starts_at: str | None  # "HH:MM" local, or None for an all-day entry
    timezone: str
    organizer_email: str
    organizer_name: str
    attendee_email: str
    attendee_name: str


def meeting_uid(meeting_id: int, domain: str) -> str:
    return f"zielflow-meeting-{meeting_id}@{domain or 'zielflow.invalid'}"


def start_of(day: date, starts_at: str | None, timezone: str) -> datetime | None:
    """The local start as an aware datetime; None without a start (or one no clock shows)."""
    found = _TIME.match(starts_at or "")
    if found is None:
        return None
    return datetime.combine(day, time(int(found[1]), int(found[2])), tzinfo=ZoneInfo(timezone))


def meeting_ics(entry: CalendarEntry, *, now: datetime) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//zielflow//Sitzung//DE")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = Event()
    event.add("uid", entry.uid)
    event.add("sequence", entry.sequence)
    event.add("dtstamp", now)
    begins = start_of(entry.day, entry.starts_at, entry.timezone)
    if begins is None:
        event.add("dtstart", entry.day)
        event.add("dtend", entry.day + timedelta(days=1))
    else:
        event.add("dtstart", begins)
        event.add("dtend", begins + ASSUMED_LENGTH)
    event.add("summary", _clean(entry.summary))
    if entry.description:
        event.add("description", _clean(entry.description, keep_lines=True))
    if entry.location:
        event.add("location", _clean(entry.location))
    event.add("status", "CONFIRMED")
    organizer = vCalAddress(f"mailto:{entry.organizer_email}")
    organizer.params["cn"] = vText(_clean(entry.organizer_name or entry.organizer_email))
    event["organizer"] = organizer
    attendee = vCalAddress(f"mailto:{entry.attendee_email}")
    attendee.params["cn"] = vText(_clean(entry.attendee_name or entry.attendee_email))
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["rsvp"] = vText("TRUE")
    event.add("attendee", attendee, encode=False)
    cal.add_component(event)
    if begins is not None:
        # Only the years around the meeting: the zone's whole history would bloat the file.
        cal.add_missing_timezones(
            first_date=date(entry.day.year - 1, 1, 1), last_date=date(entry.day.year + 2, 1, 1)
        )
    return bytes(cal.to_ical())


def _clean(text: str, *, keep_lines: bool = False) -> str:
    """No control characters in a calendar property; line breaks only where they belong."""
    allowed = {"\n"} if keep_lines else set()
    return "".join(c if c >= " " or c in allowed else " " for c in text).strip()
