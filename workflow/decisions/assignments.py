"""The Auftrag's schedule and messages: opening it, moving its due date, its reminder ladder.

An Auftrag (a decision of kind ``assignment``) is reminded and escalated like a data
request: the policy of the organisation's newest cycle, its business calendar, a
``contact_plan`` from the due date. Every message has a dedupe key of the decision, its
stay and its step, so opening, extending or sweeping twice queues each message once.
It never commits and never sends: it writes the row's schedule and outbox drafts in the
caller's transaction. The sweep's pass lives in ``workflow.decisions.assignment_sweep``.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.models import Channel
from notifications.outbox import Draft, enqueue
from workflow.accounts import Role, User
from workflow.bodies.models import Meeting
from workflow.catalogue.models import Contact, Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import AuditEvent, Cycle
from workflow.deadlines import BusinessCalendar, DeadlinePolicy, Step, StepKind, contact_plan
from workflow.decisions.checks import due_date
from workflow.decisions.errors import DecisionError
from workflow.decisions.models import Decision, DecisionKind, DecisionStatus
from workflow.forms import ladder_restart
from workflow.forms.tokens import Phase
from workflow.indicators.requests import policy_for

log = logging.getLogger(__name__)

# The outbox kinds of an Auftrag; ``digest_item`` rows (channel digest) carry its escalation
# to the body whose meeting gave it.
REQUEST = "assignment_request"
REMINDER = "assignment_reminder"
FINAL_REMINDER = "assignment_final_reminder"
ESCALATION_HEAD = "assignment_escalation_head"
CONFIRMATION = "assignment_confirmation"
DIGEST_ITEM = "digest_item"
# Why a request goes out again: a new due date, or a new link the coordinator asked for.
NOTICES = ("", "extended", "reissued")


def rules_of(session: Session, organisation_id: int) -> tuple[BusinessCalendar, DeadlinePolicy]:
    """An Auftrag follows the organisation's calendar and its newest cycle's policy."""
    org = session.get(Organisation, organisation_id)
    assert org is not None
    return calendar_of(org), policy_for(session, organisation_id)


def newest_cycle_id(session: Session, organisation_id: int) -> int | None:
    return session.scalars(
        select(Cycle.id)
        .where(Cycle.organisation_id == organisation_id)
        .order_by(Cycle.year.desc())
        .limit(1)
    ).first()


def plan_of(decision: Decision, policy: DeadlinePolicy, cal: BusinessCalendar) -> list[Step]:
    if decision.due_on is None:
        return []
    return contact_plan(decision.due_on, policy, cal)


def schedule(
    decision: Decision, *, now: datetime, policy: DeadlinePolicy, cal: BusinessCalendar
) -> None:
    """Start the ladder for the current stay. The request (or the new due date's notice)
    is the first word, so reminders whose time has already passed are not owed."""
    plan = plan_of(decision, policy, cal)
    step = next(
        (i for i, s in enumerate(plan) if s.at > now or s.kind is not StepKind.REMINDER),
        len(plan),
    )
    decision.action_step = step
    decision.escalation_level = 0
    decision.next_action_at = plan[step].at if step < len(plan) else None


def _checked(session: Session, decision: Decision) -> tuple[Contact, int]:
    """The contact the Auftrag goes to and the cycle its links name; refuses (with a
    ``DecisionError``) what cannot be reminded."""
    if decision.kind != DecisionKind.ASSIGNMENT.value:
        raise DecisionError("decision_not_assignment", kind=decision.kind)
    if decision.due_on is None:
        raise DecisionError("assignment_due_required")
    contact = session.get(Contact, decision.contact_id) if decision.contact_id else None
    if contact is None or contact.organisation_id != decision.organisation_id:
        raise DecisionError("assignment_contact_required")
    cycle_id = newest_cycle_id(session, decision.organisation_id)
    if cycle_id is None:
        # A form link names a cycle (form_token's CHECK); before the first cycle there is none.
        raise DecisionError("assignment_needs_cycle")
    return contact, cycle_id


def open_assignment(*, session: Session, decision: Decision, now: datetime) -> None:
    """Schedule the Auftrag and queue its first email, with a form link, to its contact."""
    contact, cycle_id = _checked(session, decision)
    if decision.id is None:
        session.flush()
    cal, policy = rules_of(session, decision.organisation_id)
    schedule(decision, now=now, policy=policy, cal=cal)
    enqueue(session, [request(decision, contact, cycle_id)], now=now)


def _locked(session: Session, decision_id: int, organisation_id: int | None) -> Decision:
    decision = session.scalars(
        select(Decision)
        .where(Decision.id == decision_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if decision is None or (
        organisation_id is not None and decision.organisation_id != organisation_id
    ):
        raise DecisionError("decision_not_found", ref=str(decision_id))
    return decision


def extend_assignment(
    *,
    session: Session,
    decision_id: int,
    due_on: date,
    now: datetime,
    actor: str,
    organisation_id: int | None = None,
) -> Decision:
    """A new due date: a new stay with its own ladder, and the contact is told with a link."""
    decision = _locked(session, decision_id, organisation_id)
    contact, cycle_id = _checked(session, decision)
    if decision.status == DecisionStatus.DONE.value:
        raise DecisionError("assignment_done")
    cal, policy = rules_of(session, decision.organisation_id)
    previous = decision.due_on
    decision.due_on = due_date(due_on, cal.local_date(now))  # as the register checks a new one
    decision.stay += 1
    schedule(decision, now=now, policy=policy, cal=cal)
    session.add(
        AuditEvent(
            organisation_id=decision.organisation_id,
            measure_cycle_id=decision.measure_cycle_id,
            at=now,
            actor=actor,
            event="assignment_extended",
            from_state=None,
            to_state=None,
            payload={
                "decision_id": decision.id,
                "from": previous.isoformat() if previous else None,
                "to": decision.due_on.isoformat(),
                "stay": decision.stay,
            },
        )
    )
    enqueue(session, [request(decision, contact, cycle_id, notice="extended")], now=now)
    return decision


def reissue_assignment_link(
    *,
    session: Session,
    decision_id: int,
    now: datetime,
    organisation_id: int | None = None,
) -> int:
    """Queue a new link for the contact's open Aufträge; sending it retires the older links.
    At most one per Auftrag and local day. Returns how many messages were queued."""
    decision = _locked(session, decision_id, organisation_id)
    contact, cycle_id = _checked(session, decision)
    if decision.status == DecisionStatus.DONE.value:
        raise DecisionError("assignment_done")
    cal, _ = rules_of(session, decision.organisation_id)
    day = cal.local_date(now).isoformat()
    draft = request(decision, contact, cycle_id, notice="reissued", key=f"reissue:{day}")
    return enqueue(session, [draft], now=now)


def open_for_contact(session: Session, contact_id: int) -> list[Decision]:
    """The contact's Aufträge not done yet."""
    return list(
        session.scalars(
            select(Decision)
            .where(
                Decision.kind == DecisionKind.ASSIGNMENT.value,
                Decision.contact_id == contact_id,
                Decision.status != DecisionStatus.DONE.value,
            )
            .order_by(Decision.id)
        )
    )


def restart_after_address_change(
    session: Session, decision: Decision, *, now: datetime, mark: str
) -> int:
    """The ladder starts again from its first reminder, and a new link goes once to the
    corrected address (made when it is sent), unless a queued email of the Auftrag brings one
    anyway. Returns how many messages were queued; none for an Auftrag without due date or
    before the first cycle, which has no ladder and no link."""
    try:
        contact, cycle_id = _checked(session, decision)
    except DecisionError:
        return 0
    cal, policy = rules_of(session, decision.organisation_id)
    decision.action_step = 0
    decision.next_action_at = ladder_restart.restart_at(
        plan_of(decision, policy, cal), now, policy, cal
    )
    prefix = f"as:{decision.id}:{decision.stay}:"
    if ladder_restart.link_waiting(session, prefix, (REQUEST, REMINDER, FINAL_REMINDER)):
        return 0
    draft = request(decision, contact, cycle_id, notice="reissued", key=f"reissue{mark}")
    return enqueue(session, [draft], now=now)


# -- drafts -------------------------------------------------------------------------------


def context_of(decision: Decision, cycle_id: int | None = None) -> dict[str, Any]:
    """What every message of an Auftrag names; the renderer reads the rest when it sends."""
    context: dict[str, Any] = {
        "decision_id": decision.id,
        "meeting_id": decision.meeting_id,
        "contact_id": decision.contact_id,
        "recipient_contact_id": decision.contact_id,
        "due_on": decision.due_on.isoformat() if decision.due_on else None,
        "stay": decision.stay,
        "phase": Phase.ASSIGNMENT.value,
    }
    if cycle_id is not None:
        context["cycle_id"] = cycle_id
    return context


def _to_contact(
    decision: Decision, contact: Contact, kind: str, key: str, cycle_id: int | None, **extra: Any
) -> Draft:
    return Draft(
        organisation_id=decision.organisation_id,
        dedupe_key=f"as:{decision.id}:{decision.stay}:{key}",
        kind=kind,
        recipient_email=contact.email,
        recipient_name=contact.name,
        language=contact.language,
        context={**context_of(decision, cycle_id), **extra},
    )


def request(
    decision: Decision,
    contact: Contact,
    cycle_id: int,
    *,
    notice: str = "",
    key: str = "request:0",
) -> Draft:
    assert notice in NOTICES
    return _to_contact(decision, contact, REQUEST, key, cycle_id, notice=notice)


def reminder(
    decision: Decision, contact: Contact, cycle_id: int, step: Step, *, final: bool, mark: str = ""
) -> Draft:
    """``mark``: the contact's latest address correction (``workflow.forms.ladder_restart``)."""
    kind = FINAL_REMINDER if final else REMINDER
    key = f"reminder:{step.index}{mark}"
    return _to_contact(decision, contact, kind, key, cycle_id, step=step.index)


def confirmation(decision: Decision, contact: Contact, cycle_id: int | None) -> Draft:
    """One per answer: a corrected answer is confirmed again."""
    assert decision.answered_at is not None
    key = f"confirmation:{decision.answered_at.isoformat()}"
    return _to_contact(
        decision, contact, CONFIRMATION, key, cycle_id, submitted_by=decision.answered_by
    )


def escalation_to_heads(session: Session, decision: Decision, step: Step) -> list[Draft]:
    """To the heads of the contact's department (or of the department the Auftrag names);
    without any, to the coordinators, as a data request's escalation does."""
    contact = session.get(Contact, decision.contact_id or 0)
    departments = [
        d for d in (contact.department_id if contact else None, decision.department_id) if d
    ]
    recipients: list[tuple[str, str, str, str]] = []
    for department_id in departments:
        recipients = [
            (f"c{h.id}", h.email, h.name, h.language)
            for h in session.scalars(
                select(Contact)
                .where(Contact.department_id == department_id, Contact.is_head.is_(True))
                .order_by(Contact.id)
            )
        ]
        if recipients:
            break
    if not recipients:
        recipients = [
            (f"u{u.id}", u.email, u.name, "de")
            for u in session.scalars(
                select(User)
                .where(
                    User.organisation_id == decision.organisation_id,
                    User.role == Role.COORDINATOR.value,
                    User.active.is_(True),
                )
                .order_by(User.id)
            )
        ]
    if not recipients:
        log.warning("Auftrag %s: nobody to escalate to; only recorded", decision.id)
    context = context_of(decision)
    del context["recipient_contact_id"]  # the head is the recipient, the contact is named
    return [
        Draft(
            organisation_id=decision.organisation_id,
            dedupe_key=f"as:{decision.id}:{decision.stay}:escalation:{step.index}:{who}",
            kind=ESCALATION_HEAD,
            recipient_email=email,
            recipient_name=name,
            language=language,
            context={**context, "level": step.index},
        )
        for who, email, name, language in recipients
    ]


def escalation_to_body(session: Session, decision: Decision, step: Step) -> Draft:
    """A digest item for the body whose meeting gave the Auftrag; its digest reads
    ``decision_id`` and ``body_id`` from the context."""
    meeting = session.get(Meeting, decision.meeting_id)
    assert meeting is not None, "a decision belongs to a meeting"
    context = context_of(decision)
    del context["recipient_contact_id"]
    return Draft(
        organisation_id=decision.organisation_id,
        dedupe_key=f"as:{decision.id}:{decision.stay}:escalation:{step.index}",
        kind=DIGEST_ITEM,
        recipient_email="",
        channel=Channel.DIGEST,
        context={
            **context,
            "item": "assignment",
            "body_id": meeting.body_id,
            "level": step.index,
            "escalated_at": step.at.isoformat(),
        },
    )
