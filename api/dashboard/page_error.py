"""The error pages of the dashboard, worded in the reader's language with the organisation's words.

A raise site names a code of workflow/locales/errors.<lang>.json; the sentence is chosen when
the page is rendered (api/errors.py asks ``text`` for the page's language). ``{unit}``,
``{units}``, ``{area}``, ``{council}`` and ``{office}`` take the same words as the pages
(workflow/terms.py via ``words_by_language``), so "Amt" reads "Amt" on its error page too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.errors import ApiError
from workflow import messages
from workflow.catalogue.models import Organisation
from workflow.terms import placeholders, terms_for, words_by_language

Words = Mapping[str, Mapping[str, str]]


class PageError(ApiError):
    """An ``ApiError`` whose sentence may name the organisation's parts."""

    def __init__(
        self,
        status: int,
        code: str,
        reason: str,
        *,
        org: Organisation | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        # Both languages now: the page's language is known only when the answer is rendered,
        # and the organisation may no longer be loaded by then.
        self.words: Words | None = words_by_language(org, messages.LANGUAGES) if org else None
        params = params or {}
        german = _worded(reason, messages.DEFAULT, params, self.words)
        super().__init__(status, code, german, reason=reason, params=params)

    def text(self, lang: str, words: Words | None = None) -> str:
        """``words`` are those a handler found for the request; the organisation given here wins."""
        if self.reason is None:
            return self.message
        return _worded(self.reason, lang, self.params, self.words or words)


def _worded(reason: str, lang: str, params: Mapping[str, Any], words: Words | None) -> str:
    terms = (words or {}).get(lang) or placeholders(terms_for(None, lang))
    # The caller's parameters win over a term of the same name.
    return messages.message(reason, lang, **{**terms, **params})


def not_found(what: str, org: Organisation | None = None) -> PageError:
    """The 404 page of a row that is not there or not the reader's: ``page.not_found.<what>``.

    Never says which of the two: another organisation's rows stay unconfirmed.
    """
    return PageError(404, "not_found", f"page.not_found.{what}", org=org)
