"""Which messages a move causes: decided on (previous, current) state, kept out of the machine."""

from __future__ import annotations

import logging
from datetime import datetime

from notifications.outbox import Draft
from workflow.cycles.locked_stay import LockedStay
from workflow.cycles.models import MeasureCycle
from workflow.machine import Event, State

log = logging.getLogger(__name__)


def item_context(mc: MeasureCycle | LockedStay) -> dict[str, object]:
    """What a template needs to name one measure; read once, when the message is queued."""
    measure = mc.measure
    return {
        "measure_cycle_id": mc.id,
        "cycle_id": mc.cycle_id,
        "measure_code": measure.code,
        "measure_title": measure.title,
        "goal_code": measure.goal.code,
        "goal_name": measure.goal.name,
        "field_code": measure.goal.field.code,
        "field_name": measure.goal.field.name,
        "state": mc.state,
        "due_on": mc.due_on.isoformat() if mc.due_on else None,
    }


def _to_contact(
    mc: MeasureCycle | LockedStay, kind: str, step: int = 0, **extra: object
) -> list[Draft]:
    contact = mc.measure.contact
    if contact is None:
        log.warning("measure %s has no contact; %s not queued", mc.measure.code, kind)
        return []
    return [
        Draft(
            organisation_id=mc.organisation_id,
            dedupe_key=f"mc:{mc.id}:{mc.stay}:{kind}:{step}",
            kind=kind,
            recipient_email=contact.email,
            recipient_name=contact.name,
            language=contact.language,
            measure_cycle_id=mc.id,
            context={**item_context(mc), "contact_id": contact.id, **extra},
        )
    ]


def messages_for_move(
    previous: State | None,
    current: State,
    event: Event | None,
    mc: MeasureCycle | LockedStay,
    *,
    now: datetime,
) -> list[Draft]:
    match (previous, current):
        case (_, State.TARGET_AGREEMENT) if previous is not current:
            return _to_contact(mc, "invitation_agreement")
        case (_, State.REVIEW) if previous is not current:
            return _to_contact(mc, "review_request")
        case (State.TARGET_AGREEMENT, State.IMPLEMENTATION):
            return _to_contact(mc, "confirmation_agreement")
        case (State.REVIEW, State.ASSESSMENT):
            return _to_contact(mc, "confirmation_review")
        case (same, other) if same is other and event is Event.EXTEND_DEADLINE:
            return _to_contact(mc, "deadline_extended")
        case _:
            return []
