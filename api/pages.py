"""The start page: where the current cycle stands, and in the demo the mails the sink caught."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from api.templating import render
from workflow import runtime
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.machine import LABELS_DE, State

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def start_page(request: Request) -> HTMLResponse:
    rt = runtime.current()
    with rt.sessions() as session:
        counts = dict(
            session.execute(
                select(MeasureCycle.state, func.count()).group_by(MeasureCycle.state)
            ).all()
        )
        cycles = session.scalars(select(Cycle).order_by(Cycle.year.desc())).all()
        years = [c.year for c in cycles]
    phases = [(LABELS_DE[s], counts.get(s.value, 0)) for s in State]
    sink = rt.settings.mail_sink_dir
    mails = sorted(sink.glob("*.eml"), reverse=True)[:20] if sink and sink.is_dir() else []
    return render(
        request,
        "start.html",
        {"phases": phases, "years": years, "mails": [m.name for m in mails]},
    )
