"""The opening line of a letter to one person: "Sehr geehrte Frau Demir," or "Guten Tag,".

Owns the salutation values a contact or body member may carry and the greeting built from
them. Pure: it never reads the database and never guesses a salutation from a name, so a
function address ("Amtsleitung Sozialamt") or an unknown person gets the neutral form.
"""

from __future__ import annotations

# "" means none given (a function address, or a person who prefers no salutation).
SALUTATIONS = ("", "frau", "herr")

_FORMS = {
    "de": {
        "frau": "Sehr geehrte Frau {surname},",
        "herr": "Sehr geehrter Herr {surname},",
        "": "Guten Tag,",
    },
    "en": {
        "frau": "Dear Ms {surname},",
        "herr": "Dear Mr {surname},",
        "": "Hello,",
    },
}


def greeting(*, salutation: str, name: str, lang: str) -> str:
    """The greeting line in ``lang`` (German for anything but "en")."""
    forms = _FORMS["en" if lang == "en" else "de"]
    words = name.split()
    key = salutation.strip().lower()
    if key not in forms or not words:
        return forms[""]
    return forms[key].format(surname=words[-1])
