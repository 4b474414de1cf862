"""The words an organisation uses for its own parts: Fachbereich or Amt, its area, its council.

Owns the mapping from an organisation's settings (``unit_term``, ``council_term``, ``kind``,
``office_name``) to the nouns that pages, emails and reports print, and the safe filling of
``{unit}``, ``{units}``, ``{area}``, ``{council}`` and ``{office}`` into a text. Pure: reads
no database and never decides which organisation is meant; the caller hands it over.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from workflow.catalogue.models import DEFAULT_OFFICE_NAME, Organisation

UNIT_TERMS = ("fachbereich", "amt")
# "" lets the organisation's kind decide (see ``council_key``).
COUNCIL_TERMS = ("", "rat", "gemeinderat", "stadtrat", "kreistag")
PLACEHOLDERS = ("unit", "units", "area", "council", "office")

_UNITS = {
    "de": {
        "fachbereich": ("Fachbereich", "Fachbereiche", "Fachbereichs"),
        "amt": ("Amt", "Ämter", "Amtes"),
    },
    "en": {
        "fachbereich": ("department", "departments", "department's"),
        "amt": ("department", "departments", "department's"),
    },
}
_AREAS = {
    "de": {"city": "Gesamtstadt", "district": "Kreisgebiet", "town": "Gemeindegebiet"},
    "en": {"city": "whole city", "district": "district area", "town": "municipal area"},
}
_COUNCILS = {
    "de": {
        "rat": "Rat",
        "gemeinderat": "Gemeinderat",
        "stadtrat": "Stadtrat",
        "kreistag": "Kreistag",
    },
    "en": {
        "rat": "council",
        "gemeinderat": "council",
        "stadtrat": "council",
        "kreistag": "district council (Kreistag)",
    },
}
# Only a known name in single braces; anything else with braces (CSS, JSON, a typed "{x}")
# stays as it is.
_PATTERN = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


@dataclass(frozen=True)
class Terms:
    unit: str
    units: str
    unit_genitive: str
    area: str
    council: str
    office: str


def council_by_kind(kind: str) -> str:
    """The council of an organisation that chose none: Kreistag for a district, else Rat."""
    return "kreistag" if kind == "district" else "rat"


def council_key(org: Organisation | None) -> str:
    """The council term in effect: the setting, else the one of the organisation's kind."""
    chosen = (org.council_term if org is not None else "") or ""
    if chosen in _COUNCILS["de"]:
        return chosen
    return council_by_kind(org.kind if org is not None else "city")


def terms_for(org: Organisation | None, lang: str) -> Terms:
    """The words of ``org`` in ``lang`` (German for anything but "en"); None gives the defaults."""
    words = "en" if lang == "en" else "de"
    unit_key = org.unit_term if org is not None and org.unit_term in UNIT_TERMS else "fachbereich"
    unit, units, genitive = _UNITS[words][unit_key]
    kind = org.kind if org is not None else "city"
    office = (org.office_name if org is not None else "") or DEFAULT_OFFICE_NAME
    return Terms(
        unit=unit,
        units=units,
        unit_genitive=genitive,
        area=_AREAS[words].get(kind, _AREAS[words]["city"]),
        council=_COUNCILS[words][council_key(org)],
        office=office,
    )


def placeholders(terms: Terms) -> dict[str, str]:
    """The values of ``{unit}``, ``{units}``, ``{area}``, ``{council}`` and ``{office}``."""
    return {
        "unit": terms.unit,
        "units": terms.units,
        "area": terms.area,
        "council": terms.council,
        "office": terms.office,
    }


def words_by_language(
    org: Organisation | None, languages: tuple[str, ...] = ("de", "en")
) -> dict[str, dict[str, str]]:
    """The placeholders' values of ``org`` in each language, for a renderer to carry along."""
    return {lang: placeholders(terms_for(org, lang)) for lang in languages}


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each known placeholder replaced; other braces are left untouched."""
    return _PATTERN.sub(lambda m: values.get(m.group(1), m.group(0)), text)
