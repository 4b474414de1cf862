"""The indicator pages: ``/kennzahlen`` (last value, trend, open data requests) and one indicator.

Reads for everyone signed in; the one action (remind a source now) is the coordinator's.
Texts come from ``api/locales/indicators.*.json`` through ``t()`` in the templates, so the
dashboard's own catalogue check stays about the dashboard's keys; ``tests/
test_indicator_pages.py`` checks these.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.csrf import require_csrf
from api.dashboard.common import RowId, flash, page, redirect
from api.dashboard.indicator_cells import cell_view, shown_value
from api.dashboard.page_error import not_found
from api.deps import Coordinator, Reader, SessionDep, actor_of, organisation_of, today_of
from api.i18n import language_of, translate
from notifications.outbox import enqueue
from workflow import runtime
from workflow.accounts import User
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import MeasureCycle
from workflow.deadlines import days_overdue
from workflow.indicators import requests as data_requests
from workflow.indicators.extension import MAX_REASON, ExtensionRefused, extend_request
from workflow.indicators.mail import format_number, request_period_label, unit_label
from workflow.indicators.models import DataRequest, Indicator, IndicatorValue, RequestStatus
from workflow.indicators.summary import IndicatorSummary, summarise

router = APIRouter(include_in_schema=False)
SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 120, 32, 3


@dataclass(frozen=True)
class Sparkline:
    """Coordinates of an inline SVG polyline; numbers only, so autoescape leaves them alone."""

    points: str
    last: tuple[float, float]
    flagged: tuple[tuple[float, float], ...]
    label: str


def sparkline(values: Sequence[tuple[float, bool]], label: str) -> Sparkline | None:
    """Evenly spaced points scaled into the box; None below two values."""
    if len(values) < 2:
        return None
    numbers = [v for v, _ in values]
    low, high = min(numbers), max(numbers)
    span = (high - low) or 1.0
    step = (SPARK_WIDTH - 2 * SPARK_PAD) / (len(values) - 1)
    coords = [
        (
            round(SPARK_PAD + i * step, 1),
            round(SPARK_HEIGHT - SPARK_PAD - (v - low) / span * (SPARK_HEIGHT - 2 * SPARK_PAD), 1),
        )
        for i, v in enumerate(numbers)
    ]
    return Sparkline(
        points=" ".join(f"{x},{y}" for x, y in coords),
        last=coords[-1],
        flagged=tuple(c for c, (_, f) in zip(coords, values, strict=True) if f),
        label=label,
    )


def _translator(request: Request) -> Callable[..., str]:
    lang = language_of(request)
    return lambda key, **values: translate(key, lang, **values)


def _open_requests(session: Session, org_id: int) -> dict[int, list[DataRequest]]:
    out: dict[int, list[DataRequest]] = defaultdict(list)
    for request in session.scalars(
        select(DataRequest)
        .where(
            DataRequest.organisation_id == org_id,
            DataRequest.status == RequestStatus.OPEN.value,
        )
        .order_by(DataRequest.due_on)
    ).unique():
        out[request.indicator_id].append(request)
    return out


def _row(
    indicator: Indicator,
    summary: IndicatorSummary,
    requests: list[DataRequest],
    lang: str,
    t: Callable[..., str],
    days: Callable[[DataRequest], int],
) -> dict[str, Any]:
    numeric = [(p.value, p.flagged) for p in summary.points if p.value is not None]
    last_point = next((p for p in reversed(summary.points) if p.value is not None), None)
    return {
        "indicator": indicator,
        "summary": summary,
        "unit_label": unit_label(indicator.unit, lang),
        # Rounded by the unit as every value is; never the stored float (29.66 -> "29,7 %").
        "target": None
        if indicator.target_value is None
        else format_number(indicator.target_value, indicator.unit, lang),
        "last": format_number(summary.last_value, indicator.unit, lang)
        if summary.last_value is not None
        else "–",
        "last_date": last_point.survey_date if last_point else None,
        "last_flagged": bool(last_point and last_point.flagged),
        "spark": sparkline(numeric, t("ind.spark_label", code=indicator.code, trend=summary.trend)),
        "requests": [
            {
                "id": r.id,
                "period": request_period_label(r, lang),
                "due_on": r.due_on,
                "days_overdue": days(r),
                "level": r.escalation_level,
                "contact": r.contact.name,
            }
            for r in requests
        ],
    }


@router.get("/kennzahlen", response_class=HTMLResponse)
def indicators_page(request: Request, user: Reader, session: SessionDep) -> HTMLResponse:
    org = organisation_of(session, user)
    lang, t = language_of(request), _translator(request)
    cal, now = calendar_of(org), runtime.current().clock.now()
    indicators = session.scalars(
        select(Indicator)
        .where(Indicator.organisation_id == org.id, Indicator.active.is_(True))
        .options(selectinload(Indicator.goals), selectinload(Indicator.measures))
        .order_by(Indicator.code)
    ).all()
    values: dict[int, list[IndicatorValue]] = defaultdict(list)
    for value in session.scalars(
        select(IndicatorValue).where(
            IndicatorValue.organisation_id == org.id,
            IndicatorValue.district == "",
            IndicatorValue.cell == "",
            IndicatorValue.survey_date <= today_of(org),
        )
    ):
        values[value.indicator_id].append(value)
    requests = _open_requests(session, org.id)
    rows = [
        _row(
            i,
            summarise(i, values[i.id]),
            requests.get(i.id, []),
            lang,
            t,
            lambda r: days_overdue(r.due_on, now, cal),
        )
        for i in indicators
    ]
    return page(
        request,
        "dashboard/indicators.html",
        user,
        t=t,
        rows=rows,
        open_total=sum(len(r["requests"]) for r in rows),
    )


@router.get("/kennzahlen/{indicator_id}", response_class=HTMLResponse)
def indicator_page(
    request: Request, indicator_id: RowId, user: Reader, session: SessionDep
) -> HTMLResponse:
    indicator = session.get(Indicator, indicator_id)
    if indicator is None or indicator.organisation_id != user.organisation_id:
        raise not_found("indicator")
    return _indicator_view(request, session, user, indicator)


def _indicator_view(
    request: Request,
    session: Session,
    user: User,
    indicator: Indicator,
    *,
    status_code: int = 200,
    extension: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The indicator's page; ``extension`` re-shows a refused extension with what was typed."""
    org = organisation_of(session, user)
    lang, t = language_of(request), _translator(request)
    cal, now = calendar_of(org), runtime.current().clock.now()
    all_values = session.scalars(
        select(IndicatorValue)
        .where(IndicatorValue.indicator_id == indicator.id)
        .order_by(IndicatorValue.survey_date.desc(), IndicatorValue.district)
    ).all()
    summary = summarise(indicator, [v for v in all_values if v.district == "" and v.cell == ""])
    requests = session.scalars(
        select(DataRequest)
        .where(DataRequest.indicator_id == indicator.id)
        .order_by(DataRequest.due_on.desc())
    ).unique()
    row = _row(indicator, summary, [], lang, t, lambda r: 0)
    answers = _answers_of(session, [v.measure_cycle_id for v in all_values])
    return page(
        request,
        "dashboard/indicator.html",
        user,
        status_code=status_code,
        t=t,
        row=row,
        cells=cell_view(session, indicator, all_values, lang, t),
        extension=extension or {},
        # The earliest new due date an extension accepts (``extension.extend_request``).
        earliest_due=(today_of(org) + timedelta(days=1)).isoformat(),
        values=[
            {
                "row": v,
                "shown": v.report
                if v.value is None and v.report
                else (
                    shown_value(v, indicator.unit, lang, t)
                    + (f" ({' / '.join(str(c) for c in v.counts)})" if v.counts else "")
                ),
                "answer": answers.get(v.measure_cycle_id or 0),
            }
            for v in all_values
        ],
        requests=[
            {
                "row": r,
                "period": request_period_label(r, lang),
                "days_overdue": days_overdue(r.due_on, now, cal)
                if r.status == RequestStatus.OPEN.value
                else 0,
            }
            for r in requests
        ],
    )


def _answers_of(session: Session, ids: list[int | None]) -> dict[int, dict[str, Any]]:
    """Which review reported a value: its measure's code and its cycle's year, by stay id."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.scalars(select(MeasureCycle).where(MeasureCycle.id.in_(wanted))).unique()
    return {mc.id: {"code": mc.measure.code, "year": mc.cycle.year, "id": mc.id} for mc in rows}


@router.post(
    "/kennzahlen/anfragen/{request_id}/erinnern",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
def remind(request: Request, request_id: RowId, user: Coordinator, session: SessionDep) -> Response:
    row = session.get(DataRequest, request_id, with_for_update={"of": DataRequest})
    if row is None or row.organisation_id != user.organisation_id:
        raise not_found("data_request")
    if row.status == RequestStatus.OPEN.value:
        day = today_of(organisation_of(session, user)).isoformat()
        queued = enqueue(
            session,
            [data_requests.reminder_by_coordinator(row, day=day)],
            now=runtime.current().clock.now(),
        )
        flash(request, "ind.reminded" if queued else "ind.reminded_already")
    return redirect("/kennzahlen")


@router.post(
    "/kennzahlen/anfragen/{request_id}/verlaengern",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def extend(
    request: Request, request_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    """A new due date for an open data request; a refused one shows the page with what was typed."""
    row = session.get(DataRequest, request_id)
    if row is None or row.organisation_id != user.organisation_id:
        raise not_found("data_request")
    form = await request.form()
    typed = {k: str(form.get(k, ""))[: MAX_REASON + 1] for k in ("due_on", "reason")}
    try:
        due_on = date.fromisoformat(typed["due_on"].strip())
    except ValueError:
        error: tuple[str, dict[str, Any]] | None = ("date_invalid", {})
    else:
        error = None
        try:
            extend_request(
                session=session,
                clock=runtime.current().clock,
                organisation_id=user.organisation_id,
                request_id=request_id,
                due_on=due_on,
                reason=typed["reason"],
                actor=actor_of(user),
            )
        except ExtensionRefused as refused:
            error = (refused.code, refused.params)
    if error is not None:
        code, params = error
        message = translate(f"data.extend.error.{code}", language_of(request), **params)
        extension = {"request_id": request_id, "error": message, **typed}
        return _indicator_view(
            request, session, user, row.indicator, status_code=422, extension=extension
        )
    flash(request, "ind.extended")
    return redirect(f"/kennzahlen/{row.indicator_id}")
