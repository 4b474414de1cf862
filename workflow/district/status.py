"""Status counts of one organisation's measures for its district: the latest status of each.

The latest status is the one rule every view shows (workflow/status_checks/latest.py): the
newest status-check answer, or "delayed" after a missed milestone. The measures counted are
those the year's pipeline shows (``in_view_of``), so the counts match the pipeline counts.
Reads only.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation
from workflow.cycles.models import MeasureCycle
from workflow.cycles.queries import in_view_of
from workflow.status_checks.latest import STANDS, latest_statuses

# Counted apart from the stands: a measure with neither an answer nor a missed milestone.
NO_ANSWER = "none"


def measures_in_view(session: Session, cycle_id: int) -> list[int]:
    return list(
        session.scalars(select(MeasureCycle.measure_id).where(in_view_of(cycle_id)).distinct())
    )


def status_counts(
    session: Session, org: Organisation, cycle_id: int, today: date
) -> dict[str, int]:
    """Stand (or ``NO_ANSWER``) -> number of the cycle's measures with it."""
    measure_ids = measures_in_view(session, cycle_id)
    latest = latest_statuses(session, organisation_id=org.id, today=today, measure_ids=measure_ids)
    counts = {stand: 0 for stand in STANDS}
    for status in latest.values():
        counts[status.stand] = counts.get(status.stand, 0) + 1
    counts[NO_ANSWER] = len(measure_ids) - len(latest)
    return counts
