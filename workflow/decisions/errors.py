"""The one error type of the decisions register: a code and its parameters, never a sentence.

The edges (API, pages) turn ``code`` and ``params`` into a sentence in the reader's language
(api/decision_text.py); ``field`` names the input the refusal is about, so a form can show
the sentence next to it. Tests compare codes, not wording.
"""

from __future__ import annotations

# Which input each refusal is about; a code not listed here is about the whole entry.
FIELD_OF: dict[str, str] = {
    "unknown_kind": "kind",
    "text_required": "text",
    "text_too_long": "text",
    "agenda_item_not_found": "agenda_item_id",
    "unknown_action": "action",
    "measure_cycle_required": "measure_cycle_id",
    "measure_cycle_not_found": "measure_cycle_id",
    "measure_required": "measure_cycle_id",
    "measure_not_found": "measure_cycle_id",
    "move_refused": "measure_cycle_id",
    "rank_invalid": "action_value",
    "unknown_addressee": "addressee",
    "department_required": "department_id",
    "department_not_found": "department_id",
    "contact_required": "contact_id",
    "contact_not_found": "contact_id",
    "due_required": "due_on",
    "due_invalid": "due_on",
    "due_not_in_future": "due_on",
    "unknown_status": "status",
    "title_invalid": "title",
    "goal_not_found": "goal_id",
}


class DecisionError(Exception):
    """A refused request about a decision, e.g. ``DecisionError("contact_required")``."""

    def __init__(self, code: str, **params: str) -> None:
        self.code = code
        self.params = params
        super().__init__(code, params)

    @property
    def not_found(self) -> bool:
        """Only the decision or its meeting missing is a 404; a missing reference is a 422."""
        return self.code in ("decision_not_found", "meeting_not_found")

    @property
    def field(self) -> str | None:
        """The input to show the sentence at: ``input=`` if the refusal names one."""
        return self.params.get("input") or FIELD_OF.get(self.code)
