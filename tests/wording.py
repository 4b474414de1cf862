"""The words a German reader must not meet, shared by every wording test.

English jargon, colloquial phrases, bracket plurals and the second word where the product
picked one word per thing (``streichen`` not ``verwerfen``, ``Ansprechperson`` not
``Kontaktperson``). Matching is on whole words; the English catalogue is not checked.
"""

from __future__ import annotations

import re

FORBIDDEN_WORDS = (
    "Pipeline",
    "Review",
    "Reviews",
    "Digest",
    "Digests",
    "Dashboard",
    "Mail-Senke",
    "Outbox",
    "Workflow",
    "Feedback",
    "Deadline",
    "Token",
    "Tokens",
    "Status-Check",
    "Kontaktperson",
    "verwerfen",
    "verworfen",
    "Verwerfen",
    "geklappt",
    "klappt",
    "schiefgegangen",
    "vertippt",
)
_WORDS = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, FORBIDDEN_WORDS)) + r")(?!\w)")
# "Maßnahme(n)", "Angabe(n)", "Tag(e)": a plural in brackets instead of the right form.
_BRACKET_PLURAL = re.compile(r"\w\((n|en|e|s|er)\)(?!\w)")


def offences(text: str) -> list[str]:
    """Every forbidden word and bracket plural in ``text``, in order of appearance."""
    found = [m.group(0) for m in _WORDS.finditer(text)]
    found += [m.group(0) for m in _BRACKET_PLURAL.finditer(text)]
    return found
