"""The stays' copy of their measure's code (revision 0014), compared and set right.

Triggers keep the copy on every write (``measure_cycle.measure_code``); a write that bypasses
them, such as a data-only restore with triggers disabled, leaves it behind, and the list would
then sort and page by a code the measure no longer has. ``zielflow db check`` names such stays;
``--repair`` copies the measure's code again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workflow.catalogue.models import Measure
from workflow.cycles.models import MeasureCycle

# The check lists at most this many stays by name; the count is always complete.
SHOWN = 20


@dataclass(frozen=True)
class StaleCopy:
    measure_cycle_id: int
    copied: str | None
    code: str


def stale_copies(session: Session) -> list[StaleCopy]:
    """Every stay whose copy differs from its measure's code, by id."""
    rows = session.execute(
        select(MeasureCycle.id, MeasureCycle.measure_code, Measure.code)
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .where(MeasureCycle.measure_code.is_distinct_from(Measure.code))
        .order_by(MeasureCycle.id)
    )
    return [StaleCopy(row.id, row.measure_code, row.code) for row in rows]


def repair_copies(session: Session) -> int:
    """Copy each measure's code to its stays where it differs; returns how many were set."""
    code = select(Measure.code).where(Measure.id == MeasureCycle.measure_id).scalar_subquery()
    result = session.execute(
        update(MeasureCycle)
        .where(MeasureCycle.measure_code.is_distinct_from(code))
        .values(measure_code=code)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
