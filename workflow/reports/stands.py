"""The Jahresbericht's "Stand der Umsetzung": how many of the cycle's measures stand where.

Counts each measure the cycle's views show (its own stays and the open ones of earlier
cycles, ``in_view_of``) once, by its latest status on the report date
(``workflow.status_checks.latest``); "" counts those without any statement. Reads only.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.cycles.models import Cycle, MeasureCycle
from workflow.cycles.queries import in_view_of
from workflow.status_checks.latest import STANDS, latest_statuses

NO_STATEMENT = ""


def stand_counts(session: Session, *, cycle: Cycle, day: date) -> tuple[tuple[str, int], ...]:
    """(stand, n) for every stand in reading order, then ("", n) for "ohne Angabe"."""
    ids = sorted(set(session.scalars(select(MeasureCycle.measure_id).where(in_view_of(cycle.id)))))
    latest = latest_statuses(
        session, organisation_id=cycle.organisation_id, today=day, measure_ids=ids
    )
    seen = Counter(latest[i].stand if i in latest else NO_STATEMENT for i in ids)
    return tuple((s, seen.get(s, 0)) for s in (*STANDS, NO_STATEMENT))


# The Jahresbericht is German only (as every report of ``workflow.reports.html``).
STAND_DE = {
    "on_track": "im Plan",
    "delayed": "verzögert",
    "at_risk": "gefährdet",
    "done": "abgeschlossen",
    NO_STATEMENT: "ohne Angabe",
}
