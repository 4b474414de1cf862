"""An organisation's own settings: name, kind, office, contact address, Land, time zone, terms,
and whether a town shares its data with its district.

Owns the checks of every value and the one function that changes them. Raises errors with
a code and parameters, never a sentence: the page, the API and the CLI pick the words.
Never commits; the caller owns the transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, get_args
from zoneinfo import available_timezones

from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation
from workflow.config import Bundesland
from workflow.terms import COUNCIL_TERMS, UNIT_TERMS

# In the order the page, the API and ``zielflow org show`` present them.
FIELDS = (
    "name",
    "kind",
    "office_name",
    "office_address",
    "contact_email",
    "state",
    "timezone",
    "unit_term",
    "council_term",
    "shares_with_district",
)
KINDS = ("city", "district", "town")
LAENDER: tuple[str, ...] = get_args(Bundesland)
# The columns' sizes (workflow/catalogue/models.py).
LIMITS = {"name": 200, "office_name": 200, "office_address": 500, "contact_email": 320}
REQUIRED = ("name", "office_name")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Line breaks belong in a postal address; every other control character belongs nowhere.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ufffe\uffff]")
_CONTROL_IN_ADDRESS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
# The words the organisation uses (workflow/terms.py); "" as council term means "by kind".
_TERMS = ("unit_term", "council_term")
# Yes/no settings: stored as booleans, shown and typed as "yes" or "no" (German words accepted
# too, since the page and the shell are German first).
_CHOICES = ("shares_with_district",)
YES, NO = "yes", "no"
_YES_NO = {"yes": YES, "ja": YES, "true": YES, "1": YES, "no": NO, "nein": NO, "false": NO, "0": NO}


@dataclass(frozen=True)
class Problem:
    """One refused value: ``code`` names the rule, ``params`` fill the edge's sentence."""

    setting: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)


class SettingsInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(", ".join(f"{p.setting}:{p.code}" for p in problems))


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def current(org: Organisation) -> dict[str, str]:
    """The settings as plain values, in ``FIELDS`` order."""
    return {name: _shown(name, getattr(org, name)) for name in FIELDS}


def _shown(name: str, value: object) -> str:
    if name in _CHOICES:
        return YES if value else NO
    return str(value)


def check(changes: Mapping[str, str | None]) -> dict[str, str]:
    """The normalised values of ``changes`` (None means "leave as is"); raises SettingsInvalid
    with every problem at once. Pure."""
    clean: dict[str, str] = {}
    problems: list[Problem] = []
    for name, raw in changes.items():
        if raw is None:
            continue
        if name not in FIELDS:
            problems.append(Problem(name, "unknown_setting"))
            continue
        value, problem = _one(name, raw)
        if problem is not None:
            problems.append(problem)
        else:
            clean[name] = value
    if problems:
        raise SettingsInvalid(problems)
    return clean


def _one(name: str, raw: str) -> tuple[str, Problem | None]:
    value = _normalise_address(raw) if name == "office_address" else raw.strip()
    pattern = _CONTROL_IN_ADDRESS if name == "office_address" else _CONTROL
    if pattern.search(value):
        return value, Problem(name, "control_character")
    if name in REQUIRED and not value:
        return value, Problem(name, "required")
    limit = LIMITS.get(name)
    if limit is not None and len(value) > limit:
        return value, Problem(name, "too_long", {"limit": limit, "length": len(value)})
    if name in _CHOICES:
        choice = _YES_NO.get(value.lower())
        if choice is None:
            return value, Problem(name, "unknown_choice", {"value": value, "allowed": "yes, no"})
        return choice, None
    if name == "kind" and value.lower() not in KINDS:
        return value, Problem(name, "unknown_kind", {"value": value, "allowed": ", ".join(KINDS)})
    if name == "contact_email":
        value = value.lower()
        if value and not _EMAIL.match(value):
            return value, Problem(name, "invalid_email", {"value": value})
    if name == "state" and value.upper() not in LAENDER:
        return value, Problem(
            name, "unknown_state", {"value": value, "allowed": ", ".join(LAENDER)}
        )
    if name == "timezone" and value not in time_zones():
        return value, Problem(name, "unknown_timezone", {"value": value})
    if name == "unit_term" and value.lower() not in UNIT_TERMS:
        return value, Problem(
            name, "unknown_unit_term", {"value": value, "allowed": ", ".join(UNIT_TERMS)}
        )
    if name == "council_term" and value.lower() not in COUNCIL_TERMS:
        listed = ", ".join(term for term in COUNCIL_TERMS if term)
        return value, Problem(name, "unknown_council_term", {"value": value, "allowed": listed})
    if name == "state":
        return value.upper(), None
    return (value.lower() if name == "kind" or name in _TERMS else value), None


def _normalise_address(raw: str) -> str:
    """Each line trimmed, empty lines dropped, line breaks as ``\\n``."""
    lines = [line.strip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(line for line in lines if line)


def update_settings(
    *, session: Session, organisation_id: int, changes: Mapping[str, str | None]
) -> Organisation:
    """Check ``changes`` and apply them all, or raise SettingsInvalid and change nothing."""
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise LookupError(organisation_id)
    for name, value in check(changes).items():
        setattr(org, name, value == YES if name in _CHOICES else value)
    session.flush()
    return org


def address_line(org: Organisation) -> str:
    """The postal address on one line, as an email footer shows it."""
    return ", ".join(org.office_address.splitlines())
