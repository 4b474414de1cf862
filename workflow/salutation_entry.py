"""Reading a salutation as a person entered it ("Frau", "herr", empty) into its stored code.

Owns only the reading and the catalogue file's spelling; the codes themselves are
``workflow.salutation.SALUTATIONS`` and the greeting built from them lives there. Pure: never
reads the database, never guesses a salutation from a name.
"""

from __future__ import annotations

from workflow.salutation import SALUTATIONS

# How a catalogue file writes each code (and reads it back, in any case).
FILE_WORDS = {"": "", "frau": "Frau", "herr": "Herr"}


def salutation_code(text: str) -> str | None:
    """The stored code of what was entered ("Frau " → "frau", "" → ""), None if it is none."""
    code = text.strip().casefold()
    return code if code in SALUTATIONS else None


def file_word(code: str) -> str:
    """The catalogue file's word for a stored code ("frau" → "Frau")."""
    return FILE_WORDS.get(code, "")
