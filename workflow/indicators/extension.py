"""Extending a data request: a new due date starts a new stay, as a measure's extension does.

The new date must lie after today (in the organisation's time zone) and at most three years
ahead; reminders and escalation start over from the new date's plan, the source contact gets
one ``data_deadline_extended`` email (with a fresh link, made when it is sent) and the audit
trail records who moved the date from when to when. Raises ``ExtensionRefused`` with a code
and parameters; the edge picks the sentence. Never commits.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from notifications.outbox import enqueue
from workflow.catalogue.models import Organisation
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import AuditEvent
from workflow.indicators.models import DataRequest, RequestStatus
from workflow.indicators.requests import extension_notice, policy_for, schedule_new

# Further out than this, a new due date is a typing error, not a plan (as for measures).
MAX_YEARS = 3
MAX_EXTENSION = timedelta(days=MAX_YEARS * 366)
MAX_REASON = 1000


class ExtensionRefused(Exception):
    """``code``: not_found, not_open, due_not_future, due_too_far or reason_too_long."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def extend_request(
    *,
    session: Session,
    clock: Clock,
    organisation_id: int,
    request_id: int,
    due_on: date,
    reason: str,
    actor: str,
) -> DataRequest:
    """Give an open request a new due date; the request row is locked while it changes."""
    request = session.get(
        DataRequest, request_id, with_for_update={"of": DataRequest}, populate_existing=True
    )
    if request is None or request.organisation_id != organisation_id:
        raise ExtensionRefused("not_found")
    if request.status != RequestStatus.OPEN.value:
        raise ExtensionRefused("not_open")
    org = session.get(Organisation, organisation_id)
    assert org is not None, "the request's organisation exists"
    cal, now = calendar_of(org), clock.now()
    today = cal.local_date(now)
    if due_on <= today:
        raise ExtensionRefused("due_not_future")
    if due_on - today > MAX_EXTENSION:
        raise ExtensionRefused("due_too_far", years=MAX_YEARS)
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise ExtensionRefused("reason_too_long", max=MAX_REASON)
    previous = request.due_on
    request.due_on = due_on
    request.stay += 1  # new dedupe keys: the new stay's reminders are not the old ones
    request.escalation_level = 0
    schedule_new(request, now=now, policy=policy_for(session, organisation_id), cal=cal)
    session.add(
        AuditEvent(
            organisation_id=organisation_id,
            measure_cycle_id=None,
            at=now,
            actor=actor,
            event="data_deadline_extended",
            from_state=None,
            to_state=None,
            payload={
                "data_request_id": request.id,
                "indicator_code": request.indicator.code,
                "period": request.period,
                "from": previous.isoformat(),
                "due_on": due_on.isoformat(),
                "reason": reason,
            },
        )
    )
    session.flush()
    enqueue(session, [extension_notice(request, reason=reason)], now=now)
    return request
