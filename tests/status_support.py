"""Builders of status-check answers and milestones as rows, for tests of the views that show them.

The views read only the tables; these builders write them directly, so the views' tests do
not depend on how the form or the milestone sync fills them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from workflow.catalogue.models import Measure
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.milestones.models import Milestone, MilestoneStatus
from workflow.status_checks.models import StatusCheck, StatusCheckItem, StatusCheckRequest

_SEQ = iter(range(1, 10**6))


def cycle(session: Session, organisation_id: int, year: int, *, grace_days: int = 14) -> Cycle:
    row = Cycle(
        organisation_id=organisation_id,
        year=year,
        starts_on=date(year, 1, 1),
        ends_on=date(year, 12, 31),
        opened_at=datetime(year, 1, 2, 8, tzinfo=UTC),
        policy={"milestone_grace_days": grace_days},
    )
    session.add(row)
    session.flush()
    return row


def stay(
    session: Session, measure: Measure, cycle_row: Cycle, state: str = "implementation"
) -> MeasureCycle:
    row = MeasureCycle(
        organisation_id=measure.organisation_id,
        cycle_id=cycle_row.id,
        measure_id=measure.id,
        state=state,
        entered_state_at=cycle_row.opened_at,
        due_on=None,
        next_action_at=None,
    )
    session.add(row)
    session.flush()
    return row


def answer(
    session: Session,
    *,
    measure: Measure,
    cycle_id: int,
    stand: str,
    at: datetime,
    note: str = "",
    by: str = "",
    measure_cycle_id: int | None = None,
) -> StatusCheckItem:
    """One answered item in a check and request of its own (``at`` is UTC)."""
    assert measure.contact_id is not None
    check = StatusCheck(
        organisation_id=measure.organisation_id,
        cycle_id=cycle_id,
        dedupe_key=f"manual:test-{next(_SEQ)}",
        due_on=at.date() + timedelta(days=14),
        created_at=at - timedelta(days=7),
        created_by="cli:test",
    )
    session.add(check)
    session.flush()
    request = StatusCheckRequest(
        organisation_id=measure.organisation_id,
        status_check_id=check.id,
        contact_id=measure.contact_id,
        opened_at=check.created_at,
        due_on=check.due_on,
        answered_at=at,
        answered_by=by or f"contact:{measure.contact_id}",
    )
    session.add(request)
    session.flush()
    item = StatusCheckItem(
        organisation_id=measure.organisation_id,
        status_check_id=check.id,
        request_id=request.id,
        measure_id=measure.id,
        measure_cycle_id=measure_cycle_id,
        stand=stand,
        note=note,
        answered_at=at,
        answered_by=by or f"contact:{measure.contact_id}",
        revision=1,
    )
    session.add(item)
    session.flush()
    return item


def milestone(
    session: Session,
    mc: MeasureCycle,
    due_on: date,
    *,
    text: str = "Konzept liegt vor",
    status: MilestoneStatus = MilestoneStatus.OPEN,
    position: int | None = None,
) -> Milestone:
    row = Milestone(
        organisation_id=mc.organisation_id,
        measure_cycle_id=mc.id,
        measure_id=mc.measure_id,
        position=next(_SEQ) if position is None else position,
        text=text,
        planned_on=due_on,
        due_on=due_on,
        status=status.value,
    )
    session.add(row)
    session.flush()
    return row
