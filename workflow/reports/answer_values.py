"""What a stored answer says, in words a person reads: actors by name, milestones and
indicator values with dates as 31.12.2027 and numbers as 29,7.

Shared by the measure page and the answers export. Reads only rows of the given
organisation; never writes, and never shows an internal code such as ``contact:3`` or
``i3`` when it can name what it stands for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.accounts import User
from workflow.catalogue.models import Contact
from workflow.forms.validation import MAX_MAGNITUDE, parse_date
from workflow.indicators.mail import unit_label
from workflow.indicators.models import Indicator, Unit

_PREFIXES: dict[str, type[User] | type[Contact]] = {"user:": User, "contact:": Contact}
_SIGNS = {Unit.PERCENT.value: "%", Unit.CURRENCY.value: "€"}


@dataclass(frozen=True)
class IndicatorLine:
    """One indicator value of an answer: "K1: Anteil … (Prozent)" and "29,7 %"."""

    label: str
    value: str


def _ids(actors: Iterable[str], prefix: str) -> set[int]:
    digits = (a.removeprefix(prefix) for a in actors if a.startswith(prefix))
    return {int(d) for d in digits if d.isdigit() and len(d) <= 9}


def actor_names(session: Session, *, organisation_id: int, actors: Iterable[str]) -> dict[str, str]:
    """``user:<id>`` → the user's name (else email), ``contact:<id>`` → the contact's name."""
    actors = list(actors)
    out: dict[str, str] = {}
    for prefix, model in _PREFIXES.items():
        ids = _ids(actors, prefix)
        if not ids:
            continue
        rows = session.execute(
            select(model.id, model.name, model.email).where(
                model.id.in_(ids), model.organisation_id == organisation_id
            )
        ).all()
        out |= {f"{prefix}{i}": (name or email) for i, name, email in rows}
    return out


def milestone_lines(items: Sequence[Mapping[str, Any]] | None) -> list[tuple[str, str]]:
    """(date as 31.12.2027, what) per milestone; a date the form could not read stays as typed."""
    out = []
    for item in items or []:
        what = str(item.get("text") or "").strip()
        raw = str(item.get("date") or "").strip()
        day = parse_date(raw) if raw else None
        out.append((f"{day:%d.%m.%Y}" if day else raw, what))
    return [(due, what) for due, what in out if due or what]


def _number(raw: object, unit: str, lang: str) -> str | None:
    """The value as the reader's notation, rounded by the unit; None if it is no usable number."""
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        return None
    # Such values came in before the forms checked ranges; as a float they read "inf".
    if not number.is_finite() or abs(number) > MAX_MAGNITUDE:
        return None
    # Rounded half-up from the stored decimal, as people round by hand (31,25 → 31,3).
    places = {Unit.COUNT: 0, Unit.PERCENT: 1}.get(Unit(unit), 2)
    text = f"{number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):,.{places}f}"
    if lang != "en":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return f"{text} {_SIGNS[unit]}" if unit in _SIGNS else text


def indicator_lines(
    session: Session,
    *,
    organisation_id: int,
    values: Mapping[str, Any] | None,
    lang: str,
    invalid: str,
) -> list[IndicatorLine]:
    """Each ``i<id>`` value with its indicator's code, statement and unit, by code.

    ``invalid`` is what a value shows that is no usable number (the edge picks the words).
    """
    values = values or {}
    ids = {int(k[1:]) for k in values if k.startswith("i") and k[1:].isdigit() and len(k) <= 10}
    indicators = {
        f"i{ind.id}": ind
        for ind in session.scalars(
            select(Indicator).where(
                Indicator.id.in_(ids), Indicator.organisation_id == organisation_id
            )
        )
    }
    out: list[tuple[str, IndicatorLine]] = []
    for key, raw in values.items():
        ind = indicators.get(key)
        if ind is None:
            # An indicator deleted or of another organisation: the value without a name.
            out.append((key, IndicatorLine(key, str(raw))))
            continue
        if ind.unit == Unit.TEXT:
            out.append((ind.code, IndicatorLine(f"{ind.code}: {ind.statement}", str(raw))))
            continue
        label = f"{ind.code}: {ind.statement} ({unit_label(ind.unit, lang)})"
        out.append((ind.code, IndicatorLine(label, _number(raw, ind.unit, lang) or invalid)))
    return [line for _, line in sorted(out, key=lambda pair: pair[0])]
