"""The words for the decisions register in the reader's language: refusals, labels, actors.

The domain (workflow/decisions/) names each refusal by a code and parameters; the pages and
the JSON API word it here, from the ``decisions.*`` keys of api/locales/decisions.*.json.
Reads nothing else.
"""

from __future__ import annotations

from datetime import date

from api import formats
from api.i18n import translate
from workflow.decisions.errors import DecisionError
from workflow.decisions.queries import MeetingRef

CONFLICTS = frozenset({"already_applied", "move_refused"})
# Parameters that hold codes, worded by these label prefixes.
_LISTS = {
    "unknown_kind": "decisions.kind",
    "unknown_status": "decisions.status",
    "unknown_action": "decisions.action",
    "unknown_addressee": "decisions.addressee",
}


def fmt_day(day: date | None, lang: str) -> str:
    return formats.day(day, lang)


def label(prefix: str, value: str | None, lang: str) -> str:
    """``decisions.kind.resolution`` → "Beschluss"; an empty value → the "none" label."""
    return translate(f"{prefix}.{value if value else 'none'}", lang)


def error_text(exc: DecisionError, lang: str) -> str:
    params: dict[str, object] = dict(exc.params)
    prefix = _LISTS.get(exc.code)
    if prefix and "allowed" in params:
        codes = [c for c in str(params["allowed"]).split(", ") if c]
        params["allowed"] = ", ".join(f"{c} ({label(prefix, c, lang)})" for c in codes)
    if exc.code == "move_refused":
        params["state"] = translate(f"state.{params.get('state')}", lang)
        params["event"] = translate(f"event.{params.get('event')}", lang)
        events = [e for e in str(params.get("allowed", "")).split(", ") if e]
        params["allowed"] = ", ".join(translate(f"event.{e}", lang) for e in events) or "–"
    if "due" in params:
        params["due"] = fmt_day(date.fromisoformat(str(params["due"])), lang)
    return translate(f"decisions.error.{exc.code}", lang, **params)


def error_status(exc: DecisionError) -> int:
    if exc.not_found:
        return 404
    return 409 if exc.code in CONFLICTS else 422


def meeting_sentence(ref: MeetingRef, lang: str) -> str:
    """E.g. „Steuerungsgruppe, Sitzung am 12.03.2027“."""
    return translate(
        "decisions.actor.meeting", lang, body=ref.body_name, date=fmt_day(ref.held_on, lang)
    )
