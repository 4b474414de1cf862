"""Looks up the business calendar and deadline policy that apply to a measure-in-cycle."""

from __future__ import annotations

from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.deadlines import BusinessCalendar, DeadlinePolicy


def calendar_of(org: Organisation) -> BusinessCalendar:
    return BusinessCalendar(state=org.state, timezone=org.timezone)


def calendar_and_policy(
    session: Session, mc: MeasureCycle
) -> tuple[BusinessCalendar, DeadlinePolicy]:
    cycle = session.get(Cycle, mc.cycle_id)
    org = session.get(Organisation, mc.organisation_id)
    assert cycle is not None and org is not None
    return calendar_of(org), DeadlinePolicy.model_validate(cycle.policy)
