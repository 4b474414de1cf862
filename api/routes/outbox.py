"""JSON routes of the outbox: what was sent, what waits, what failed; resend a message."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from sqlalchemy import func, select

from api.deps import Coordinator, SessionDep
from api.errors import ApiError
from api.routes.common import not_found
from api.routes.schemas import ERRORS, MAX_ID, OutboxOut, OutboxPage
from notifications.models import OutboxMessage, OutboxStatus
from workflow import runtime
from workflow.privacy.retention import pruned_after

router = APIRouter(prefix="/api/v1/outbox", tags=["outbox"], responses=ERRORS)
RESENDABLE = (OutboxStatus.SENT.value, OutboxStatus.DEAD.value)


@router.get("", response_model=OutboxPage, summary="Nachrichten im Postausgang")
def list_outbox(
    user: Coordinator,
    session: SessionDep,
    status: Literal["pending", "sending", "sent", "dead", "included"] | None = None,
    kind: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")] = None,
    measure_cycle_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OutboxPage:
    where = [OutboxMessage.organisation_id == user.organisation_id]
    if status:
        where.append(OutboxMessage.status == status)
    if kind:
        where.append(OutboxMessage.kind == kind)
    if measure_cycle_id:
        where.append(OutboxMessage.measure_cycle_id == measure_cycle_id)
    total = int(session.scalar(select(func.count(OutboxMessage.id)).where(*where)) or 0)
    rows = session.scalars(
        select(OutboxMessage)
        .where(*where)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return OutboxPage(
        items=[OutboxOut.model_validate(m) for m in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.post("/{message_id}/resend", response_model=OutboxOut, summary="Erneut senden")
def resend(
    message_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: Coordinator, session: SessionDep
) -> OutboxOut:
    message = session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None or message.organisation_id != user.organisation_id:
        raise not_found("message", message_id)
    if message.status not in RESENDABLE:
        raise ApiError(
            409,
            "not_resendable",
            details={"status": message.status},
            reason="api.not_resendable",
        )
    if (days := pruned_after(message.context)) is not None:
        # Its content was deleted under the retention setting: there is nothing left to send.
        raise ApiError(
            409, "not_resendable", details={"pruned_after_days": days}, reason="api.pruned"
        )
    message.status = OutboxStatus.PENDING.value
    message.attempts = 0
    message.not_before = runtime.current().clock.now()
    message.lease_until = None
    message.last_error = ""
    session.flush()
    return OutboxOut.model_validate(message)
