"""The page ``/postausgang``: the organisation's emails with their status and last error.

Where the dead-letter email sends a coordinator; reads the outbox table, never changes it
(sending again is ``POST /api/v1/outbox/{id}/resend``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from api.dashboard.common import page
from api.dashboard.organisation import translator
from api.deps import Coordinator, SessionDep
from api.i18n import language_of
from notifications.models import OutboxMessage, OutboxStatus
from notifications.render import KIND_LABELS
from workflow.catalogue.models import Measure
from workflow.cycles.models import MeasureCycle

router = APIRouter(include_in_schema=False)
SHOWN = 200
Status = Literal["", "pending", "sending", "sent", "dead", "included"]


@router.get("/postausgang", response_class=HTMLResponse)
def outbox_page(
    request: Request,
    user: Coordinator,
    session: SessionDep,
    status: Annotated[Status, Query()] = "",
) -> HTMLResponse:
    where = [OutboxMessage.organisation_id == user.organisation_id]
    if status:
        where.append(OutboxMessage.status == status)
    total = int(session.scalar(select(func.count(OutboxMessage.id)).where(*where)) or 0)
    messages = session.scalars(
        select(OutboxMessage)
        .where(*where)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(SHOWN)
    ).all()
    codes = dict(
        session.execute(
            select(MeasureCycle.id, Measure.code)
            .join(Measure, Measure.id == MeasureCycle.measure_id)
            .where(
                MeasureCycle.id.in_({m.measure_cycle_id for m in messages if m.measure_cycle_id})
            )
        ).all()
    )
    return page(
        request,
        "dashboard/outbox.html",
        user,
        t=translator(request),
        messages=messages,
        codes=codes,
        total=total,
        status=status,
        statuses=[s.value for s in OutboxStatus],
        kind_labels=KIND_LABELS[language_of(request)],
    )
