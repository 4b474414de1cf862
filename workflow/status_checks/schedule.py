"""The reminder ladder of one contact's part of a status check: its rules and its first step.

A part follows the organisation's business calendar and the deadline policy of the check's
cycle, with the same ``contact_plan`` as a data request and a late start that owes no old
reminders. Pure apart from reading the rules; never commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.outbox import enqueue
from workflow.catalogue.models import Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import Cycle
from workflow.cycles.stay import first_follow_up, first_step
from workflow.deadlines import BusinessCalendar, DeadlinePolicy, Step, contact_plan
from workflow.forms import ladder_restart
from workflow.indicators.requests import policy_for
from workflow.status_checks import mail
from workflow.status_checks.models import StatusCheck, StatusCheckRequest


def rules_of(
    session: Session, organisation_id: int, cycle_id: int | None = None
) -> tuple[BusinessCalendar, DeadlinePolicy]:
    """The organisation's calendar and the policy of ``cycle_id`` (the check's cycle), or of
    the organisation's newest cycle when none is named."""
    org = session.get(Organisation, organisation_id)
    assert org is not None
    cycle = session.get(Cycle, cycle_id) if cycle_id is not None else None
    if cycle is not None:
        return calendar_of(org), DeadlinePolicy.model_validate(cycle.policy)
    return calendar_of(org), policy_for(session, organisation_id)


def plan_of(
    request: StatusCheckRequest, policy: DeadlinePolicy, cal: BusinessCalendar
) -> list[Step]:
    return contact_plan(request.due_on, policy, cal)


def schedule_new(
    request: StatusCheckRequest, *, now: datetime, policy: DeadlinePolicy, cal: BusinessCalendar
) -> None:
    """Start the ladder: the invitation names the due date, so reminders dated before the
    first follow-up are not owed (as for data requests)."""
    plan = plan_of(request, policy, cal)
    request.action_step, request.next_action_at = first_step(
        plan, first_follow_up(now, policy, cal)
    )
    request.escalation_level = 0


def open_for_contact(session: Session, contact_id: int) -> list[StatusCheckRequest]:
    """The contact's parts still waiting for an answer in checks not closed."""
    return list(
        session.scalars(
            select(StatusCheckRequest)
            .join(StatusCheck, StatusCheck.id == StatusCheckRequest.status_check_id)
            .where(
                StatusCheckRequest.contact_id == contact_id,
                StatusCheckRequest.answered_at.is_(None),
                StatusCheck.closed_at.is_(None),
            )
            .order_by(StatusCheckRequest.id)
        )
    )


def restart_after_address_change(
    session: Session, request: StatusCheckRequest, *, now: datetime, mark: str
) -> int:
    """The ladder starts again from its first reminder, and the invitation goes once more to
    the corrected address (its link is made when it is sent), unless a queued email of the
    part brings one anyway. Returns how many messages were queued."""
    cal, policy = rules_of(session, request.organisation_id, request.status_check.cycle_id)
    request.action_step = 0
    request.next_action_at = ladder_restart.restart_at(
        plan_of(request, policy, cal), now, policy, cal
    )
    waiting = mail.LINK_KINDS - {mail.CONFIRMATION}
    if ladder_restart.link_waiting(session, f"sc:{request.id}:{request.stay}:", waiting):
        return 0
    return enqueue(session, [mail.invitation(request, mark=mark)], now=now)
