"""Every sentence the ``zielflow`` command line prints or shows in ``--help``, by key.

Owns the loading of ``workflow/locales/cli.de.json`` / ``cli.en.json`` and the choice of the
form (``key.one`` / ``key.other``) for a count; the language is ``cli_lang.current()``. It
never prints, and never words domain or settings errors (workflow/messages.py and
workflow/cli_errors.py do).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from workflow import cli_lang

LOCALES = Path(__file__).resolve().parent / "locales"


@cache
def catalogue(lang: str) -> dict[str, str]:
    path = LOCALES / f"cli.{lang}.json"
    loaded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def has(key: str) -> bool:
    return key in catalogue(cli_lang.DEFAULT)


def text(lang: str, key: str, **params: object) -> str:
    """The sentence ``key`` in ``lang`` (German if the key is missing there), filled in."""
    found = catalogue(lang).get(key) or catalogue(cli_lang.DEFAULT).get(key) or key
    return found.format(**params) if params else found


def count(value: int, lang: str) -> str:
    # German groups thousands with a dot, English with a comma: 1.234 / 1,234.
    return f"{value:,}".replace(",", ".") if lang == "de" else f"{value:,}"


def text_n(lang: str, key: str, n: int, **params: object) -> str:
    """``key.one`` for exactly one, else ``key.other``, with ``{count}`` as a formatted number."""
    form = "one" if n == 1 else "other"
    return text(lang, f"{key}.{form}", count=count(n, lang), **params)


def say(key: str, **params: object) -> str:
    """The sentence ``key`` in the language of this command."""
    return text(cli_lang.current(), key, **params)


def say_n(key: str, n: int, **params: object) -> str:
    """The form of ``key`` for ``n`` in the language of this command: "1 Maßnahme", "3 Maßnahmen"."""
    return text_n(cli_lang.current(), key, n, **params)
