"""Deleting a cycle opened by mistake, and only while it is empty; callers own the transaction.

A cycle is *empty* when nothing has happened in it since it was opened:

- no measure in it has an audit event other than its opening (no move, no extension, no
  coordinator's step);
- no answer exists for any of its measures (Erstgespräch, Zielvereinbarung, Review) and no
  contact has begun a form (no form draft);
- no measure was carried forward into it: opening moved last year's stay on, and only this
  cycle completes that move, so deleting it would strand last year's proposal.

Messages queued or sent for it (the invitations) and its form links are deleted with it, so an
invitation's link then opens nothing; one audit event of the organisation records the deletion.
Any other row that refers to the cycle (a later feature's) refuses the deletion as well.
Never deletes a cycle that is not empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage, OutboxStatus
from workflow.cycles.models import (
    AuditEvent,
    Cycle,
    Interview,
    MeasureCycle,
    Review,
    TargetAgreement,
)
from workflow.forms.models import FormDraft
from workflow.forms.tokens import FormToken

OPENED = "open_cycle"
DELETED = "delete_cycle"


class CycleNotEmpty(Exception):
    """The cycle of ``year`` is not empty; ``reasons`` counts what is in it, by code.

    Codes: ``moved`` (measures with an event after their opening), ``answers`` (recorded
    Erstgespräche, agreements, reviews), ``drafts`` (forms a contact has begun),
    ``carried_forward`` (measures carried forward into it), ``references`` (other rows).
    """

    code = "cycle_not_empty"

    def __init__(self, *, year: int, reasons: dict[str, int]) -> None:
        super().__init__(f"cycle {year} is not empty: {reasons}")
        self.year = year
        self.reasons = reasons


@dataclass(frozen=True)
class DeletedCycle:
    year: int
    measures: int
    messages: int
    links: int


def delete_empty_cycle(
    *, session: Session, cycle_id: int, actor: str, now: datetime
) -> DeletedCycle:
    """Delete the cycle and what its opening created, or raise CycleNotEmpty and change nothing."""
    cycle = session.get_one(Cycle, cycle_id, with_for_update=True)
    # Locked, so no move, answer or event can join the cycle between the check and the delete.
    stays = session.execute(
        select(MeasureCycle.id, MeasureCycle.draft)
        .where(MeasureCycle.cycle_id == cycle.id)
        .with_for_update()
    ).all()
    ids = [row.id for row in stays]
    reasons = _contents(session, ids)
    carried = sum(1 for row in stays if "from_measure_cycle_id" in (row.draft or {}))
    if carried:
        reasons["carried_forward"] = carried
    if reasons:
        raise CycleNotEmpty(year=cycle.year, reasons=reasons)
    sent = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.measure_cycle_id.in_(ids), OutboxMessage.status == OutboxStatus.SENT)
    )
    try:
        with session.begin_nested():
            messages = _delete(
                session, delete(OutboxMessage).where(OutboxMessage.measure_cycle_id.in_(ids))
            )
            links = _delete(session, delete(FormToken).where(FormToken.cycle_id == cycle.id))
            _delete(
                session,
                delete(AuditEvent).where(
                    AuditEvent.measure_cycle_id.in_(ids), AuditEvent.event == OPENED
                ),
            )
            _delete(session, delete(MeasureCycle).where(MeasureCycle.cycle_id == cycle.id))
            _delete(session, delete(Cycle).where(Cycle.id == cycle.id))
    except IntegrityError:
        raise CycleNotEmpty(year=cycle.year, reasons={"references": 1}) from None
    session.expunge(cycle)
    session.add(
        AuditEvent(
            organisation_id=cycle.organisation_id,
            measure_cycle_id=None,
            at=now,
            actor=actor,
            event=DELETED,
            from_state=None,
            to_state=None,
            payload={
                "year": cycle.year,
                "opened_at": cycle.opened_at.isoformat(),
                "measures": len(ids),
                "messages": messages,
                "messages_sent": sent or 0,
                "links": links,
            },
        )
    )
    return DeletedCycle(year=cycle.year, measures=len(ids), messages=messages, links=links)


def _contents(session: Session, ids: list[int]) -> dict[str, int]:
    """What is in the cycle beyond its opening, counted by reason; empty if nothing."""
    moved = session.scalar(
        select(func.count(func.distinct(AuditEvent.measure_cycle_id))).where(
            AuditEvent.measure_cycle_id.in_(ids), AuditEvent.event != OPENED
        )
    )
    answers = sum(
        session.scalar(
            select(func.count()).select_from(model).where(model.measure_cycle_id.in_(ids))
        )
        or 0
        for model in (Interview, TargetAgreement, Review)
    )
    drafts = session.scalar(
        select(func.count()).select_from(FormDraft).where(FormDraft.measure_cycle_id.in_(ids))
    )
    found = {"moved": moved or 0, "answers": answers, "drafts": drafts or 0}
    return {reason: n for reason, n in found.items() if n}


def _delete(session: Session, statement: Delete) -> int:
    # Bulk deletes: the session holds none of these rows, so there is nothing to synchronise.
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(cast(CursorResult[Any], result).rowcount or 0)
