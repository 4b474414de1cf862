"""What a status request email shows: the asker, their note, and per measure its latest target
agreement and latest review (of any cycle), as (label, value) pairs in the reader's language.

Read at rendering time, so the contact sees the answers as they stand when the email leaves.
Reads only; the request itself is workflow/bodies/status_request.py.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.answers import answer_pairs
from workflow.cycles.models import Cycle, MeasureCycle, Review, TargetAgreement


def _latest(
    session: Session, model: type[TargetAgreement] | type[Review], measure_cycle_id: int
) -> tuple[int, int] | None:
    """(measure-in-cycle id, year) of the measure's newest answer of this kind, if any."""
    measure_id = select(MeasureCycle.measure_id).where(MeasureCycle.id == measure_cycle_id)
    row = session.execute(
        select(MeasureCycle.id, Cycle.year)
        .join(model, model.measure_cycle_id == MeasureCycle.id)
        .join(Cycle, Cycle.id == MeasureCycle.cycle_id)
        .where(MeasureCycle.measure_id.in_(measure_id.scalar_subquery()))
        .order_by(Cycle.year.desc())
        .limit(1)
    ).first()
    return (int(row[0]), int(row[1])) if row else None


def _section(
    session: Session, model: type[TargetAgreement] | type[Review], mc_id: int, lang: str
) -> dict[str, Any] | None:
    found = _latest(session, model, mc_id)
    if found is None:
        return None
    phase = "review" if model is Review else "target_agreement"
    pairs = [
        [label, value.replace("\r\n", "\n").replace("\r", "\n")]
        for label, value in answer_pairs(session, found[0], phase, lang)
    ]
    return {"year": found[1], "pairs": pairs}


def status_request_context(
    session: Session, context: dict[str, Any], items: list[dict[str, Any]], lang: str
) -> dict[str, Any]:
    """Fills each item's ``agreement`` and ``review``; returns the email's own keys."""
    for item in items:
        item["agreement"] = _section(session, TargetAgreement, item["measure_cycle_id"], lang)
        item["review"] = _section(session, Review, item["measure_cycle_id"], lang)
    return {
        "asked_by": str(context.get("asked_by", "")),
        "body_name": str(context.get("body_name", "")),
        "note": str(context.get("note", "")),
        "reply_to": str(context.get("reply_to", "")),
    }
