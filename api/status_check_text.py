"""The words for status checks (Sachstandsabfragen) in the reader's language: refusals,
the selection as a sentence, the Stand of an answer.

The core (workflow/status_checks/) names each refusal by a code and parameters; the pages,
the JSON API and the CLI word it here, from the ``status_checks.*`` keys of
api/locales/status_check_start.*.json. Reads no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from datetime import date
from typing import Any

from api import formats
from api.i18n import translate
from workflow.status_checks.errors import StatusCheckRefused

# A refusal about a check that is gone or another organisation's: the edges answer 404.
NOT_FOUND = "not_found"


class _Blank(dict[str, object]):
    """Parameters for a sentence: a placeholder the refusal did not fill stays empty."""

    def __missing__(self, key: str) -> object:
        return ""


def fmt_day(day: date | None, lang: str) -> str:
    return formats.day(day, lang)


def sentence(key: str, lang: str, params: Mapping[str, Any]) -> str:
    """The catalogue's text of ``key`` with ``params`` filled in; unknown ones left empty."""
    return translate(key, lang).format_map(_Blank(params))


def error_text(exc: StatusCheckRefused, lang: str) -> str:
    params: dict[str, object] = dict(exc.params)
    for name in ("value", "max"):
        value = params.get(name)
        if isinstance(value, date):
            params[name] = fmt_day(value, lang)
        elif isinstance(value, str) and len(value) == 10:
            with suppress(ValueError):  # not a date after all: shown as given
                params[name] = fmt_day(date.fromisoformat(value), lang)
    key = f"status_checks.error.{exc.code}"
    if translate(key, lang) == key:  # a code this edge does not know yet: still a sentence
        key = "status_checks.error.other"
        params["code"] = exc.code
    return sentence(key, lang, params)


def selection_text(selection: Mapping[str, Any], lang: str, codes: Mapping[int, str]) -> str:
    """How the measures were chosen, e.g. „Handlungsfeld B, Fachbereich Schulamt“.

    ``codes`` names the measures of ``measure_ids`` (id → code).
    """
    parts: list[str] = []
    for key in ("field", "goal", "department"):
        if value := selection.get(key):
            parts.append(translate(f"status_checks.selection.{key}", lang, value=value))
    picked = [str(c) for c in selection.get("measure_codes") or []]
    picked += [codes.get(int(i), str(i)) for i in selection.get("measure_ids") or []]
    if picked:
        key = "one" if len(picked) == 1 else "other"
        parts.append(
            translate(f"status_checks.selection.measures_{key}", lang, value=", ".join(picked))
        )
    return ", ".join(parts) if parts else translate("status_checks.selection.all", lang)


def stand_text(stand: str, lang: str) -> str:
    """``delayed`` → „verzögert“; no answer yet → „noch offen“."""
    return translate(f"status_checks.stand.{stand or 'none'}", lang)
