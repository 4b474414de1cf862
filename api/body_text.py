"""The words for bodies and members, in the reader's language: refusals, labels, plurals.

The domain (workflow/bodies/) names each refusal by a code and parameters; the page, the JSON
API and the CLI all word it here, from the ``bodies.*``, ``body.*`` and ``member.*`` keys of
api/locales/bodies.*.json. Reads nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from api import formats
from api.i18n import translate
from workflow.bodies.composition import Shortfall
from workflow.bodies.errors import BodyError

CONFLICTS = frozenset(
    {
        "body_name_taken",
        "member_already_current",
        "member_already_ended",
        "meeting_day_taken",
        "guest_already_invited",
        "guest_is_member",
        "agenda_item_twice",
    }
)
DATE_PARAMS = ("on", "joined")


def fmt_day(day: date | None, lang: str) -> str:
    return formats.day(day, lang)


def plural(key: str, n: int, lang: str, **values: object) -> str:
    """``key_one`` for exactly one, ``key_other`` for every other number."""
    return translate(f"{key}_{'one' if n == 1 else 'other'}", lang, n=n, **values)


def label(prefix: str, value: str | None, lang: str) -> str:
    """``body.kind.steering_group`` → "Steuerungsgruppe"; None → the "none" label."""
    return translate(f"{prefix}.{value if value else 'none'}", lang)


def labels(prefix: str, values: Iterable[str], lang: str) -> str:
    return ", ".join(label(prefix, v, lang) for v in values)


def error_text(exc: BodyError, lang: str) -> str:
    params: dict[str, object] = dict(exc.params)
    for key in DATE_PARAMS:
        if key in params:
            params[key] = fmt_day(date.fromisoformat(str(params[key])), lang)
    if "allowed" in params and exc.code.startswith("unknown_"):
        prefix = {
            "unknown_kind": "body.kind",
            "unknown_scope": "body.scope",
            "unknown_cadence": "body.cadence",
            "unknown_represents": "member.represents",
            "unknown_role": "member.role",
        }.get(exc.code)
        if prefix:
            codes = str(params["allowed"]).split(", ")
            params["allowed"] = ", ".join(f"{c} ({label(prefix, c, lang)})" for c in codes)
    return translate(f"bodies.error.{exc.code}", lang, **params)


def error_status(exc: BodyError) -> int:
    if exc.not_found:
        return 404
    return 409 if exc.code in CONFLICTS else 422


def shortfall_text(s: Shortfall, lang: str) -> str:
    """E.g. „mindestens 2 Mitglieder aus der Zivilgesellschaft – derzeit 1“."""
    source = translate(f"body.rule.from.{s.represents}", lang)
    return plural(
        "body.shortfall", s.minimum, lang, minimum=s.minimum, source=source, current=s.current
    )


def rule_text(represents: str, minimum: int, lang: str) -> str:
    source = translate(f"body.rule.from.{represents}", lang)
    return plural("body.rule", minimum, lang, minimum=minimum, source=source)
