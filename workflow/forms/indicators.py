"""Extension point: which indicator values (Kennzahlen) a measure's form asks for. Read-only lookup.

``indicator_slots`` returns one ``IndicatorSlot`` per active indicator linked to the
measure; the forms render, validate and store the values under the slot's key
(``TargetAgreement.indicator_targets`` in the target agreement, ``Review.indicator_values``
in the review). The key is ``i<indicator id>``, stable when the indicator's code changes.
This module must never invent slots that the catalogue does not define.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.cycles.models import MeasureCycle
from workflow.indicators.mail import format_date, format_number, unit_label
from workflow.indicators.models import Indicator, IndicatorValue, Unit, indicator_measure


class SlotKind(StrEnum):
    NUMBER = "number"
    TEXT = "text"


@dataclass(frozen=True)
class IndicatorSlot:
    """One indicator value to ask for; ``key`` is stable and is what the answers store."""

    key: str
    label: str
    unit: str = ""
    kind: SlotKind = SlotKind.NUMBER
    hint: str = ""
    unit_code: str = ""  # the indicator's ``Unit``: what range a typed number must lie in


def indicator_slots(session: Session, mc: MeasureCycle) -> list[IndicatorSlot]:
    """The active indicators of ``mc``'s measure, by code, with the last city-wide value as hint."""
    indicators = session.scalars(
        select(Indicator)
        .join(indicator_measure, indicator_measure.c.indicator_id == Indicator.id)
        .where(indicator_measure.c.measure_id == mc.measure_id, Indicator.active.is_(True))
        .order_by(Indicator.code)
    ).all()
    slots = []
    for indicator in indicators:
        last = session.scalars(
            select(IndicatorValue)
            .where(
                IndicatorValue.indicator_id == indicator.id,
                IndicatorValue.district == "",
                IndicatorValue.cell == "",
            )
            .order_by(IndicatorValue.survey_date.desc())
            .limit(1)
        ).first()
        hint = ""
        if last is not None and last.value is not None:
            shown = format_number(last.value, indicator.unit, "de")
            hint = f"Zuletzt: {shown} (Erhebung {format_date(last.survey_date, 'de')})"
        text = indicator.unit == Unit.TEXT
        slots.append(
            IndicatorSlot(
                key=f"i{indicator.id}",
                label=f"{indicator.code}: {indicator.statement}",
                unit="" if text else unit_label(indicator.unit, "de"),
                kind=SlotKind.TEXT if text else SlotKind.NUMBER,
                hint=hint,
                unit_code=indicator.unit,
            )
        )
    return slots
