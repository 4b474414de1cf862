"""What a change to a contact does to its form links: archiving ends them, a new address replaces them.

Links already sent to an address that turned out wrong must not keep working, and neither may
anything handed on through them; the contact's open forms get a new link at the new address
(queued as ``link_reissued`` unless a queued email brings one anyway), and their reminders
start again from the first one, because none reached the new address (a bouncing old address
is the usual reason for the correction; bounce state is kept per address, so the new one
starts clean). The contact's open data requests, status check parts, Aufträge and milestone
questions do the same, each by a small function next to its own ladder, and each gets one
email with a new link (``workflow.forms.ladder_restart`` keeps their keys apart from the old
address's). Never commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage, OutboxStatus
from notifications.outbox import Draft, enqueue
from workflow.catalogue.models import Contact, Measure
from workflow.cycles.calendar import calendar_and_policy
from workflow.cycles.models import AuditEvent, MeasureCycle
from workflow.cycles.stay import plan_of
from workflow.decisions import assignments
from workflow.forms import ladder_restart
from workflow.forms.revocation import end_contact
from workflow.forms.tokens import Phase
from workflow.indicators import requests as data_requests
from workflow.machine import State
from workflow.milestones import sweep as milestone_sweep
from workflow.status_checks import schedule as status_check_ladder

_OPEN = {State.TARGET_AGREEMENT.value: Phase.TARGET_AGREEMENT, State.REVIEW.value: Phase.REVIEW}
# Queued kinds that carry a form link (issued when sent, to the contact's address then).
_LINK_BEARING = (
    "invitation_agreement",
    "review_request",
    "reminder",
    "final_reminder",
    "deadline_extended",
    "link_reissued",
)


def contact_archived(*, session: Session, contact_id: int, now: datetime, actor: str) -> int:
    """Revoke every link to the contact's measures and every link it holds; returns how many."""
    return end_contact(
        session=session, contact_id=contact_id, now=now, actor=actor, reason="contact_archived"
    )


def address_changed(*, session: Session, contact: Contact, now: datetime, actor: str) -> int:
    """Call after ``contact.email`` changed: end every old link and queue new ones for the
    contact's open forms. Returns how many messages were queued."""
    revoked = end_contact(
        session=session, contact_id=contact.id, now=now, actor=actor, reason="address_changed"
    )
    queued = _restart_measures(session, contact, now, actor, revoked)
    return queued + _restart_other_ladders(session, contact, now, actor)


def _restart_other_ladders(session: Session, contact: Contact, now: datetime, actor: str) -> int:
    """The contact's open data requests, status check parts, Aufträge and milestone questions
    start again as its measures do, each by its own rules, under one recorded correction."""
    requests = data_requests.open_for_contact(session, contact.id)
    parts = status_check_ladder.open_for_contact(session, contact.id)
    orders = assignments.open_for_contact(session, contact.id)
    questions = milestone_sweep.asked_and_open(session, contact.id)
    if not (requests or parts or orders or questions):
        return 0
    mark = ladder_restart.record(
        session,
        organisation_id=contact.organisation_id,
        contact_id=contact.id,
        now=now,
        actor=actor,
        items={
            "data_request_ids": [r.id for r in requests],
            "status_check_request_ids": [p.id for p in parts],
            "decision_ids": [d.id for d in orders],
            "milestone_ids": [m.id for m in questions],
        },
    )
    queued = 0
    for request in requests:
        queued += data_requests.restart_after_address_change(session, request, now=now, mark=mark)
    for part in parts:
        queued += status_check_ladder.restart_after_address_change(
            session, part, now=now, mark=mark
        )
    for order in orders:
        queued += assignments.restart_after_address_change(session, order, now=now, mark=mark)
    for question in questions:
        queued += milestone_sweep.ask_again_after_address_change(
            session, question, now=now, mark=mark
        )
    return queued


def _restart_measures(
    session: Session, contact: Contact, now: datetime, actor: str, revoked: int
) -> int:
    mcs = session.scalars(
        select(MeasureCycle)
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .where(
            Measure.contact_id == contact.id,
            MeasureCycle.organisation_id == contact.organisation_id,
            MeasureCycle.state.in_(_OPEN),
        )
        .order_by(MeasureCycle.id)
    ).all()
    waiting = set(
        session.scalars(
            select(OutboxMessage.measure_cycle_id).where(
                OutboxMessage.measure_cycle_id.in_([mc.id for mc in mcs]),
                OutboxMessage.kind.in_(_LINK_BEARING),
                OutboxMessage.status.in_((OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)),
            )
        )
    )
    drafts = []
    for mc in mcs:
        phase = _OPEN[mc.state]
        audit = AuditEvent(
            organisation_id=mc.organisation_id,
            measure_cycle_id=mc.id,
            at=now,
            actor=actor,
            event="contact_address_changed",
            from_state=mc.state,
            to_state=mc.state,
            # The sweep reads this event as "the ladder restarted" (workflow/sweep.py).
            payload={
                "contact_id": contact.id,
                "phase": phase.value,
                "revoked": revoked,
                "ladder_restarted_from_step": mc.action_step,
            },
        )
        _restart_reminders(session, mc, now)
        session.add(audit)
        session.flush()
        if mc.id in waiting:
            continue  # a queued email brings the new link to the new address anyway
        drafts.append(
            Draft(
                organisation_id=mc.organisation_id,
                dedupe_key=f"link_reissued:{audit.id}",
                kind="link_reissued",
                recipient_email=contact.email,
                recipient_name=contact.name,
                language=contact.language,
                measure_cycle_id=mc.id,
                context={
                    "contact_id": contact.id,
                    "recipient_contact_id": contact.id,
                    "cycle_id": mc.cycle_id,
                    "phase": phase.value,
                },
            )
        )
    return enqueue(session, drafts, now=now)


def _restart_reminders(session: Session, mc: MeasureCycle, now: datetime) -> None:
    """Back to the first step of the stay's plan, not before the new link had two working
    days (as after any request). A sweep that finds several reminders due sends only the
    latest, and escalations already sent are not sent again (their keys are unchanged), so
    the level stays what it was."""
    cal, policy = calendar_and_policy(session, mc)
    at = ladder_restart.restart_at(plan_of(mc, policy, cal), now, policy, cal)
    if at is None:
        return
    # A plain UPDATE like the sweep's: the schedule must not bump the version an open page holds.
    session.execute(
        update(MeasureCycle)
        .where(MeasureCycle.id == mc.id)
        .values(action_step=0, next_action_at=at)
        .execution_options(synchronize_session=False)
    )
    session.expire(mc, ["action_step", "next_action_at"])
