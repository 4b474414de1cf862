"""Many moves of measures-in-cycle in one request and one transaction: all of them or none.

Each item goes through the same service call as ``POST /api/v1/measure-cycles/{id}/transitions``
(``coordination.perform``) and, when refused, gets the same answer that endpoint would give
(``measure_cycles.refusal_of``): code, sentence, allowed events. One refused item refuses the
batch; the request's transaction is then rolled back, so nothing of it stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import Coordinator, SessionDep, actor_of, organisation_of
from api.errors import ApiError, reader_language, words_of
from api.i18n import translate_plural, words_in_effect
from api.routes.common import not_found
from api.routes.measure_cycles import REFUSALS, refusal_of
from api.routes.schemas import (
    ERRORS,
    BatchIn,
    BatchItemError,
    BatchItemIn,
    BatchItemOut,
    BatchOut,
    BatchRefusedOut,
)
from workflow import runtime
from workflow.cycles import coordination
from workflow.cycles.locked_stay import LockedStay
from workflow.cycles.models import MeasureCycle
from workflow.machine import LABELS_DE, State

router = APIRouter(
    prefix="/api/v1/measure-cycles",
    tags=["measure-cycles"],
    responses={
        **ERRORS,
        409: {"model": BatchRefusedOut, "description": "Mindestens eine Änderung abgelehnt"},
    },
)

_DESCRIPTION = """
Applies up to 500 events, each exactly as ``POST /api/v1/measure-cycles/{id}/transitions``
would (same body plus ``id``; ``version`` is the expected version), in the order given and in
one transaction.

* All accepted: 200 with each item's new state and version, in the order given.
* Any refused: **409** ``batch_refused`` and nothing is changed. ``details.items`` lists each
  refused item (``index`` in the batch, ``id``) with the ``status``, ``code``, ``message``
  and ``details`` the single endpoint would have answered (e.g. ``move_refused`` with
  ``allowed_events``, ``version_conflict``, ``payload_invalid``, ``not_found``). Items after
  a refused one are still checked, against the state the earlier items would have left.
* 422 ``validation_error`` only for a malformed request: no items, more than 500, an id
  twice, a field missing or unknown.
"""


@router.post(
    "/transitions",
    response_model=BatchOut,
    summary="Mehrere Ereignisse auf einmal anwenden (alle oder keines)",
    description=_DESCRIPTION,
)
def transitions(
    body: BatchIn, user: Coordinator, session: SessionDep, request: Request
) -> BatchOut:
    moved, refused = apply_batch(
        session,
        organisation_id=organisation_of(session, user).id,
        items=body.items,
        actor=actor_of(user),
    )
    if refused:
        raise _batch_refused(request, refused)
    return BatchOut(
        items=[
            BatchItemOut(
                id=mc.id,
                state=mc.state,
                state_label=LABELS_DE[State(mc.state)],
                version=mc.version,
            )
            for mc in moved
        ]
    )


Refused = tuple[int, BatchItemIn, ApiError]


def apply_batch(
    session: Session, *, organisation_id: int, items: Sequence[BatchItemIn], actor: str
) -> tuple[list[MeasureCycle | LockedStay], list[Refused]]:
    """Every item in order, in the caller's transaction: the moved rows and the refusals
    (index, item, the single endpoint's answer). With any refusal the caller must roll back;
    later items are still tried, so the answer names every refused one at once."""
    owned = _lock_owned(session, organisation_id, [i.id for i in items])
    moved: list[MeasureCycle | LockedStay] = []
    refused: list[Refused] = []
    for index, item in enumerate(items):
        if item.id not in owned:
            refused.append((index, item, not_found("measure_cycle", item.id)))
            continue
        try:
            moved.append(_move(session, item, actor))
        except REFUSALS as exc:
            refused.append((index, item, refusal_of(exc)))
    return moved, refused


def _lock_owned(session: Session, organisation_id: int, ids: list[int]) -> set[int]:
    """The ids that are the organisation's, locked in id order: two batches that share items
    then wait for each other instead of deadlocking (PostgreSQL; SQLite locks the file)."""
    return set(
        session.scalars(
            select(MeasureCycle.id)
            .where(MeasureCycle.id.in_(ids), MeasureCycle.organisation_id == organisation_id)
            .order_by(MeasureCycle.id)
            .with_for_update()
        )
    )


def _move(session: Session, item: BatchItemIn, actor: str) -> MeasureCycle | LockedStay:
    return coordination.perform(
        session=session,
        clock=runtime.current().clock,
        measure_cycle_id=item.id,
        event=item.event,
        expected_version=item.version,
        actor=actor,
        payload=item.payload,
    )


def _batch_refused(request: Request, refused: list[Refused]) -> ApiError:
    lang = reader_language(request)
    words = words_of(request)
    with words_in_effect(words or {}):
        items = [
            BatchItemError(
                index=index,
                id=item.id,
                status=error.status,
                code=error.code,
                message=error.text(lang, words),
                details=_plain(error.details),
            ).model_dump()
            for index, item, error in refused
        ]
    count = len(refused)
    return ApiError(
        409,
        "batch_refused",
        details={"items": items},
        wording=lambda lang: translate_plural("measure_cycles.batch_refused", count, lang),
    )


def _plain(details: Any) -> dict[str, Any]:
    return dict(details) if isinstance(details, dict) else {"value": details}
