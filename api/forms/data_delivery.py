"""The data-delivery form behind ``/f/<token>`` for data source contacts: show, keep a draft,
submit, hand on, thank.

``api.forms.routes`` checks the token (and the client's rate limit) and hands a valid
``data_delivery`` token to these functions, inside its unit of work. Never logs a token,
never builds a link from the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.forms import view
from api.i18n import translate
from api.templating import render
from workflow import runtime
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.forms.tokens import FormToken, form_url
from workflow.forms.validation import FieldError
from workflow.indicators import delivery
from workflow.indicators.delivery import DataScope, RequestItem
from workflow.indicators.mail import (
    WORDS,
    format_date,
    format_number,
    request_period_label,
    unit_label,
)
from workflow.indicators.models import Computation, Unit
from workflow.indicators.validation import SCALE_POINTS, cell_prefix

TEMPLATE = "forms/data_delivery.html"
NOTICES = {"saved", "delegated"}
UNIT_HINTS = {
    Unit.PERCENT: "data.unit_hint.percent",
    Unit.COUNT: "data.unit_hint.count",
    Unit.RATE: "data.unit_hint.rate",
    Unit.CURRENCY: "data.unit_hint.currency",
    Unit.INDEX: "data.unit_hint.index",
}


def form_link(raw: str, suffix: str = "", query: str = "") -> str:
    url = form_url(runtime.current().settings.base_url, raw)
    return url + (f"/{suffix}" if suffix else "") + (f"?{query}" if query else "")


@dataclass(frozen=True)
class CellRow:
    prefix: str  # of the row's field names: "" for the total, "k<n>-" for a cell
    label: str
    stored: str  # the value stored for the cell (computed, when it computes), formatted


def cell_rows(item: RequestItem, lang: str) -> list[CellRow]:
    """The form's table of cells; empty when the indicator asks for one typed value."""
    indicator = item.request.indicator
    computes = indicator.computation != Computation.TYPED
    if indicator.unit in (Unit.TEXT, Unit.SCALE) or not (item.cells or computes):
        return []
    stored = {v.cell: v.value for v in item.values if v.district == ""}

    def shown(cell: str) -> str:
        value = stored.get(cell)
        return "" if value is None else format_number(value, indicator.unit, lang)

    rows = [CellRow("", translate("data.cell.total", lang), shown(""))]
    for position, cell in enumerate(item.cells, start=1):
        label = item.cell_labels.get(cell, cell)
        rows.append(CellRow(cell_prefix(position), label, shown(cell)))
    return rows


@dataclass
class RequestView:
    id: int
    code: str
    statement: str
    base_figures: str
    unit: str
    unit_label: str
    unit_hint: str
    period_label: str
    due_on: str
    district: str
    districts: list[str]
    source_label: str
    is_open: bool
    delivered_on: str
    delivered_by: str
    values: dict[str, str]
    errors: dict[str, FieldError]
    unusual: set[str]
    history: list[dict[str, Any]] = field(default_factory=list)
    scale_points: range = range(1, SCALE_POINTS + 1)
    # One row per cell, the total first, when the indicator has breakdowns or computes.
    cells: list[CellRow] = field(default_factory=list)
    computation: str = Computation.TYPED
    numerator_label: str = ""
    denominator_label: str = ""

    @property
    def flagged(self) -> bool:
        return bool(self.unusual)


def request_views(
    session: Session,
    scope: DataScope,
    items: list[RequestItem],
    lang: str,
    *,
    posted: dict[int, dict[str, str]] | None = None,
    errors: dict[int, list[FieldError]] | None = None,
) -> list[RequestView]:
    cal = calendar_of(scope.organisation)
    today = cal.local_date(runtime.current().clock.now())
    views = []
    for item in items:
        request, indicator = item.request, item.request.indicator
        typed = (posted or {}).get(request.id)
        values = typed or delivery.shown_raw(item)
        if typed is not None:
            checked = delivery.check(item, typed, today)
            unusual = delivery.unusual(session, item, checked) if not checked.errors else set()
        else:
            unusual = _stored_flags(item)
        views.append(
            RequestView(
                id=request.id,
                code=indicator.code,
                statement=indicator.statement,
                base_figures=indicator.base_figures,
                unit=indicator.unit,
                unit_label=unit_label(indicator.unit, lang),
                unit_hint=UNIT_HINTS.get(Unit(indicator.unit), ""),
                period_label=request_period_label(request, lang),
                due_on=format_date(request.due_on, lang),
                district=indicator.district,
                districts=list(indicator.districts or []),
                source_label=indicator.source_label,
                is_open=item.is_open,
                delivered_on=(
                    format_date(cal.local_date(request.delivered_at), lang)
                    if request.delivered_at
                    else ""
                ),
                delivered_by=item.values[0].delivered_by_name if item.values else "",
                values=values,
                errors={e.field: e for e in (errors or {}).get(request.id, [])},
                unusual=unusual,
                history=[
                    {
                        "date": format_date(v.survey_date, lang),
                        "value": v.report[:80]
                        if v.value is None
                        else format_number(v.value, indicator.unit, lang),
                        "flagged": v.flagged,
                    }
                    for v in item.history
                ],
                cells=cell_rows(item, lang),
                computation=indicator.computation,
                numerator_label=indicator.numerator_label,
                denominator_label=indicator.denominator_label,
            )
        )
    return views


def _stored_flags(item: RequestItem) -> set[str]:
    districts = list(item.request.indicator.districts or [])
    names = set()
    for value in item.values:
        if not value.flagged:
            continue
        if value.counts is not None:
            names.add("c1")
        elif value.cell in item.cells:
            names.add(cell_prefix(item.cells.index(value.cell) + 1) + "value")
        elif value.district in districts:
            names.add(f"value-{districts.index(value.district)}")
        else:
            names.add("value")
    return names


def _summary(views: list[RequestView], _: Any) -> list[dict[str, str]]:
    return [
        {"href": f"#r-{v.id}-{name}", "text": f"{v.code}: {_(e.key, **e.values)}"}
        for v in views
        for name, e in v.errors.items()
    ]


def page(
    request: Request,
    session: Session,
    token: FormToken,
    raw: str,
    lang: str,
    *,
    status: int = 200,
    posted: dict[int, dict[str, str]] | None = None,
    errors: dict[int, list[FieldError]] | None = None,
    notice: str = "",
    delegate_values: dict[str, str] | None = None,
    delegate_errors: list[FieldError] | None = None,
) -> Response:
    scope = delivery.scope_of(session, token)
    today = calendar_of(scope.organisation).local_date(runtime.current().clock.now())
    items = delivery.items_in_scope(session, scope, today=today)
    _ = view.translator(lang)
    views = request_views(session, scope, items, lang, posted=posted, errors=errors)
    if not notice and request.query_params.get("notice") in NOTICES:
        notice = request.query_params["notice"]
    summary = _summary(views, _)
    summary += [
        {"href": f"#{e.field}", "text": _(e.key, **e.values)} for e in delegate_errors or []
    ]
    return render(
        request,
        TEMPLATE if items else "forms/data_delivery_nothing_open.html",
        {
            "lang": lang,
            "_": _,
            "scope": scope,
            "requests": views,
            "open_count": sum(1 for v in views if v.is_open),
            "summary": summary,
            "action": form_link(raw, query=f"lang={lang}"),
            "draft_action": form_link(raw, "draft"),
            "delegate_action": form_link(raw, "delegate", query=f"lang={lang}"),
            "delegate_text": "data.delegate.text",
            "delegate": delegate_values or {},
            "delegate_errors": {e.field: e for e in delegate_errors or []},
            "language_links": {code: form_link(raw, query=f"lang={code}") for code in ("de", "en")},
            "notice": notice,
        },
        status_code=status,
    )


def post(
    request: Request,
    session: Session,
    token: FormToken,
    raw: str,
    form: FormData,
    clock: Clock,
    lang: str,
) -> Response:
    scope = delivery.scope_of(session, token)
    posted = delivery.split_posted(form.multi_items())
    action = form.get("action")
    only: set[int] | None = None
    if isinstance(action, str) and action.startswith("submit:") and action[7:].isdigit():
        only = {int(action[7:])}
    if action == "save":
        delivery.save_posted(session=session, scope=scope, posted=posted, now=clock.now())
        return RedirectResponse(form_link(raw, query=f"lang={lang}&notice=saved"), status_code=303)
    outcome = delivery.submit(session=session, clock=clock, scope=scope, posted=posted, only=only)
    if not outcome.ok:
        return page(
            request, session, token, raw, lang, status=422, posted=posted, errors=outcome.errors
        )
    return RedirectResponse(form_link(raw, "danke", query=f"lang={lang}"), status_code=303)


def thanks(request: Request, session: Session, token: FormToken, raw: str, lang: str) -> Response:
    scope = delivery.scope_of(session, token)
    today = calendar_of(scope.organisation).local_date(runtime.current().clock.now())
    items = delivery.items_in_scope(session, scope, today=today)
    views = request_views(session, scope, items, lang)
    return render(
        request,
        "forms/data_delivery_thanks.html",
        {
            "lang": lang,
            "_": view.translator(lang),
            "scope": scope,
            "delivered": [v for v in views if not v.is_open],
            "open_count": sum(1 for v in views if v.is_open),
            "back": form_link(raw, query=f"lang={lang}"),
            "copies": {item.request.id: _copy(item, lang) for item in items if not item.is_open},
        },
    )


def _copy(item: RequestItem, lang: str) -> list[tuple[str, str, bool]]:
    """The delivered values as (label, value, flagged) for the thanks page."""
    words = WORDS["en" if lang == "en" else "de"]
    unit = item.request.indicator.unit
    out = []
    if item.values:
        out.append((words["survey_date"], format_date(item.values[0].survey_date, lang), False))
    for value in item.values:
        if unit == Unit.TEXT:
            out.append((words["report"], value.report, False))
        elif unit == Unit.SCALE:
            counts = " / ".join(str(c) for c in value.counts or [])
            mean = format_number(value.value, unit, lang)
            out.append((words["counts"], f"{counts} ({words['mean']} {mean})", value.flagged))
        else:
            label = value.district or words["city"]
            out.append((label, format_number(value.value, unit, lang), value.flagged))
    return out
