"""The one error type of the bodies package: a code and its parameters, never a sentence.

Bodies, members and their meetings (workflow/meetings/: planning, agenda, guests, attendance,
minutes) share it. The edges (API, pages, CLI) turn ``code`` and ``params`` into a sentence
in the reader's language (api/body_text.py, the ``bodies.error.*`` keys); tests compare
codes, not wording.
"""

from __future__ import annotations


class BodyError(Exception):
    """A refused request about bodies, members or meetings, e.g. ``BodyError("body_name_taken",
    name=…)`` or ``BodyError("meeting_day_taken", body=…, on=…)``."""

    def __init__(self, code: str, **params: str) -> None:
        self.code = code
        self.params = params
        super().__init__(code, params)

    @property
    def not_found(self) -> bool:
        return self.code.endswith("_not_found")
