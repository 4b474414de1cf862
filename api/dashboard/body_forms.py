"""Reading the bodies pages' forms: typed text kept for a second try, numbers, dates, lists.

Pure functions over Starlette's ``FormData``; a value that cannot be read is a ``BodyError``
(``invalid_number``, ``invalid_date``) like any other refusal, so the page words it the same.
"""

from __future__ import annotations

from datetime import date

from starlette.datastructures import FormData

from workflow.bodies.errors import BodyError
from workflow.bodies.models import Represents

MAX_TYPED = 500
BODY_FIELDS = ("name", "kind", "scope", "digest_cadence", "meetings_per_year")
MEMBER_FIELDS = (
    "name",
    "email",
    "salutation",
    "language",
    "represents",
    "represents_name",
    "represents_town",
    "role",
    "deputy_of",
    "joined_on",
)


def typed_values(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    """What was typed, cut to a sane length, to show again if the entry is refused."""
    return {k: str(form.get(k, ""))[:MAX_TYPED] for k in names}


def whole_number(text: str) -> int | None:
    """An optional whole number from a form; refused with ``invalid_number``."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 6:
        raise BodyError("invalid_number", value=text[:20])
    return int(text)


def day_of(text: str) -> date | None:
    """An optional date, as a date input sends it (JJJJ-MM-TT) or as typed (TT.MM.JJJJ)."""
    text = text.strip()
    if not text:
        return None
    for parse in (date.fromisoformat, lambda t: date(*map(int, reversed(t.split("."))))):
        try:
            day = parse(text)
        except (ValueError, TypeError):
            continue
        if date(1900, 1, 1) <= day <= date(2999, 12, 31):
            return day
    raise BodyError("invalid_date", value=text[:20])


def rules_from(form: FormData) -> dict[str, int]:
    """Composition rules from the ``rule_<represents>`` inputs; an empty input is no rule."""
    out = {}
    for r in Represents:
        minimum = whole_number(str(form.get(f"rule_{r.value}", ""))[:20])
        if minimum:
            out[r.value] = minimum
    return out


def field_ids_from(form: FormData) -> list[int]:
    """The ticked fields (Handlungsfelder)."""
    ids = []
    for raw in form.getlist("field_ids")[:200]:
        value = whole_number(str(raw)[:20])
        if value is not None:
            ids.append(value)
    return ids


def field_ids_as_typed(form: FormData) -> list[int]:
    """The ticked fields to show again; nothing if they cannot be read."""
    try:
        return field_ids_from(form)
    except BodyError:
        return []
