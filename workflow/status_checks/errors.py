"""The one refusal of the status-check core: a code and its parameters, never a sentence.

The edges (page, API, CLI, form) turn ``code`` and ``params`` into a sentence in the
reader's language; tests compare codes, not wording.

Codes: ``no_measures``, ``due_in_past``, ``due_too_far`` (more than 365 days ahead),
``unknown_field``, ``unknown_goal``, ``unknown_department``, ``unknown_measure`` (each with
``value``), ``no_cycle``, ``closed``, ``not_in_scope``, ``not_found`` (a check that does not
exist in the organisation; ``value``).
"""

from __future__ import annotations

from typing import Any

# Which input each refusal is about; a code not listed here is about the whole request.
FIELD_OF: dict[str, str] = {
    "due_in_past": "due_on",
    "due_too_far": "due_on",
    "unknown_field": "field",
    "unknown_goal": "goal",
    "unknown_department": "department",
    "unknown_measure": "measures",
    "no_cycle": "cycle",
}


class StatusCheckRefused(ValueError):
    """E.g. ``StatusCheckRefused("unknown_field", value="F9")``."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params: dict[str, Any] = params
        super().__init__(code, params)

    @property
    def field(self) -> str | None:
        """The input to show the sentence at, if the refusal is about one."""
        return FIELD_OF.get(self.code)
