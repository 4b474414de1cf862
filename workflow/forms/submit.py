"""Submitting a form: answers become rows, open measures move through ``apply_event``, later
submits of the same answers are corrections. Never commits and never moves a measure twice.

Per measure of the target agreement: "implement" fires ``submit_agreement``, "defer" fires
``defer``; "drop_proposed" moves nothing — the measure stays in target_agreement with its
``TargetAgreement.decision`` set, flagged for the coordinator, who decides with ``drop``.
Per measure of the review: ``submit_review``. A measure already submitted (and not yet
accepted) is corrected in place with an ``answer_corrected`` audit event. A review's indicator
values (Ist) also become values of the series (``workflow.indicators.answers``); an
agreement in Umsetzung keeps its milestone rows in line (``workflow.milestones.sync``).
Each submitted answer is confirmed to whoever submitted it, and after a hand-over the owner
gets a copy (``notifications.receipts``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from notifications.effects import item_context
from notifications.outbox import Draft
from notifications.receipts import queue_receipts
from workflow.clock import Clock
from workflow.cycles.models import AuditEvent, MeasureCycle, Review, TargetAgreement
from workflow.forms.drafts import ANSWER_COLUMNS, discard_draft, save_drafts
from workflow.forms.scope import OPEN_STATE, FormItem, FormScope, items_in_scope
from workflow.forms.tokens import Phase
from workflow.forms.validation import (
    Checked,
    DateWindow,
    Decision,
    FieldError,
    RawAnswers,
    check_agreement,
    check_review,
)
from workflow.indicators.answers import record_review_values
from workflow.machine import Event, State
from workflow.milestones.sync import sync_from_agreement
from workflow.transitions import move


@dataclass
class SubmitOutcome:
    errors: dict[int, list[FieldError]] = field(default_factory=dict)
    moved: list[int] = field(default_factory=list)
    flagged: list[int] = field(default_factory=list)
    corrected: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    # Asked for, but no longer answerable (the coordinator moved or accepted it meanwhile).
    gone: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _answerable(item: FormItem) -> bool:
    if item.is_open:
        return True
    return item.answer is not None and item.answer.accepted_at is None


def check(phase: Phase, item: FormItem, raw: Mapping[str, str]) -> Checked:
    checked = (
        check_agreement(raw, item.slots, DateWindow.for_cycle_year(item.mc.cycle.year))
        if phase is Phase.TARGET_AGREEMENT
        else check_review(raw, item.slots)
    )
    answer = item.answer
    if (
        phase is Phase.TARGET_AGREEMENT
        and not item.is_open
        and isinstance(answer, TargetAgreement)
        and checked.clean["decision"] != answer.decision
    ):
        # Leaving implementation (or a deferral) is not the department's move any more.
        checked.errors.append(FieldError("decision", "forms.error.decision_locked"))
    return checked


def submit(
    *,
    session: Session,
    clock: Clock,
    scope: FormScope,
    posted: Mapping[int, RawAnswers],
    only: set[int] | None = None,
) -> SubmitOutcome:
    """Save every posted draft, then submit the measures in ``only`` (all when None).

    All or nothing: if one of them has an error, none is submitted (the drafts are kept).
    """
    now = clock.now()
    items = items_in_scope(session, scope, lock=True)
    save_drafts(session=session, scope=scope, items=items, posted=posted, now=now)
    outcome = SubmitOutcome()
    by_id = {item.mc.id: item for item in items}
    wanted = set(by_id) if only is None else only
    outcome.gone = sorted(i for i in wanted if i not in by_id or not _answerable(by_id[i]))
    chosen = [item for item in items if item.mc.id in wanted and _answerable(item)]
    checked = {item.mc.id: check(scope.phase, item, posted.get(item.mc.id, {})) for item in chosen}
    outcome.errors = {i: c.errors for i, c in checked.items() if c.errors}
    if outcome.errors:
        return outcome
    for item in chosen:
        result = _apply(session, clock, scope, item, checked[item.mc.id].clean)
        getattr(outcome, result).append(item.mc.id)
        discard_draft(session, item, scope.phase)
        if scope.phase is Phase.REVIEW and result != "unchanged":
            _to_series(session, clock, scope, item)
    return outcome


def _to_series(session: Session, clock: Clock, scope: FormScope, item: FormItem) -> None:
    """The review's actual values join the indicators' series (targets never do)."""
    assert isinstance(item.answer, Review)
    record_review_values(
        session=session,
        review=item.answer,
        mc=item.mc,
        actor=scope.actor,
        actor_name=scope.contact.name,
        now=clock.now(),
    )


def _apply(
    session: Session, clock: Clock, scope: FormScope, item: FormItem, clean: dict[str, Any]
) -> str:
    columns = ANSWER_COLUMNS[scope.phase]
    previous = {c: getattr(item.answer, c) for c in columns} if item.answer is not None else None
    if previous is not None and not item.is_open:
        return _correct(session, clock, scope, item, clean, previous)
    if (
        previous is not None
        and item.submitted
        and previous.get("decision") == clean.get("decision") == Decision.DROP_PROPOSED
    ):
        return _correct(session, clock, scope, item, clean, previous)
    answer = item.answer or _new_answer(scope.phase, item.mc.id)
    for column in columns:
        setattr(answer, column, clean[column])
    answer.submitted_at = clock.now()
    answer.submitted_by = scope.actor
    session.add(answer)
    item.answer = answer
    payload = {"answers": clean, **scope.on_behalf_of}
    if scope.phase is Phase.REVIEW:
        _move(session, clock, scope, item.mc, Event.SUBMIT_REVIEW, payload)
        _confirm(session, clock, scope, item.mc, "confirmation_review")
        return "moved"
    decision = Decision(clean["decision"])
    kind = "confirmation_agreement"
    if decision is Decision.IMPLEMENT:
        _move(session, clock, scope, item.mc, Event.SUBMIT_AGREEMENT, payload)
        _milestones(session, clock, item)
        _confirm(session, clock, scope, item.mc, kind)
    elif decision is Decision.DEFER:
        _move(session, clock, scope, item.mc, Event.DEFER, {**payload, "reason": clean["reason"]})
        _confirm(session, clock, scope, item.mc, kind, decision=decision.value)
    else:
        _audit(session, clock, scope, item.mc, "drop_proposed", payload)
        _confirm(session, clock, scope, item.mc, kind, decision=decision.value)
        return "flagged"
    return "moved"


def _milestones(session: Session, clock: Clock, item: FormItem) -> None:
    """An agreement in Umsetzung keeps its milestone rows in line with what it lists."""
    if isinstance(item.answer, TargetAgreement) and item.mc.state == State.IMPLEMENTATION.value:
        sync_from_agreement(
            session, measure_cycle=item.mc, agreement=item.answer, now=clock.now()
        )


def _new_answer(phase: Phase, mc_id: int) -> TargetAgreement | Review:
    if phase is Phase.TARGET_AGREEMENT:
        return TargetAgreement(measure_cycle_id=mc_id)
    return Review(measure_cycle_id=mc_id)


def _correct(
    session: Session,
    clock: Clock,
    scope: FormScope,
    item: FormItem,
    clean: dict[str, Any],
    previous: dict[str, Any],
) -> str:
    changed = sorted(c for c in previous if previous[c] != clean[c])
    if not changed:
        return "unchanged"
    for column in changed:
        setattr(item.answer, column, clean[column])
    if "milestones" in changed:
        _milestones(session, clock, item)
    _audit(
        session,
        clock,
        scope,
        item.mc,
        "answer_corrected",
        {"changed": changed, "previous": previous, "answers": clean, **scope.on_behalf_of},
    )
    return "corrected"


def _move(
    session: Session,
    clock: Clock,
    scope: FormScope,
    mc: MeasureCycle,
    event: Event,
    payload: dict[str, Any],
) -> None:
    assert mc.state == OPEN_STATE[scope.phase].value
    move(
        session=session,
        clock=clock,
        measure_cycle_id=mc.id,
        event=event,
        expected_version=mc.version,  # read under our lock, so this only guards against bugs
        actor=scope.actor,
        payload=payload,
    )


def _audit(
    session: Session,
    clock: Clock,
    scope: FormScope,
    mc: MeasureCycle,
    event: str,
    payload: dict[str, Any],
) -> None:
    session.add(
        AuditEvent(
            organisation_id=mc.organisation_id,
            measure_cycle_id=mc.id,
            at=clock.now(),
            actor=scope.actor,
            event=event,
            from_state=mc.state,
            to_state=mc.state,
            payload=payload,
        )
    )


def _confirm(
    session: Session, clock: Clock, scope: FormScope, mc: MeasureCycle, kind: str, **extra: str
) -> None:
    """The receipts of one answer: to whoever submitted it, and the owner's copy after a
    hand-over (``notifications.receipts``). The owner's row has the key of the move's own
    confirmation (``notifications.effects``), so a move's receipt is queued once."""
    owner = mc.measure.contact or scope.owner
    owners = Draft(
        organisation_id=mc.organisation_id,
        dedupe_key=f"mc:{mc.id}:{mc.stay}:{kind}:0",
        kind=kind,
        recipient_email=owner.email,
        recipient_name=owner.name,
        language=owner.language,
        measure_cycle_id=mc.id,
        context={
            **item_context(mc),
            **extra,
            "contact_id": owner.id,
            "submitted_by": scope.contact.name,
        },
    )
    queue_receipts(session, owners, answerer=scope.contact, owner=owner, now=clock.now())
