"""What an Auftrag link may see and answer: its contact's open Aufträge, and storing an answer.

Every query of the Auftrag form goes through here, so a link never reaches another contact's
Aufträge or another organisation's. It never decides whether a token is valid
(``tokens.look_up`` does) and never commits. An answer is kept exactly as typed when it is
refused, so the form can show it again with the error at its field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from notifications.outbox import enqueue
from workflow.bodies.models import Body, Meeting
from workflow.catalogue.models import Contact, Organisation
from workflow.clock import Clock
from workflow.cycles.models import AuditEvent
from workflow.decisions import assignments
from workflow.decisions.models import Decision, DecisionKind, DecisionStatus
from workflow.forms.tokens import FormToken
from workflow.forms.validation import FieldError, without_control_characters
from workflow.indicators.requests import policy_for

MAX_ANSWER = 5000
_POSTED = re.compile(r"^a-(\d{1,9})-(answer|status)$")
# The two answers a contact can give: done, or an interim report.
ANSWER_STATUSES = (DecisionStatus.DONE.value, DecisionStatus.IN_PROGRESS.value)
AUDIT_EVENT = "assignment_answered"

RawAnswer = dict[str, str]


@dataclass
class AssignmentScope:
    token: FormToken
    contact: Contact
    organisation: Organisation

    @property
    def actor(self) -> str:
        return f"contact:{self.contact.id}"


@dataclass
class AssignmentItem:
    decision: Decision
    meeting: Meeting
    body: Body

    @property
    def is_open(self) -> bool:
        return self.decision.status != DecisionStatus.DONE.value

    @property
    def answered(self) -> bool:
        return self.decision.answered_at is not None


def scope_of(session: Session, token: FormToken) -> AssignmentScope:
    contact = session.get(Contact, token.contact_id)
    org = session.get(Organisation, token.organisation_id)
    assert contact and org, "foreign keys guarantee these rows"
    return AssignmentScope(token, contact, org)


def items_in_scope(
    session: Session, scope: AssignmentScope, *, now: datetime, lock: bool = False
) -> list[AssignmentItem]:
    """The contact's Aufträge that are not done, and those the contact reported done lately
    that nobody has closed since (a correction is still possible), oldest due date first."""
    policy = policy_for(session, scope.organisation.id)
    since = now - timedelta(days=policy.link_valid_days_after_due)
    query = (
        select(Decision)
        .where(
            Decision.organisation_id == scope.organisation.id,
            Decision.contact_id == scope.contact.id,
            Decision.kind == DecisionKind.ASSIGNMENT.value,
            or_(
                Decision.status != DecisionStatus.DONE.value,
                and_(
                    # Done by the contact's own answer, and untouched since: still theirs.
                    Decision.status_changed_by == Decision.answered_by,
                    Decision.answered_by == scope.actor,
                    Decision.answered_at >= since,
                ),
            ),
        )
        .order_by(Decision.id)
    )
    if lock:
        query = query.with_for_update(of=Decision)
    decisions = list(session.scalars(query.execution_options(populate_existing=True)))
    items = []
    for decision in decisions:
        meeting = session.get(Meeting, decision.meeting_id)
        body = session.get(Body, meeting.body_id) if meeting else None
        assert meeting is not None and body is not None, "a decision belongs to a meeting"
        items.append(AssignmentItem(decision, meeting, body))
    return sorted(
        items, key=lambda i: (not i.is_open, i.decision.due_on or now.date(), i.decision.id)
    )


def split_posted(pairs: Iterable[tuple[str, Any]]) -> dict[int, RawAnswer]:
    """``a-12-answer=…`` pairs into ``{12: {"answer": …}}``; other names are ignored."""
    out: dict[int, RawAnswer] = {}
    for name, value in pairs:
        m = _POSTED.match(name)
        if m and isinstance(value, str):
            # One more than allowed is kept, so the check can still say "too long".
            out.setdefault(int(m[1]), {})[m[2]] = without_control_characters(
                value[: MAX_ANSWER + 1]
            )
    return out


def check(raw: Mapping[str, str]) -> list[FieldError]:
    errors = []
    answer = (raw.get("answer") or "").strip()
    if not answer:
        errors.append(FieldError("answer", "assignment.error.answer_required"))
    elif len(answer) > MAX_ANSWER:
        errors.append(FieldError("answer", "forms.error.too_long", {"max": MAX_ANSWER}))
    if raw.get("status") not in ANSWER_STATUSES:
        errors.append(FieldError("status", "assignment.error.status_required"))
    return errors


@dataclass
class AnswerOutcome:
    errors: dict[int, list[FieldError]] = field(default_factory=dict)
    answered: list[int] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def answer(
    *,
    session: Session,
    clock: Clock,
    scope: AssignmentScope,
    posted: Mapping[int, RawAnswer],
    only: set[int],
) -> AnswerOutcome:
    """Store the answers to the Aufträge in ``only``: all or nothing. An id outside the link's
    scope (another contact's, or closed meanwhile) is reported as ``gone`` and not touched."""
    now = clock.now()
    items = {i.decision.id: i for i in items_in_scope(session, scope, now=now, lock=True)}
    outcome = AnswerOutcome(gone=sorted(i for i in only if i not in items))
    chosen = [items[i] for i in sorted(only) if i in items]
    for item in chosen:
        errors = check(posted.get(item.decision.id, {}))
        if errors:
            outcome.errors[item.decision.id] = errors
    if outcome.errors:
        return outcome
    for item in chosen:
        raw = posted[item.decision.id]
        _store(session, item.decision, scope, raw["answer"].strip(), raw["status"], now)
        outcome.answered.append(item.decision.id)
    return outcome


def _store(
    session: Session,
    decision: Decision,
    scope: AssignmentScope,
    text: str,
    status: str,
    now: datetime,
) -> None:
    previous = {"status": decision.status, "answered": decision.answered_at is not None}
    decision.answer = text
    decision.answered_at = now
    decision.answered_by = scope.actor
    decision.status = status
    decision.status_changed_at = now
    decision.status_changed_by = scope.actor
    if status == DecisionStatus.DONE.value:
        # Done: nothing more to remind or escalate (the sweep would also drop it).
        decision.next_action_at = None
    session.add(
        AuditEvent(
            organisation_id=decision.organisation_id,
            measure_cycle_id=decision.measure_cycle_id,
            at=now,
            actor=scope.actor,
            event=AUDIT_EVENT,
            from_state=None,
            to_state=None,
            payload={
                "decision_id": decision.id,
                "meeting_id": decision.meeting_id,
                "status": status,
                "previous_status": previous["status"],
                "correction": previous["answered"],
                "token_id": scope.token.id,
            },
        )
    )
    session.flush()
    cycle_id = assignments.newest_cycle_id(session, decision.organisation_id)
    enqueue(session, [assignments.confirmation(decision, scope.contact, cycle_id)], now=now)
