"""The coordinator's actions on one measure-in-cycle; every state change goes through apply_event.

Shared by the JSON API and the dashboard, so both check the same version and the same
rules. Callers own the transaction; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.effects import item_context
from notifications.outbox import Draft, enqueue
from workflow import messages
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_and_policy
from workflow.cycles.locked_stay import LockedStay
from workflow.cycles.models import AuditEvent, MeasureCycle, Review
from workflow.cycles.service import IMPLEMENTATION_STATUSES as IMPLEMENTATION_STATUSES
from workflow.cycles.service import InterviewRefused, record_interview
from workflow.forms.tokens import Phase
from workflow.machine import Event, MoveRefused, State, allowed_events
from workflow.transitions import VersionConflict, load_for_update, move

INTERVIEW_DECISIONS = ("keep", "adapt", "drop")
# IMPLEMENTATION_STATUSES (re-exported above): the vocabulary lives with the interview.
# Further out than this, a new due date is a typing error, not a plan.
MAX_EXTENSION = timedelta(days=3 * 366)
_LINK_PHASE = {State.TARGET_AGREEMENT: Phase.TARGET_AGREEMENT, State.REVIEW: Phase.REVIEW}


class PayloadInvalid(ValueError):
    """The payload of an action has the wrong shape: ``code`` (workflow/messages.py) and
    ``params`` say which field, for the edge's sentence; ``str()`` is German, for logs."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params: dict[str, Any] = params
        super().__init__(messages.message(code, messages.DEFAULT, **params))


# The field refusals of the Erstgespräch (``service.InterviewRefused`` and the date checks here).
FIELD_CODES = ("status_invalid", "held_on_outside", "held_on_missing", "held_on_invalid")


class FieldInvalid(PayloadInvalid):
    """A field breaks a rule of the domain (code ``payload.<code>`` of workflow/messages.py):
    ``code`` and ``params`` let each edge word it in its reader's language."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(f"payload.{code}", **params)
        self.code = code
        self.params = params
        self.field = "implementation_status" if code == "status_invalid" else "held_on"


def _text(payload: Mapping[str, Any], key: str, limit: int = 5000) -> str:
    value = payload.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadInvalid("payload.not_text", field=key)
    if "\x00" in value or len(value) > limit:
        raise PayloadInvalid("payload.too_long", field=key, limit=limit)
    return value.strip()


def _date(payload: Mapping[str, Any], key: str) -> date | None:
    value = payload.get(key)
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PayloadInvalid("payload.not_a_date", field=key) from None


def _held_on(payload: Mapping[str, Any]) -> date:
    """The Erstgespräch's date: required, as the page requires it, so no path records one
    without knowing when it was held."""
    value = payload.get("held_on")
    if value in (None, ""):
        raise FieldInvalid("held_on_missing")
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise FieldInvalid("held_on_invalid", value=str(value)[:40]) from None


def perform(
    *,
    session: Session,
    clock: Clock,
    measure_cycle_id: int,
    event: str,
    expected_version: int | None,
    actor: str,
    payload: Mapping[str, Any] | None = None,
) -> MeasureCycle | LockedStay:
    """Apply one coordinator event; raises MoveRefused, VersionConflict, NotFound, PayloadInvalid.

    Returns where the stay stands after it (id, state, version, due date): the stay itself
    for an Erstgespräch, which goes on with it, its values for any other event."""
    payload = dict(payload or {})
    for key in ("reason", "comment"):
        if key in payload:
            payload[key] = _text(payload, key)
    if event == Event.RECORD_INTERVIEW.value:
        decision = payload.get("decision")
        if decision not in INTERVIEW_DECISIONS:
            raise PayloadInvalid("payload.decision_invalid")
        status = _text(payload, "implementation_status", 32)
        held_on = _held_on(payload)
        try:
            return record_interview(
                session=session,
                clock=clock,
                measure_cycle_id=measure_cycle_id,
                expected_version=expected_version,
                actor=actor,
                decision=str(decision),
                held_on=held_on,
                participants=_text(payload, "participants"),
                notes=_text(payload, "notes"),
                implementation_status=status,
            )
        except InterviewRefused as refused:
            raise FieldInvalid(refused.code, **refused.params) from None
    if event == Event.EXTEND_DEADLINE.value:
        new_due = _date(payload, "due_on")
        if new_due is not None and new_due - clock.now().date() > MAX_EXTENSION:
            raise PayloadInvalid("payload.due_too_far")
    mc = move(
        session=session,
        clock=clock,
        measure_cycle_id=measure_cycle_id,
        event=event,
        expected_version=expected_version,
        actor=actor,
        payload=payload,
    )
    if event == Event.ACCEPT_REVIEW.value:
        review = session.scalars(select(Review).where(Review.measure_cycle_id == mc.id)).first()
        if review is not None:
            review.accepted_at = clock.now()
    return mc


def can_reissue_link(state: str) -> bool:
    return State(state) in _LINK_PHASE


def reissue_link(
    *,
    session: Session,
    clock: Clock,
    measure_cycle_id: int,
    expected_version: int | None,
    actor: str,
) -> MeasureCycle:
    """Queue a new form link for the contact (issued at send time).

    The old links of the phase, and every colleague's link handed on from them, are revoked
    when the new email is rendered, in the same transaction: a render that fails leaves the
    contact's working link alone (``notifications.render``).
    """
    mc = load_for_update(session, measure_cycle_id)
    state = State(mc.state)
    if expected_version is not None and mc.version != expected_version:
        raise VersionConflict(expected_version, mc.version, allowed_events(state))
    phase = _LINK_PHASE.get(state)
    contact = mc.measure.contact
    if phase is None or contact is None:
        code = "move.link_phase" if phase is None else "move.no_contact"
        raise MoveRefused(state, "reissue_link", allowed_events(state), code)
    now = clock.now()
    audit = AuditEvent(
        organisation_id=mc.organisation_id,
        measure_cycle_id=mc.id,
        at=now,
        actor=actor,
        event="reissue_link",
        from_state=mc.state,
        to_state=mc.state,
        payload={"phase": phase.value, "contact_id": contact.id},
    )
    session.add(audit)
    session.flush()
    _cal, policy = calendar_and_policy(session, mc)
    enqueue(
        session,
        [
            Draft(
                organisation_id=mc.organisation_id,
                dedupe_key=f"link_reissued:{audit.id}",
                kind="link_reissued",
                recipient_email=contact.email,
                recipient_name=contact.name,
                language=contact.language,
                measure_cycle_id=mc.id,
                context={
                    **item_context(mc),
                    "contact_id": contact.id,
                    "recipient_contact_id": contact.id,
                    "cycle_id": mc.cycle_id,
                    "phase": phase.value,
                    "link_valid_days_after_due": policy.link_valid_days_after_due,
                },
            )
        ],
        now=now,
    )
    return mc
