"""The one refusal of the conference services: a code and parameters, never a sentence.

Worded in api/locales/conference.*.json under ``conference.error.<code>``, so the pages and
the command line say the same thing in the reader's language.
"""

from __future__ import annotations

from typing import Any


class ConferenceRefused(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(code)
