"""JSON routes of the indicators: definitions (CRUD, archive instead of delete), their values,
and the data requests. Coordinators and admins write, everyone signed in reads.

Every reference must belong to the caller's organisation; values are checked by unit and
flagged (never refused) when far from the series.
"""

# No ``from __future__ import annotations``: FastAPI must see the body models as objects.
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.deps import Coordinator, Reader, SessionDep, actor_of, organisation_of, today_of
from api.errors import ApiError
from api.i18n import reader_language, translate
from api.routes.common import field_empty, not_found, unknown_reference
from api.routes.schemas import ERRORS, MAX_ID, NoNul
from notifications.outbox import enqueue
from workflow import runtime
from workflow.accounts import User
from workflow.catalogue.models import Contact, Goal, Measure
from workflow.cycles.calendar import calendar_of
from workflow.deadlines import days_overdue
from workflow.indicators import requests as data_requests
from workflow.indicators.breakdown import (
    TOTAL,
    cell_from_text,
    cell_key,
    is_cell_of,
    parse_cell,
)
from workflow.indicators.dimensions import (
    dimensions_of,
    ensure_standard_dimensions,
    indicator_dimensions,
)
from workflow.indicators.extension import ExtensionRefused, extend_request
from workflow.indicators.models import (
    Computation,
    DataRequest,
    Indicator,
    IndicatorValue,
    RequestStatus,
)
from workflow.indicators.rhythm import RhythmSpec
from workflow.indicators.rhythm_check import rhythm_issues
from workflow.indicators.service import record_value, save_indicator
from workflow.indicators.summary import summarise
from workflow.indicators.validation import (
    DefinitionProblem,
    Entry,
    base_error,
    computed_entry,
    definition_issues,
    entry_error,
)

router = APIRouter(prefix="/api/v1", tags=["indicators"], responses=ERRORS)
IndicatorId = Annotated[int, Path(ge=1, le=MAX_ID)]
RequestId = Annotated[int, Path(ge=1, le=MAX_ID)]
Ref = Annotated[int, Field(ge=1, le=MAX_ID)]
Number = Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]
District = Annotated[NoNul, Field(max_length=200)]
Units = Literal["percent", "count", "rate", "currency", "index", "scale", "text"]
Directions = Literal["up", "down", "target"]
Rhythms = Literal["months", "half_yearly", "yearly", "every_years", "event"]
EveryYears = Annotated[int, Field(ge=1, le=20)]
FirstYear = Annotated[int, Field(ge=1990, le=2100)]
EventDates = Annotated[list[date], Field(max_length=50)]
Computations = Literal["typed", "ratio", "representation_index"]
Code = Annotated[NoNul, Field(min_length=1, max_length=40)]
Dimensions = Annotated[list[Code], Field(max_length=10)]
BaseLabel = Annotated[NoNul, Field(max_length=300)]
# A cell as its canonical key (breakdown.cell_key) or as {dimension: category}.
Cell = Annotated[NoNul, Field(max_length=200)] | Annotated[dict[Code, Code], Field(max_length=10)]
# The units whose value a share of two base figures can be (as the CSV import allows).
COMPUTING_UNITS = ("percent", "rate", "index")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndicatorIn(_In):
    code: Annotated[NoNul, Field(min_length=1, max_length=32)]
    statement: Annotated[NoNul, Field(min_length=1, max_length=2000)]
    base_figures: Annotated[NoNul, Field(max_length=5000)] = ""
    unit: Units
    direction: Directions
    target_value: Number | None = None
    due_months: Annotated[list[Annotated[int, Field(ge=1, le=12)]], Field(max_length=12)] = []
    due_day: Annotated[int, Field(ge=1, le=28)] = 15
    lead_days: Annotated[int, Field(ge=0, le=365)] = 28
    rhythm: Rhythms = "months"
    every_years: EveryYears = 1
    first_year: FirstYear | None = None
    event_dates: EventDates = []
    dimensions: Dimensions = []
    computation: Computations = "typed"
    numerator_label: BaseLabel = ""
    denominator_label: BaseLabel = ""
    district: District = ""
    districts: Annotated[list[District], Field(max_length=50)] = []
    source_label: Annotated[NoNul, Field(max_length=300)] = ""
    source_contact_id: Ref | None = None
    notes: Annotated[NoNul, Field(max_length=20_000)] = ""
    goal_ids: Annotated[list[Ref], Field(max_length=200)] = []
    measure_ids: Annotated[list[Ref], Field(max_length=1000)] = []


class IndicatorPatch(_In):
    code: Annotated[NoNul, Field(min_length=1, max_length=32)] | None = None
    statement: Annotated[NoNul, Field(min_length=1, max_length=2000)] | None = None
    base_figures: Annotated[NoNul, Field(max_length=5000)] | None = None
    unit: Units | None = None
    direction: Directions | None = None
    target_value: Number | None = None
    due_months: Annotated[list[Annotated[int, Field(ge=1, le=12)]], Field(max_length=12)] | None = (
        None
    )
    due_day: Annotated[int, Field(ge=1, le=28)] | None = None
    lead_days: Annotated[int, Field(ge=0, le=365)] | None = None
    rhythm: Rhythms | None = None
    every_years: EveryYears | None = None
    first_year: FirstYear | None = None
    event_dates: EventDates | None = None
    dimensions: Dimensions | None = None
    computation: Computations | None = None
    numerator_label: BaseLabel | None = None
    denominator_label: BaseLabel | None = None
    district: District | None = None
    districts: Annotated[list[District], Field(max_length=50)] | None = None
    source_label: Annotated[NoNul, Field(max_length=300)] | None = None
    source_contact_id: Ref | None = None
    notes: Annotated[NoNul, Field(max_length=20_000)] | None = None
    goal_ids: Annotated[list[Ref], Field(max_length=200)] | None = None
    measure_ids: Annotated[list[Ref], Field(max_length=1000)] | None = None


class IndicatorOut(BaseModel):
    id: int
    code: str
    statement: str
    base_figures: str
    unit: str
    kind: str
    direction: str
    target_value: float | None
    due_months: list[int]
    due_day: int
    lead_days: int
    rhythm: str
    every_years: int
    first_year: int | None
    event_dates: list[date]
    dimensions: list[str]
    computation: str
    numerator_label: str
    denominator_label: str
    district: str
    districts: list[str]
    source_label: str
    source_contact_id: int | None
    notes: str
    active: bool
    goal_ids: list[int]
    goal_codes: list[str]
    measure_ids: list[int]
    measure_codes: list[str]
    last_value: float | None
    last_survey_date: date | None
    trend: str
    on_track: bool | None


class ValueIn(_In):
    survey_date: date
    district: District = ""
    cell: Cell = ""
    value: Number | None = None
    numerator: Number | None = None
    denominator: Number | None = None
    population_share: Number | None = None
    counts: Annotated[list[Annotated[int, Field(ge=0, le=10**9)]], Field(max_length=5)] | None = (
        None
    )
    report: Annotated[NoNul, Field(max_length=10_000)] = ""
    comment: Annotated[NoNul, Field(max_length=10_000)] = ""
    source: Annotated[NoNul, Field(max_length=300)] | None = None


class ValueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    indicator_id: int
    data_request_id: int | None
    # Set while the value is the one a review reported (its measure-in-cycle).
    measure_cycle_id: int | None
    survey_date: date
    district: str
    value: float | None
    counts: list[int] | None
    report: str
    comment: str
    source: str
    delivered_by: str
    delivered_by_name: str
    delivered_at: datetime
    flagged: bool
    flag_reason: str
    revision: int
    # The cell of the breakdowns ("" = the total) and the base figures behind the value.
    cell: str
    numerator: float | None
    denominator: float | None
    population_share: float | None


class ValueResult(ValueOut):
    outcome: Literal["created", "corrected", "unchanged"]


class ExtendIn(_In):
    due_on: date
    reason: Annotated[NoNul, Field(max_length=1000)] = ""


class DataRequestOut(BaseModel):
    id: int
    indicator_id: int
    indicator_code: str
    period: str
    status: str
    due_on: date
    days_overdue: int
    escalation_level: int
    contact_id: int
    contact_name: str
    contact_email: str
    delivered_at: datetime | None
    deliveries: int


# -- helpers ------------------------------------------------------------------------------


def _translated(key: str, params: dict[str, Any], lang: str) -> str:
    return translate(key, lang, **params)


def _load(session: Session, user: User, indicator_id: int) -> Indicator:
    indicator = session.get(Indicator, indicator_id)
    if indicator is None or indicator.organisation_id != user.organisation_id:
        raise not_found("indicator", indicator_id)
    return indicator


def _out(indicator: Indicator, values: list[IndicatorValue]) -> IndicatorOut:
    summary = summarise(indicator, values)
    last_date = next((p.survey_date for p in reversed(summary.points) if p.value is not None), None)
    return IndicatorOut(
        id=indicator.id,
        code=indicator.code,
        statement=indicator.statement,
        base_figures=indicator.base_figures,
        unit=indicator.unit,
        kind=indicator.kind.value,
        direction=indicator.direction,
        target_value=indicator.target_value,
        due_months=list(indicator.due_months or []),
        due_day=indicator.due_day,
        lead_days=indicator.lead_days,
        rhythm=indicator.rhythm,
        every_years=indicator.every_years,
        first_year=indicator.first_year,
        event_dates=[date.fromisoformat(d) for d in indicator.event_dates or []],
        dimensions=list(indicator.dimensions or []),
        computation=indicator.computation,
        numerator_label=indicator.numerator_label,
        denominator_label=indicator.denominator_label,
        district=indicator.district,
        districts=list(indicator.districts or []),
        source_label=indicator.source_label,
        source_contact_id=indicator.source_contact_id,
        notes=indicator.notes,
        active=indicator.active,
        goal_ids=[g.id for g in indicator.goals],
        goal_codes=[g.code for g in indicator.goals],
        measure_ids=[m.id for m in indicator.measures],
        measure_codes=[m.code for m in indicator.measures],
        last_value=summary.last_value,
        last_survey_date=last_date,
        trend=summary.trend,
        on_track=summary.on_track,
    )


def _city_values(session: Session, indicator_ids: list[int]) -> dict[int, list[IndicatorValue]]:
    out: dict[int, list[IndicatorValue]] = {i: [] for i in indicator_ids}
    for value in session.scalars(
        select(IndicatorValue).where(
            IndicatorValue.indicator_id.in_(indicator_ids),
            IndicatorValue.district == "",
            IndicatorValue.cell == "",
        )
    ):
        out[value.indicator_id].append(value)
    return out


def _has_values(session: Session, indicator: Indicator) -> bool:
    return (
        session.scalars(
            select(IndicatorValue.id).where(IndicatorValue.indicator_id == indicator.id).limit(1)
        ).first()
        is not None
    )


def _check_references(session: Session, org_id: int, values: dict[str, Any]) -> None:
    contact_id = values.get("source_contact_id")
    refs: list[tuple[str, Goal | Measure | Contact | None, int]] = [
        *(("goal_ids", session.get(Goal, i), i) for i in values.get("goal_ids") or []),
        *(("measure_ids", session.get(Measure, i), i) for i in values.get("measure_ids") or []),
        *(
            [("source_contact_id", session.get(Contact, contact_id), contact_id)]
            if contact_id
            else []
        ),
    ]
    for key, row, ref in refs:
        if row is None or row.organisation_id != org_id:
            raise unknown_reference(key, ref)


def _breakdown_issues(values: dict[str, Any], known: list[str]) -> list[DefinitionProblem]:
    """Dimensions the organisation does not keep (``known``) or named twice, and a
    computation whose share cannot be the unit's value (the CSV import's rule)."""
    codes: list[str] = values.get("dimensions") or []
    problems = [
        DefinitionProblem(
            "dimensions", "indicator.dimension_unknown", {"code": c, "known": ", ".join(known)}
        )
        for c in codes
        if c not in known
    ]
    if len(set(codes)) != len(codes):
        problems.append(DefinitionProblem("dimensions", "indicator.dimensions_repeated"))
    computation = values.get("computation") or Computation.TYPED
    if computation != Computation.TYPED and values["unit"] not in COMPUTING_UNITS:
        problems.append(
            DefinitionProblem("computation", "indicator.computation_unit", {"value": computation})
        )
    return problems


def _check_definition(values: dict[str, Any], known_dimensions: list[str]) -> None:
    problems = definition_issues(
        unit=values["unit"],
        direction=values["direction"],
        target_value=values.get("target_value"),
        due_months=values.get("due_months") or [],
        due_day=values.get("due_day", 15),
        districts=values.get("districts") or [],
    )
    problems += rhythm_issues(
        RhythmSpec(
            rhythm=values.get("rhythm") or "months",
            due_months=tuple(values.get("due_months") or ()),
            due_day=values.get("due_day", 15),
            every_years=values.get("every_years") or 1,
            first_year=values.get("first_year"),
            event_dates=tuple(values.get("event_dates") or ()),
        )
    )
    problems += _breakdown_issues(values, known_dimensions)
    if problems:
        first = problems[0]
        raise ApiError(
            422,
            "invalid_indicator",
            details={
                "field": first.field,
                "problems": [
                    {"field": p.field, "code": p.code, "message": p.text(reader_language())}
                    for p in problems
                ],
            },
            # The problems read inside other sentences too, so the API adds the full stop.
            wording=lambda lang: first.text(lang) + ".",
        )


def _save(
    session: Session,
    user: User,
    values: dict[str, Any],
    indicator: Indicator | None,
) -> Indicator:
    _check_references(session, user.organisation_id, values)
    if "event_dates" in values:
        # Kept as ISO strings (``Indicator.event_dates``), whether read back or just posted.
        values["event_dates"] = sorted(
            {d.isoformat() if isinstance(d, date) else str(d) for d in values["event_dates"]}
        )
    now = runtime.current().clock.now()
    # The standard list is made on first use, as the CSV import does, so that an organisation
    # can name "geschlecht" before anyone opened the dimensions page.
    known = [d.code for d in ensure_standard_dimensions(session, user.organisation_id, now)]
    _check_definition(values, known)
    code = values.pop("code")
    goal_ids, measure_ids = values.pop("goal_ids", None), values.pop("measure_ids", None)
    try:
        with session.begin_nested():
            saved, _ = save_indicator(
                session,
                organisation_id=user.organisation_id,
                code=code,
                values=values,
                goal_ids=goal_ids,
                measure_ids=measure_ids,
                now=now,
                indicator=indicator,
            )
    except IntegrityError:
        raise ApiError(
            409, "duplicate", reason="api.duplicate.indicator", params={"code": code}
        ) from None
    return saved


# -- definitions --------------------------------------------------------------------------


@router.get("/indicators", response_model=list[IndicatorOut], summary="Kennzahlen: Liste")
def list_indicators(
    user: Reader, session: SessionDep, include_archived: bool = False
) -> list[IndicatorOut]:
    query = (
        select(Indicator)
        .where(Indicator.organisation_id == user.organisation_id)
        .options(selectinload(Indicator.goals), selectinload(Indicator.measures))
        .order_by(Indicator.code)
    )
    if not include_archived:
        query = query.where(Indicator.active.is_(True))
    indicators = list(session.scalars(query))
    values = _city_values(session, [i.id for i in indicators])
    return [_out(i, values[i.id]) for i in indicators]


@router.post(
    "/indicators", response_model=IndicatorOut, status_code=201, summary="Kennzahl anlegen"
)
def create_indicator(body: IndicatorIn, user: Coordinator, session: SessionDep) -> IndicatorOut:
    indicator = _save(session, user, body.model_dump(), None)
    return _out(indicator, [])


@router.get("/indicators/{indicator_id}", response_model=IndicatorOut, summary="Kennzahl lesen")
def read_indicator(indicator_id: IndicatorId, user: Reader, session: SessionDep) -> IndicatorOut:
    indicator = _load(session, user, indicator_id)
    return _out(indicator, _city_values(session, [indicator.id])[indicator.id])


@router.patch("/indicators/{indicator_id}", response_model=IndicatorOut, summary="Kennzahl ändern")
def update_indicator(
    indicator_id: IndicatorId, body: IndicatorPatch, user: Coordinator, session: SessionDep
) -> IndicatorOut:
    indicator = _load(session, user, indicator_id)
    changes = body.model_dump(exclude_unset=True)
    for key in (
        "code",
        "statement",
        "unit",
        "direction",
        "due_months",
        "due_day",
        "lead_days",
        "rhythm",
        "every_years",
        "event_dates",
        "computation",
    ):
        if key in changes and changes[key] is None:
            raise field_empty(key)
    current = {
        "code": indicator.code,
        "unit": indicator.unit,
        "direction": indicator.direction,
        "target_value": indicator.target_value,
        "due_months": list(indicator.due_months or []),
        "due_day": indicator.due_day,
        "districts": list(indicator.districts or []),
        "rhythm": indicator.rhythm,
        "every_years": indicator.every_years,
        "first_year": indicator.first_year,
        "event_dates": list(indicator.event_dates or []),
        "dimensions": list(indicator.dimensions or []),
        "computation": indicator.computation,
    }
    if "unit" in changes and changes["unit"] != indicator.unit and _has_values(session, indicator):
        raise ApiError(409, "unit_locked", reason="api.unit_locked")
    for key in (
        "base_figures",
        "district",
        "source_label",
        "notes",
        "numerator_label",
        "denominator_label",
    ):
        if key in changes and changes[key] is None:
            changes[key] = ""
    for key in ("districts", "dimensions"):
        if key in changes and changes[key] is None:
            changes[key] = []
    saved = _save(session, user, {**current, **changes}, indicator)
    return _out(saved, _city_values(session, [saved.id])[saved.id])


@router.post(
    "/indicators/{indicator_id}/archive",
    response_model=IndicatorOut,
    summary="Kennzahl archivieren (keine neuen Anfragen, Werte bleiben)",
)
def archive_indicator(
    indicator_id: IndicatorId, user: Coordinator, session: SessionDep
) -> IndicatorOut:
    indicator = _load(session, user, indicator_id)
    indicator.active = False
    for request in session.scalars(
        select(DataRequest).where(
            DataRequest.indicator_id == indicator.id,
            DataRequest.status == RequestStatus.OPEN.value,
        )
    ):
        request.status = RequestStatus.CANCELLED.value
        request.next_action_at = None
    session.flush()
    return _out(indicator, _city_values(session, [indicator.id])[indicator.id])


# -- values -------------------------------------------------------------------------------


@router.get(
    "/indicators/{indicator_id}/values",
    response_model=list[ValueOut],
    summary="Werte einer Kennzahl, nach Erhebungsdatum",
)
def list_values(
    indicator_id: IndicatorId,
    user: Reader,
    session: SessionDep,
    district: Annotated[str | None, Query(max_length=200)] = None,
    cell: Annotated[
        str | None, Query(max_length=200, description='"" nur die Gesamtwerte, sonst eine Zelle')
    ] = None,
) -> list[ValueOut]:
    indicator = _load(session, user, indicator_id)
    query = select(IndicatorValue).where(IndicatorValue.indicator_id == indicator.id)
    if district is not None:
        query = query.where(IndicatorValue.district == district)
    if cell is not None:
        query = query.where(IndicatorValue.cell == cell)
    rows = session.scalars(
        query.order_by(IndicatorValue.survey_date, IndicatorValue.district, IndicatorValue.cell)
    ).all()
    return [ValueOut.model_validate(v) for v in rows]


@router.post(
    "/indicators/{indicator_id}/values",
    response_model=ValueResult,
    status_code=201,
    summary="Wert erfassen (gleiches Datum und gleicher Bezirk: Korrektur)",
)
def add_value(
    indicator_id: IndicatorId,
    body: ValueIn,
    user: Coordinator,
    session: SessionDep,
    response: Response,
) -> ValueResult:
    indicator = _load(session, user, indicator_id)
    org = organisation_of(session, user)
    if body.survey_date > today_of(org):
        raise ApiError(422, "invalid_value", wording=partial(translate, "data.error.date_future"))
    if body.district and body.district not in (indicator.districts or []):
        raise ApiError(
            422,
            "invalid_value",
            details={"field": "district", "districts": list(indicator.districts or [])},
            reason="api.district_unknown",
            params={"district": body.district},
        )
    entry = _entry(indicator, body, _cell_of(session, indicator, body.cell))
    recorded = record_value(
        session,
        indicator=indicator,
        survey_date=body.survey_date,
        entry=entry,
        comment=body.comment,
        actor=actor_of(user),
        actor_name=user.name or user.email,
        now=runtime.current().clock.now(),
        source=body.source,
    )
    if recorded.outcome != "created":
        response.status_code = 200
    return ValueResult(
        **ValueOut.model_validate(recorded.row).model_dump(), outcome=recorded.outcome
    )


def _cell_refused(reason: str, **params: Any) -> ApiError:
    return ApiError(422, "invalid_value", details={"field": "cell"}, reason=reason, params=params)


def _cell_of(session: Session, indicator: Indicator, cell: str | dict[str, str]) -> str:
    """The canonical key of the posted cell: the total, or one cell of the product of the
    indicator's breakdowns naming every dimension once; anything else is refused."""
    if cell == TOTAL or cell == {}:
        return TOTAL
    if isinstance(cell, str):
        try:
            cell = parse_cell(cell_from_text(cell))
        except ValueError:
            raise _cell_refused(
                "indicator.cell_invalid", cell=cell, known=", ".join(indicator.dimensions or [])
            ) from None
    kept = dimensions_of(session, indicator.organisation_id)
    categories = dict(indicator_dimensions(kept, indicator.dimensions or []))
    if not categories:
        raise _cell_refused("indicator.cell_without_dimensions")
    for dimension, category in cell.items():
        if dimension not in categories:
            raise _cell_refused(
                "indicator.cell_dimension_unknown",
                dimension=dimension,
                known=", ".join(categories),
            )
        if category not in categories[dimension]:
            raise _cell_refused(
                "indicator.cell_category_unknown",
                dimension=dimension,
                category=category,
                known=", ".join(categories[dimension]),
            )
    key = cell_key(cell)
    if not is_cell_of(key, list(categories.items())):
        raise _cell_refused("indicator.cell_invalid", cell=key, known=", ".join(categories))
    return key


_FIGURES = ("numerator", "denominator", "population_share")


def _value_refused(field: str, error: str) -> ApiError:
    return ApiError(
        422, "invalid_value", details={"field": field}, wording=partial(translate, error)
    )


def _unit_refused(unit: str, error: str) -> ApiError:
    return ApiError(422, "invalid_value", details={"unit": unit}, wording=partial(translate, error))


def _figure_field(error: str, figures: tuple[float | None, ...]) -> str:
    """Which base figure a problem of ``base_error`` / ``computed_entry`` belongs to."""
    numerator, denominator, share = figures
    negative = [n for n, f in zip(_FIGURES, figures, strict=True) if f is not None and f < 0]
    if error == "data.error.not_negative" and negative:
        return negative[0]
    if error == "data.error.population_share_required" or (share is not None and share > 100):
        return "population_share"
    if error == "data.error.denominator_zero" or (numerator is not None and denominator is None):
        return "denominator"
    return "numerator"


def _entry(indicator: Indicator, body: ValueIn, cell: str) -> Entry:
    """The posted value as an entry the unit allows: computed from its base figures when the
    indicator computes, typed otherwise (base figures then only go along)."""
    if indicator.unit in ("scale", "text"):
        counts = tuple(body.counts) if body.counts is not None else None
        entry = Entry(body.district, counts=counts, report=body.report, cell=cell)
    else:
        figures = (body.numerator, body.denominator, body.population_share)
        # As in the delivery form: a cell of a computing indicator always computes, the total
        # may be typed when the source has no base figures for it.
        if indicator.computation != Computation.TYPED and (
            cell or any(f is not None for f in figures)
        ):
            return _computed(indicator, body, cell, figures)
        error = base_error(Computation.TYPED, *figures)
        if error:
            raise _value_refused(_figure_field(error, figures), error)
        entry = Entry(
            body.district,
            value=body.value,
            cell=cell,
            numerator=body.numerator,
            denominator=body.denominator,
            population_share=body.population_share,
        )
    error = entry_error(indicator.unit, entry)
    if error:
        raise _unit_refused(indicator.unit, error)
    return entry


def _computed(
    indicator: Indicator, body: ValueIn, cell: str, figures: tuple[float | None, ...]
) -> Entry:
    if body.value is not None:
        # Refused rather than compared with the computed value: a second figure that must
        # agree only invites rounding quarrels, and a caller sending one believes it counts.
        raise ApiError(
            422, "invalid_value", details={"field": "value"}, reason="indicator.value_computed"
        )
    entry, error = computed_entry(
        indicator.computation, indicator.unit, body.district, cell, figures
    )
    if error or entry is None:
        key = error or "data.error.base_required"
        raise _value_refused(_figure_field(key, figures), key)
    return entry


# -- data requests ------------------------------------------------------------------------


def _request_out(request: DataRequest, today_days: int) -> DataRequestOut:
    contact = request.contact
    return DataRequestOut(
        id=request.id,
        indicator_id=request.indicator_id,
        indicator_code=request.indicator.code,
        period=request.period,
        status=request.status,
        due_on=request.due_on,
        days_overdue=today_days if request.status == RequestStatus.OPEN.value else 0,
        escalation_level=request.escalation_level,
        contact_id=contact.id,
        contact_name=contact.name,
        contact_email=contact.email,
        delivered_at=request.delivered_at,
        deliveries=request.deliveries,
    )


@router.get(
    "/data-requests", response_model=list[DataRequestOut], summary="Datenanfragen an die Quellen"
)
def list_data_requests(
    user: Reader,
    session: SessionDep,
    status: Literal["open", "delivered", "cancelled"] | None = None,
    indicator_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[DataRequestOut]:
    org = organisation_of(session, user)
    cal, now = calendar_of(org), runtime.current().clock.now()
    query = select(DataRequest).where(DataRequest.organisation_id == org.id)
    if status:
        query = query.where(DataRequest.status == status)
    if indicator_id:
        query = query.where(DataRequest.indicator_id == indicator_id)
    rows = session.scalars(query.order_by(DataRequest.due_on, DataRequest.id)).unique()
    return [_request_out(r, days_overdue(r.due_on, now, cal)) for r in rows]


@router.post(
    "/data-requests/{request_id}/remind",
    response_model=DataRequestOut,
    summary="Erinnerung mit neuem Link an die Quelle (höchstens einmal am Tag)",
)
def remind_now(request_id: RequestId, user: Coordinator, session: SessionDep) -> DataRequestOut:
    request = session.get(DataRequest, request_id, with_for_update={"of": DataRequest})
    if request is None or request.organisation_id != user.organisation_id:
        raise not_found("data_request", request_id)
    if request.status != RequestStatus.OPEN.value:
        raise ApiError(409, "not_open", reason="api.request_not_open")
    org = organisation_of(session, user)
    now = runtime.current().clock.now()
    day = today_of(org).isoformat()
    draft = data_requests.reminder_by_coordinator(request, day=day)
    enqueue(session, [draft], now=now)
    return _request_out(request, days_overdue(request.due_on, now, calendar_of(org)))


@router.post(
    "/data-requests/{request_id}/extend",
    response_model=DataRequestOut,
    summary="Frist einer Datenanfrage verlängern (neue Frist in der Zukunft; die Quelle wird benachrichtigt)",
)
def extend(
    request_id: RequestId, body: ExtendIn, user: Coordinator, session: SessionDep
) -> DataRequestOut:
    try:
        request = extend_request(
            session=session,
            clock=runtime.current().clock,
            organisation_id=user.organisation_id,
            request_id=request_id,
            due_on=body.due_on,
            reason=body.reason,
            actor=actor_of(user),
        )
    except ExtensionRefused as refused:
        if refused.code == "not_found":
            raise not_found("data_request", request_id) from None
        status = 409 if refused.code == "not_open" else 422
        details = {"field": "due_on"} if status == 422 else {}
        wording = partial(_translated, f"data.extend.error.{refused.code}", refused.params)
        raise ApiError(status, refused.code, details=details, wording=wording) from None
    org = organisation_of(session, user)
    now = runtime.current().clock.now()
    return _request_out(request, days_overdue(request.due_on, now, calendar_of(org)))
