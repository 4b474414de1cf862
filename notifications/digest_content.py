"""What one member's digest says: the comparison with what they were told last, and the
template context of their digest in their language.

Pure but for the item views it asks for; never decides when a digest is due and never writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from notifications.digest_items import (
    DECISION,
    INDICATOR,
    MEASURE,
    STATUS_CHECK,
    OpenItem,
    Resolution,
    town_of_key,
)
from notifications.digest_periods import Period
from notifications.digest_views import DigestViews
from notifications.render import format_date

LABELS = {
    "de": {"as_of": "Stand {day}", "before": "vor der Sitzung am {day}"},
    "en": {"as_of": "as of {day}", "before": "before the meeting on {day}"},
}


@dataclass
class Change:
    """One member's view of the body's items: what is new to them, still open, resolved."""

    new: list[OpenItem] = field(default_factory=list)
    still_open: list[OpenItem] = field(default_factory=list)
    resolved: list[Resolution] = field(default_factory=list)

    @property
    def has_news(self) -> bool:
        return bool(self.new or self.resolved)


def compare(
    open_now: dict[str, OpenItem],
    reported: dict[str, Any],
    resolve: Callable[[str], Resolution | None],
) -> Change:
    """New: open now and not reported, or reported at a lower level. Resolved: reported as
    open and ended since (an item that merely left the scope is dropped silently)."""
    change = Change()
    for key, item in open_now.items():
        before = reported.get(key)
        if before is None or item.level > int(before):
            change.new.append(item)
        else:
            change.still_open.append(item)
    for key in sorted(reported):
        if key not in open_now:
            ended = resolve(key)
            if ended is not None:
                change.resolved.append(ended)
    return change


def split(change: Change) -> tuple[Change, dict[int, Change]]:
    """The body's own part of ``change`` and each represented town's part, by town id."""
    own = Change()
    towns: dict[int, Change] = {}

    def part(key: str) -> Change:
        town, _ = town_of_key(key)
        return own if town is None else towns.setdefault(town, Change())

    for item in change.new:
        part(item.key).new.append(item)
    for item in change.still_open:
        part(item.key).still_open.append(item)
    for ended in change.resolved:
        part(ended.key).resolved.append(ended)
    return own, towns


def totals_of(change: Change) -> dict[str, int]:
    return {
        "new": len(change.new),
        "still_open": len(change.still_open),
        "resolved": len(change.resolved),
    }


def language_of(lang: str) -> str:
    return lang if lang in LABELS else "de"


def as_of_label(lang: str, today: date) -> str:
    """The period a digest outside any regular period names: the day it was made."""
    return LABELS[language_of(lang)]["as_of"].format(day=format_date(today, language_of(lang)))


def content(
    *,
    body_name: str,
    period: Period,
    label: str,
    change: Change,
    views: DigestViews,
    lang: str,
    towns: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The template context of one member's digest, in their language; ``change`` is the
    body's own part, ``towns`` the parts of the towns the member represents (``town_content``).
    The totals count both."""
    lang = language_of(lang)
    views.prefetch([*change.new, *change.still_open], lang)

    def opened(items: list[OpenItem], kind: str, is_new: bool) -> list[dict[str, Any]]:
        return [{**views.open_view(i, lang), "is_new": is_new} for i in items if i.kind == kind]

    def ended(kind: str) -> list[dict[str, Any]]:
        return [
            {**views.resolved_view(r, lang), "is_new": False}
            for r in change.resolved
            if r.kind == kind
        ]

    def by_place(i: dict[str, Any]) -> tuple[Any, ...]:
        return (i["department"], i["field_code"], -i["days_overdue"], i["code"])

    def by_urgency(i: dict[str, Any]) -> tuple[Any, ...]:
        # Open before ended, new before known, the longest overdue first.
        return (i["resolution"] is not None, not i["is_new"], -i["days_overdue"])

    indicators = opened(change.new, INDICATOR, True) + opened(change.still_open, INDICATOR, False)
    decisions = opened(change.new, DECISION, True) + opened(change.still_open, DECISION, False)
    checks = opened(change.new, STATUS_CHECK, True) + opened(change.still_open, STATUS_CHECK, False)
    meeting = period.meeting
    return {
        "body_name": body_name,
        "period_label": label,
        "meeting_label": (
            LABELS[lang]["before"].format(day=format_date(meeting.held_on, lang))
            if meeting
            else None
        ),
        "meeting": views.meeting_view(meeting, lang) if meeting else None,
        "new_items": sorted(opened(change.new, MEASURE, True), key=by_place),
        "still_open": sorted(opened(change.still_open, MEASURE, False), key=by_place),
        "resolved_items": sorted(ended(MEASURE), key=by_place),
        "indicators": sorted(
            indicators + ended(INDICATOR), key=lambda i: (*by_urgency(i), i["code"])
        ),
        "decisions": sorted(decisions + ended(DECISION), key=by_urgency),
        # One line per contact's part of a status check, the parts' order kept for equal ones.
        "status_checks": sorted(
            checks + ended(STATUS_CHECK), key=lambda i: (*by_urgency(i), i["line"])
        ),
        "towns": towns or [],
        "totals": {
            key: n + sum(t["totals"][key] for t in towns or [])
            for key, n in totals_of(change).items()
        },
    }


def town_content(
    *, name: str, path: str, change: Change, views: DigestViews, lang: str
) -> dict[str, Any]:
    """One represented town's part of a digest: its escalated measures, indicators and
    status checks, open before ended, the longest overdue first; ``views`` are the town's."""
    lang = language_of(lang)
    views.prefetch([*change.new, *change.still_open], lang)

    def listed(kind: str) -> list[dict[str, Any]]:
        # A measure's open view has no ``resolution``; the town's one list needs it on each.
        rows = [
            {"resolution": None, **views.open_view(i, lang), "is_new": True}
            for i in change.new
            if i.kind == kind
        ]
        rows += [
            {"resolution": None, **views.open_view(i, lang), "is_new": False}
            for i in change.still_open
            if i.kind == kind
        ]
        rows += [
            {**views.resolved_view(r, lang), "is_new": False}
            for r in change.resolved
            if r.kind == kind
        ]
        return sorted(
            rows,
            key=lambda i: (i["resolution"] is not None, not i["is_new"], -i["days_overdue"]),
        )

    return {
        "name": name,
        "path": path,
        "measures": listed(MEASURE),
        "indicators": listed(INDICATOR),
        "status_checks": listed(STATUS_CHECK),
        "totals": totals_of(change),
    }
