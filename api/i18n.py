"""One translation mechanism for pages and emails: German first, English available.

Messages live in ``api/locales/<area>.<lang>.json`` (one file per area and language, so
areas do not collide); a key missing in English falls back to German, a key missing in
German is shown as the key itself, which a test catches. ``{unit}``, ``{units}``, ``{area}``,
``{council}`` and ``{office}`` take the words of the organisation in effect (``terms_in_effect``,
set while a page or email is rendered), else the default words (workflow/terms.py).
A counted noun has two keys, ``<key>.one`` and ``<key>.other`` (``translate_plural``), never
a bracket plural such as "Maßnahme(n)".
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from workflow.terms import fill, placeholders, terms_for, words_by_language

if TYPE_CHECKING:  # the command line reads its words here and needs no web framework
    from fastapi import Request

    from workflow.catalogue.models import Organisation

LOCALES = Path(__file__).parent / "locales"
LANGUAGES = ("de", "en")
DEFAULT = "de"
# The words of the organisation a page or email is rendered for, per language.
_WORDS: ContextVar[Mapping[str, Mapping[str, str]] | None] = ContextVar("zf_words", default=None)
# The language of the JSON API's reader (api.deps.organisation_words sets it per request).
_READER: ContextVar[str] = ContextVar("zf_reader", default=DEFAULT)


@lru_cache(maxsize=4)
def catalogue(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted(LOCALES.glob(f"*.{lang}.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


@contextmanager
def reader_in_effect(lang: str) -> Iterator[None]:
    """While inside, ``reader_language()`` is ``lang`` (German for anything unknown)."""
    token = _READER.set(lang if lang in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _READER.reset(token)


def reader_language() -> str:
    """The API reader's language for labels in JSON answers; German outside a request."""
    return _READER.get()


@contextmanager
def words_in_effect(words: Mapping[str, Mapping[str, str]]) -> Iterator[None]:
    """While inside, ``translate`` fills the term placeholders with ``words[lang]``."""
    token = _WORDS.set(words)
    try:
        yield
    finally:
        _WORDS.reset(token)


def terms_in_effect(org: Organisation | None) -> AbstractContextManager[None]:
    """While inside, ``translate`` fills the term placeholders with ``org``'s words."""
    return words_in_effect(words_by_language(org, LANGUAGES))


@lru_cache(maxsize=4)
def _default_words(lang: str) -> Mapping[str, str]:
    return placeholders(terms_for(None, lang))


def translate(key: str, lang: str = DEFAULT, **values: object) -> str:
    text = catalogue(lang).get(key) or catalogue(DEFAULT).get(key) or key
    in_effect = _WORDS.get()
    words = in_effect.get(lang, _default_words(lang)) if in_effect else _default_words(lang)
    # Without values only the known placeholders are touched, so literal braces stay.
    return text.format(**{**words, **values}) if values else fill(text, words)


def translate_plural(key: str, count: int, lang: str = DEFAULT, **values: object) -> str:
    """``key.one`` for exactly one, else ``key.other``, formatted with ``count`` and ``values``.

    German and English both have just these two forms; a language with more would add keys,
    not callers.
    """
    form = "one" if count == 1 else "other"
    return translate(f"{key}.{form}", lang, count=count, **values)


def language_of(request: Request) -> str:
    """``?lang=en`` wins, then the ``zf_lang`` cookie, then German."""
    lang = request.query_params.get("lang") or request.cookies.get("zf_lang") or DEFAULT
    return lang if lang in LANGUAGES else DEFAULT
