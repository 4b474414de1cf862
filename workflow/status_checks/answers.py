"""A contact's answers to a status check: what each item asks, checking an answer, storing it.

Every write of the status-check form (and of ``zielflow simulate``) goes through
``record_answers``: it checks every answer before it changes anything, keeps a corrected
answer's predecessor in the item's ``history``, ticks off or moves the agreement's milestones,
writes indicator values into their series, marks the contact's part answered once every item
is, queues the receipt and writes ``status_reported`` on each measure's timeline. It never
moves a measure, never decides whether a link is valid and never commits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.receipts import queue_receipts
from workflow.catalogue.models import Contact, Measure, Organisation
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import AuditEvent
from workflow.forms.validation import FieldError
from workflow.indicators.models import Indicator, Unit, indicator_measure
from workflow.indicators.validation import check_number
from workflow.milestones import answers as milestone_answers
from workflow.milestones.models import Milestone, MilestoneStatus
from workflow.status_checks import mail
from workflow.status_checks.answer_values import record_item_values
from workflow.status_checks.errors import StatusCheckRefused
from workflow.status_checks.models import Stand, StatusCheckItem, StatusCheckRequest

MAX_NOTE = 2000
MAX_INDICATOR_TEXT = 2000
AUDIT_EVENT = "status_reported"
# Line breaks are what people type in a text box; every other control character is refused.
_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


@dataclass
class MilestoneAnswer:
    milestone_id: int
    reached: bool
    new_date: date | None = None


@dataclass
class ItemAnswer:
    stand: Stand
    note: str = ""
    milestones: list[MilestoneAnswer] = field(default_factory=list)
    indicator_values: dict[str, str] = field(default_factory=dict)  # indicator code -> typed


@dataclass
class AnswersRefused(Exception):
    """Field errors by item id; the fields are the form's names without ``s-<item>-``."""

    errors: dict[int, list[FieldError]]


@dataclass
class ItemContext:
    """One item with what its form shows: the measure, its milestones, its indicators."""

    item: StatusCheckItem
    measure: Measure
    # Open milestones of the measure's stay, and those an earlier answer already settled.
    milestones: list[Milestone]
    indicators: list[Indicator]

    @property
    def answered(self) -> bool:
        return self.item.answered_at is not None

    def stored_milestone(self, milestone_id: int) -> dict[str, Any] | None:
        for entry in self.item.milestones or []:
            if entry.get("milestone_id") == milestone_id:
                return entry
        return None


def items_of(session: Session, *, request_id: int, lock: bool = False) -> list[ItemContext]:
    """The items of one contact's part, by measure code, with what each one asks."""
    query = (
        select(StatusCheckItem, Measure)
        .join(Measure, Measure.id == StatusCheckItem.measure_id)
        .where(StatusCheckItem.request_id == request_id)
        .order_by(Measure.code, StatusCheckItem.id)
    )
    if lock:
        query = query.with_for_update(of=StatusCheckItem)
    rows = session.execute(query.execution_options(populate_existing=True)).all()
    out = []
    for item, measure in rows:
        named = {int(e["milestone_id"]) for e in item.milestones or [] if "milestone_id" in e}
        milestones: list[Milestone] = []
        if item.measure_cycle_id is not None:
            milestones = [
                m
                for m in session.scalars(
                    select(Milestone)
                    .where(Milestone.measure_cycle_id == item.measure_cycle_id)
                    .order_by(Milestone.position)
                )
                if m.status == MilestoneStatus.OPEN.value or m.id in named
            ]
        indicators = list(
            session.scalars(
                select(Indicator)
                .join(indicator_measure, indicator_measure.c.indicator_id == Indicator.id)
                .where(indicator_measure.c.measure_id == measure.id, Indicator.active.is_(True))
                .order_by(Indicator.code)
            )
        )
        out.append(ItemContext(item, measure, milestones, indicators))
    return out


def check_item(ctx: ItemContext, answer: ItemAnswer, *, today: date) -> list[FieldError]:
    """What is wrong with one answer; empty when it may be stored. Pure."""
    errors: list[FieldError] = []
    if answer.stand not in {s.value for s in Stand}:
        errors.append(FieldError("stand", "status_form.error.stand_required"))
    if len(answer.note) > MAX_NOTE:
        errors.append(FieldError("note", "status_form.error.too_long", {"max": MAX_NOTE}))
    elif _CONTROL.search(answer.note):
        errors.append(FieldError("note", "status_form.error.control_character"))
    errors += _milestone_errors(ctx, answer, today)
    errors += _indicator_errors(ctx, answer)
    return errors


def _milestone_errors(ctx: ItemContext, answer: ItemAnswer, today: date) -> list[FieldError]:
    errors: list[FieldError] = []
    known = {m.id: m for m in ctx.milestones}
    seen: set[int] = set()
    for given in answer.milestones:
        name = f"ms-{given.milestone_id}"
        milestone = known.get(given.milestone_id)
        if milestone is None or given.milestone_id in seen:
            errors.append(FieldError(name, "status_form.error.milestone_unknown"))
            continue
        seen.add(given.milestone_id)
        if milestone.status != MilestoneStatus.OPEN.value and not _unchanged(ctx, given):
            # Settled by an earlier answer (or on its own day): a correction cannot undo it.
            errors.append(FieldError(name, "status_form.error.milestone_not_open"))
            continue
        if given.reached:
            continue
        if given.new_date is None:
            errors.append(FieldError(f"{name}-date", "status_form.error.new_date_required"))
        elif given.new_date < today:
            errors.append(FieldError(f"{name}-date", "status_form.error.new_date_past"))
        elif given.new_date > milestone_answers.latest_allowed(today):
            latest = f"{milestone_answers.latest_allowed(today):%d.%m.%Y}"
            errors.append(
                FieldError(f"{name}-date", "status_form.error.new_date_too_far", {"latest": latest})
            )
    return errors


def _unchanged(ctx: ItemContext, given: MilestoneAnswer) -> bool:
    return ctx.stored_milestone(given.milestone_id) == _milestone_json(given)


def _indicator_errors(ctx: ItemContext, answer: ItemAnswer) -> list[FieldError]:
    errors: list[FieldError] = []
    by_code = {i.code: i for i in ctx.indicators}
    for code, typed in answer.indicator_values.items():
        indicator = by_code.get(code)
        if indicator is None:
            errors.append(FieldError(f"ind-{code}"[:40], "status_form.error.indicator_unknown"))
            continue
        text = typed.strip()
        if not text:
            continue
        name = f"ind-{indicator.id}"
        if indicator.unit == Unit.TEXT:
            if len(text) > MAX_INDICATOR_TEXT:
                errors.append(
                    FieldError(name, "status_form.error.too_long", {"max": MAX_INDICATOR_TEXT})
                )
            elif _CONTROL.search(text):
                errors.append(FieldError(name, "status_form.error.control_character"))
            continue
        _, problem = check_number(indicator.unit, text)
        if problem is not None:
            errors.append(FieldError(name, problem))
    return errors


def record_answers(
    *,
    session: Session,
    clock: Clock,
    request_id: int,
    answers: Mapping[int, ItemAnswer],
    by: str,
) -> None:
    """Store the answers (keys: item ids of the part), all or nothing.

    Raises StatusCheckRefused ``not_in_scope`` (no such part, or an item of another part)
    or ``closed``, and AnswersRefused with every field error, before anything is written.
    """
    now = clock.now()
    request = session.scalars(
        select(StatusCheckRequest)
        .where(StatusCheckRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if request is None:
        raise StatusCheckRefused("not_in_scope", value=request_id)
    check = request.status_check
    if check.closed_at is not None:
        raise StatusCheckRefused("closed", status_check_id=check.id)
    contexts = {c.item.id: c for c in items_of(session, request_id=request.id, lock=True)}
    strangers = sorted(i for i in answers if i not in contexts)
    if strangers:
        raise StatusCheckRefused("not_in_scope", value=strangers[0])
    org = session.get(Organisation, request.organisation_id)
    assert org is not None, "foreign key"
    today = calendar_of(org).local_date(now)
    errors = {
        item_id: found
        for item_id, answer in answers.items()
        if (found := check_item(contexts[item_id], answer, today=today))
    }
    if errors:
        raise AnswersRefused(errors)
    if not answers:
        return
    contact = session.get(Contact, request.contact_id)
    actor_name = _name_of(session, by) or (contact.name if contact else "")
    for item_id in sorted(answers):
        _store(session, clock, contexts[item_id], answers[item_id], by, actor_name, now)
    if request.answered_at is None and all(c.answered for c in contexts.values()):
        # Every item has an answer: the sweep stops reminding; corrections keep the mark.
        request.answered_at = now
        request.answered_by = by
        request.next_action_at = None
    _forget_drafts(request, answers.keys())
    session.flush()
    # The part's count of answers so far: each submission confirms once, a correction too.
    revision = sum(c.item.revision for c in contexts.values())
    receipt = mail.confirmation(request, revision=revision, by=by, item_ids=sorted(answers))
    # The one who answered gets the receipt; after a hand-over the owner gets a copy.
    answerer = _contact_of(session, by) or request.contact
    queue_receipts(session, receipt, answerer=answerer, owner=request.contact, now=now)


def _store(
    session: Session,
    clock: Clock,
    ctx: ItemContext,
    answer: ItemAnswer,
    by: str,
    actor_name: str,
    now: datetime,
) -> None:
    item = ctx.item
    if item.answered_at is not None:
        item.history = [*(item.history or []), _snapshot(item)]
    item.stand = Stand(answer.stand).value
    item.note = answer.note.strip()
    item.milestones = [_milestone_json(m) for m in answer.milestones]
    item.indicator_values = {
        code: text.strip() for code, text in sorted(answer.indicator_values.items()) if text.strip()
    }
    item.answered_at = now
    item.answered_by = by
    item.revision += 1
    _apply_milestones(session, clock, ctx, answer, by)
    left_out = record_item_values(
        session=session, item=item, measure=ctx.measure, indicators=ctx.indicators,
        actor=by, actor_name=actor_name, now=now,
    )  # fmt: skip
    payload: dict[str, Any] = {
        "status_check_id": item.status_check_id,
        "stand": item.stand,
        "revision": item.revision,
    }
    if left_out:
        payload["indicator_values_left_out"] = left_out
    session.add(
        AuditEvent(
            organisation_id=item.organisation_id,
            measure_cycle_id=item.measure_cycle_id,
            at=now,
            actor=by,
            event=AUDIT_EVENT,
            from_state=None,
            to_state=None,
            payload=payload,
        )
    )


def _apply_milestones(
    session: Session, clock: Clock, ctx: ItemContext, answer: ItemAnswer, by: str
) -> None:
    """Tick off or move what is still open; an answer repeated by a correction changes nothing."""
    known = {m.id: m for m in ctx.milestones}
    for given in answer.milestones:
        milestone = known[given.milestone_id]
        if milestone.status != MilestoneStatus.OPEN.value:
            continue
        if given.reached:
            milestone_answers.confirm(session, clock=clock, milestone_id=milestone.id, by=by)
        elif given.new_date is not None and given.new_date != milestone.due_on:
            milestone_answers.move(
                session, clock=clock, milestone_id=milestone.id, new_date=given.new_date, by=by
            )


def _milestone_json(given: MilestoneAnswer) -> dict[str, Any]:
    out: dict[str, Any] = {"milestone_id": given.milestone_id, "reached": given.reached}
    if not given.reached and given.new_date is not None:
        out["new_date"] = given.new_date.isoformat()
    return out


def _snapshot(item: StatusCheckItem) -> dict[str, Any]:
    return {
        "stand": item.stand,
        "note": item.note,
        "milestones": list(item.milestones or []),
        "indicator_values": dict(item.indicator_values or {}),
        "answered_at": item.answered_at.isoformat() if item.answered_at else None,
        "answered_by": item.answered_by,
        "revision": item.revision,
    }


def _forget_drafts(request: StatusCheckRequest, item_ids: Any) -> None:
    prefixes = tuple(f"s-{i}-" for i in item_ids)
    kept = {k: v for k, v in (request.draft or {}).items() if not k.startswith(prefixes)}
    if kept != (request.draft or {}):
        request.draft = kept


def _contact_of(session: Session, actor: str) -> Contact | None:
    if actor.startswith("contact:") and actor[8:].isdigit():
        return session.get(Contact, int(actor[8:]))
    return None


def _name_of(session: Session, actor: str) -> str:
    """The display name behind ``contact:<id>``; other actors have none here."""
    if actor.startswith("contact:") and actor[8:].isdigit():
        contact = session.get(Contact, int(actor[8:]))
        return contact.name if contact else ""
    return ""
