"""The one error type of the bodies package: a code and its parameters, never a sentence.

Bodies, members and their meetings (workflow/meetings/: planning, agenda, guests, attendance,
minutes) share it. The edges (API, pages, CLI) turn ``code`` and ``params`` into a sentence
in the reader's language (api/body_text.py, the ``bodies.error.*`` keys); tests compare
codes, not wording.
"""

from __future__ import annotations

# Rows an address names (a body, a member, a meeting, a guest): missing is "not found" (404).
# Any other "_not_found" names a reference in what was sent (a field, a user account, an agenda
# item …): the request is wrong, not its address (422), as the catalogue's references are.
ADDRESSED = frozenset(
    {"body_not_found", "member_not_found", "meeting_not_found", "guest_not_found"}
)


class BodyError(Exception):
    """A refused request about bodies, members or meetings, e.g. ``BodyError("body_name_taken",
    name=…)`` or ``BodyError("meeting_day_taken", body=…, on=…)``."""

    sent = False  # the missing row was named in what was sent, not in the address

    def __init__(self, code: str, **params: str) -> None:
        self.code = code
        self.params = params
        super().__init__(code, params)

    @property
    def not_found(self) -> bool:
        return self.code in ADDRESSED and not self.sent


def missing_in_request(code: str, **params: str) -> BodyError:
    """A member or guest named in what was sent (an attendance list) that the meeting lacks."""
    error = BodyError(code, **params)
    error.sent = True
    return error
