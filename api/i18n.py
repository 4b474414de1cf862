"""One translation mechanism for pages and emails: German first, English available.

Messages live in ``api/locales/<area>.<lang>.json`` (one file per area and language, so
areas do not collide); a key missing in English falls back to German, a key missing in
German is shown as the key itself, which a test catches.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from fastapi import Request

LOCALES = Path(__file__).parent / "locales"
LANGUAGES = ("de", "en")
DEFAULT = "de"


@lru_cache(maxsize=4)
def catalogue(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted(LOCALES.glob(f"*.{lang}.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def translate(key: str, lang: str = DEFAULT, **values: object) -> str:
    text = catalogue(lang).get(key) or catalogue(DEFAULT).get(key) or key
    return text.format(**values) if values else text


def language_of(request: Request) -> str:
    """``?lang=en`` wins, then the ``zf_lang`` cookie, then German."""
    lang = request.query_params.get("lang") or request.cookies.get("zf_lang") or DEFAULT
    return lang if lang in LANGUAGES else DEFAULT
