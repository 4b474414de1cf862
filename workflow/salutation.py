"""The opening line of a letter to one person: "Sehr geehrte Frau Demir," or "Guten Tag,".

Owns the salutation values a contact or body member may carry and the greeting built from
them. Pure: it never reads the database and never guesses a salutation from a name, so a
function address ("Amtsleitung Sozialamt") or an unknown person gets the neutral form.

The surname keeps its particles ("Frau von der Leyen", not "Frau Leyen") and a double name
stays whole; "Dr." and "Prof." written in the name are greeted with ("Frau Dr. Demir").
"""

from __future__ import annotations

import re

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


# Lower-case words that belong to the surname when they stand before it ("von der Leyen").
# "und" only counts between two of them ("von und zu Guttenberg").
_PARTICLES = frozenset({"von", "van", "de", "der", "den", "zu", "vom", "zur", "zum", "und"})
_TITLES = {"dr.": "Dr.", "prof.": "Prof."}
# How an English letter writes the highest title: "Dear Professor Weber", "Dear Dr Weber".
_TITLES_EN = (("Prof.", "Professor"), ("Dr.", "Dr"))


def greeting(*, salutation: str, name: str, lang: str) -> str:
    """The greeting line in ``lang`` (German for anything but "en")."""
    language = "en" if lang == "en" else "de"
    forms = _FORMS[language]
    key = salutation.strip().lower()
    titles, surname = split_name(name)
    if key not in forms or not surname:
        return forms[""]
    if language == "en" and titles:
        title = next(en for de, en in _TITLES_EN if de in titles)
        return f"Dear {title} {surname},"
    return forms[key].format(surname=" ".join([*titles, surname]))


def split_name(name: str) -> tuple[list[str], str]:
    """The academic titles and the surname of a written name; "" if it names no surname.

    "Dr. med. Anna von Berg" -> (["Dr."], "von Berg"). Faculty abbreviations after a title
    ("med.", "rer. nat.") are left out, as a greeting leaves them out.
    """
    # "Müller - Lüdenscheidt" is one double name, however it was typed.
    words = re.sub(r"\s*-\s*", "-", name).split()
    titles = [_TITLES[w.lower()] for w in words if w.lower() in _TITLES]
    rest = [w for w in words if w.lower() not in _TITLES and not _is_faculty(w)]
    if not rest or _is_particle(rest[-1], first=True):  # "Herr von" names nobody
        return titles, ""
    start = len(rest) - 1
    while start > 0 and _is_particle(rest[start - 1], first=start - 1 == 0):
        start -= 1
    while rest[start].lower() == "und":  # "und" never begins a surname
        start += 1
    return titles, " ".join(rest[start:])


def _is_particle(word: str, *, first: bool) -> bool:
    # A capitalised "Van" is a particle in Belgian spelling, but as the first word it is the
    # given name: a given name is never written in lower case.
    return word.lower() in _PARTICLES and (word.islower() or not first)


def _is_faculty(word: str) -> bool:
    # "med.", "rer. nat.": a name's other words are never lower case and never end in a dot.
    return word.islower() and word.endswith(".") and word.lower() not in _TITLES
