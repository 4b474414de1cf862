"""The sentences of the domain's error codes, in the reader's language.

Owns workflow/locales/errors.<lang>.json and the one lookup from a code and its parameters
to a sentence. The domain raises codes and parameters only; the edges (API, pages, CLI) call
``message``. Events and states are named by the dashboard's labels (api/locales
dashboard.<lang>.json, ``event.*`` / ``state.*``) so a move has one name everywhere. Reads
those files once and nothing else; never raises for an unknown code or a missing parameter
(a sentence with a gap is better than a traceback at the edge).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("de", "en")
DEFAULT = "de"
_HERE = Path(__file__).parent / "locales"
_LABELS = Path(__file__).parent.parent / "api" / "locales"
# Parameters that hold codes of their own: they are worded too, not shown raw.
_NESTED = ("problem",)


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The error sentences of ``lang`` (German for an unknown language)."""
    lang = lang if lang in LANGUAGES else DEFAULT
    data: dict[str, str] = json.loads((_HERE / f"errors.{lang}.json").read_text("utf-8"))
    return data


@cache
def _labels(lang: str) -> dict[str, str]:
    path = _LABELS / f"dashboard.{lang if lang in LANGUAGES else DEFAULT}.json"
    try:
        data: dict[str, str] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):  # labels are a nicety: codes still read without them
        return {}
    return {k: v for k, v in data.items() if k.startswith(("event.", "state."))}


def event_label(event: str, lang: str) -> str:
    """``drop`` → "Streichen"-like label of the dashboard; an unknown event stays as typed."""
    return _labels(lang).get(f"event.{event}") or _labels(DEFAULT).get(f"event.{event}") or event


def state_label(state: str, lang: str) -> str:
    return _labels(lang).get(f"state.{state}") or _labels(DEFAULT).get(f"state.{state}") or state


def has(code: str, lang: str) -> bool:
    """A code is worded in ``lang``: itself, or its ``.one`` / ``.other`` plural forms."""
    known = catalogue(lang)
    return code in known or (f"{code}.one" in known and f"{code}.other" in known)


def message(code: str, lang: str, /, **params: Any) -> str:
    """The sentence for ``code`` in ``lang``; an unknown code is shown as it is."""
    known = catalogue(lang)
    key = code
    count = params.get("count")
    if code not in known and isinstance(count, int):
        key = f"{code}.one" if count == 1 else f"{code}.other"
    text = known.get(key) or catalogue(DEFAULT).get(key)
    if text is None:
        return code
    return text.format_map(_Params(_worded(params, lang), lang))


def _worded(params: dict[str, Any], lang: str) -> dict[str, Any]:
    out = dict(params)
    if "event" in out:
        out["event"] = event_label(str(out["event"]), lang)
    if "state" in out:
        out["state"] = state_label(str(out["state"]), lang)
    if "allowed_events" in out:
        labels = [event_label(str(e), lang) for e in out["allowed_events"]]
        out["allowed_events"] = ", ".join(labels) or catalogue(lang).get("none", "–")
    for name in _NESTED:
        if isinstance(out.get(name), str):
            out[name] = message(out[name], lang, **params.get(f"{name}_params", {}))
    if "column" in out:
        out["column_label"] = column_label(str(out["column"]), lang)
    for name, value in list(out.items()):
        if isinstance(value, list | tuple):
            out[name] = ", ".join(str(v) for v in value)
    return out


def column_label(column: str, lang: str) -> str:
    """A file column as a person calls it ("Ziel-Rang"); unlabelled columns by their name."""
    known = catalogue(lang)
    return known.get(f"column.{column}") or catalogue(DEFAULT).get(f"column.{column}") or column


class _Params(dict[str, Any]):
    def __init__(self, values: dict[str, Any], lang: str) -> None:
        super().__init__(values)
        self.lang = lang

    def __missing__(self, key: str) -> str:
        return "…"
