"""Counted nouns for emails, reports and the CLI: "1 Maßnahme", "3 Maßnahmen", never "Maßnahme(n)".

Pure: it formats a number and picks one of two given forms; it never looks anything up,
translates or reads settings. Pages use ``_n`` (api/templating.py) with catalogue keys instead.
"""

from __future__ import annotations

from workflow.reports.german import number


def count_text(count: int, lang: str = "de") -> str:
    """1234 -> "1.234" in German, "1,234" in English."""
    return number(count) if lang == "de" else f"{count:,}"


def plural(count: int, one: str, other: str, *, lang: str = "de") -> str:
    """``count`` and the noun form that fits it: (1, "Maßnahme", "Maßnahmen") -> "1 Maßnahme".

    German and English both use the singular for exactly one and the plural otherwise,
    zero included ("0 Maßnahmen", "0 measures").
    """
    return f"{count_text(count, lang)} {one if count == 1 else other}"
