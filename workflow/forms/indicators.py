"""Extension point: which indicator values (Kennzahlen) a measure's form asks for. Pure lookup.

There is no indicator model yet, so ``indicator_slots`` returns no slots and the forms show
no indicator fields. When the indicator feature lands, it returns one ``IndicatorSlot`` per
indicator of the measure; the forms then render, validate and store the values under the
slot's key (``TargetAgreement.indicator_targets`` / ``Review.indicator_values``) without
further changes. This module must never invent slots that the catalogue does not define.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from workflow.cycles.models import MeasureCycle


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


def indicator_slots(session: Session, mc: MeasureCycle) -> list[IndicatorSlot]:
    """The indicators of ``mc``'s measure; none until the indicator model exists."""
    return []
