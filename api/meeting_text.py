"""The words for meetings in the reader's language: headings, times, agenda kinds and reasons.

The domain (workflow/meetings/) gives each proposed item a reason code with parameters; the
pages, the JSON API and the CLI word it here from the ``meeting.*`` keys of
api/locales/meetings.*.json. Refusals are ``BodyError``s and worded by api/body_text.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from api.body_text import fmt_day, label, plural
from api.i18n import translate
from workflow.bodies.models import Meeting


def kind_label(kind: str, lang: str) -> str:
    return label("meeting.kind", kind, lang)


def when(meeting: Meeting, lang: str) -> str:
    """E.g. „06.05.2026, 17:00 Uhr“ or „06.05.2026“ while the time is not fixed."""
    day = fmt_day(meeting.held_on, lang)
    if not meeting.starts_at:
        return day
    return translate("meeting.when", lang, day=day, time=meeting.starts_at)


def heading(body_name: str, meeting: Meeting, lang: str) -> str:
    return translate("meeting.heading", lang, body=body_name, day=fmt_day(meeting.held_on, lang))


def _day(value: str, lang: str) -> str:
    return fmt_day(date.fromisoformat(value), lang) if value else "–"


def reason_text(reason: str, details: Mapping[str, str], lang: str) -> str:
    """Why an item is proposed, as one sentence."""
    d = dict(details)
    match reason:
        case "field_report":
            n = int(d.get("measures", "0"))
            return plural("meeting.reason.field_report", n, lang)
        case "agreement_drop" | "review_drop":
            base = translate(f"meeting.reason.{reason}", lang, department=d.get("department", ""))
            if d.get("text"):
                base += " " + translate("meeting.reason.because", lang, text=d["text"])
            return base
        case "review_submitted":
            return translate(
                "meeting.reason.review_submitted",
                lang,
                department=d.get("department", ""),
                achievement=label("forms.achievement", d.get("achievement"), lang),
                proposal=label("forms.proposal", d.get("proposal"), lang),
            )
        case "escalated":
            return translate(
                "meeting.reason.escalated",
                lang,
                level=d.get("level", ""),
                state=label("state", d.get("state"), lang),
                due=_day(d.get("due_on", ""), lang),
                department=d.get("department", ""),
            )
        case "indicator_off_track":
            return translate(
                "meeting.reason.indicator_off_track",
                lang,
                trend=label("ind.trend", d.get("trend"), lang),
                value=d.get("last_value") or "–",
            )
        case "open_decision":
            text = translate(
                "meeting.reason.open_decision",
                lang,
                kind=label("decisions.kind", d.get("decision_kind"), lang),
                day=_day(d.get("held_on", ""), lang),
                status=label("decisions.status", d.get("status"), lang),
            )
            if d.get("due_on"):
                text += " " + translate("meeting.reason.due", lang, day=_day(d["due_on"], lang))
            return text
    return ""
