"""Which dashboard page a coordinator's email points at, so that the link leads to the action.

A contact asking for a new form link: the page of one of their open measures, where
"Link neu ausstellen" sends a new link for all of them; for a data delivery, the indicator
page, where a reminder carries a fresh link. Reads the database; writes nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Contact, Measure
from workflow.cycles.models import MeasureCycle
from workflow.forms.tokens import Phase
from workflow.machine import State

OUTBOX_FAILED = "/postausgang?status=dead"
_STATE_OF_PHASE = {
    Phase.TARGET_AGREEMENT.value: State.TARGET_AGREEMENT.value,
    Phase.REVIEW.value: State.REVIEW.value,
}


def link_request_target(
    session: Session, *, contact_id: int, cycle_id: int | None, phase: str
) -> tuple[str, str]:
    """(what the coordinator does there, path): "measure", "data" or "pipeline"."""
    if phase == Phase.DATA_DELIVERY.value:
        return "data", "/kennzahlen"
    state = _STATE_OF_PHASE.get(phase)
    if cycle_id and state:
        # The contact's measures that still wait for this form. A colleague who was handed
        # the form owns no measures: their department's measures are the next best page.
        item = session.scalars(
            select(MeasureCycle.id)
            .join(Measure, Measure.id == MeasureCycle.measure_id)
            .where(
                MeasureCycle.cycle_id == cycle_id,
                MeasureCycle.state == state,
                Measure.contact_id == contact_id,
            )
            .order_by(Measure.code)
            .limit(1)
        ).first()
        if item is not None:
            return "measure", f"/massnahmen/{item}"
    contact = session.get(Contact, contact_id)
    if contact is not None and contact.department_id is not None:
        return "pipeline", f"/pipeline?department_id={contact.department_id}"
    return "pipeline", "/pipeline"
