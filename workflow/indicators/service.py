"""Indicators and their values: define, change, record, deliver; callers own the transaction.

A value is unique per (indicator, district, survey date, cell): recording it again is a
correction of the same row (history kept, revision counted), never a second value. A value
far from the series is flagged (``series.outlier``), never refused. A value a department's
answer reported (``measure_cycle_id``) gives way to the source's: the source's write takes
the row over, while the answer's write never touches a row it does not own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.outbox import enqueue
from workflow.catalogue.models import Goal, Measure
from workflow.clock import Clock
from workflow.cycles.models import AuditEvent
from workflow.indicators import series
from workflow.indicators.breakdown import computed_value
from workflow.indicators.models import (
    CheckState,
    Computation,
    DataRequest,
    Indicator,
    IndicatorValue,
    RequestStatus,
)
from workflow.indicators.requests import confirmation
from workflow.indicators.validation import Entry

FLAG_REASON = "ungewöhnlich weit vom bisherigen Verlauf"
_KEPT = (
    "survey_date",
    "value",
    "counts",
    "report",
    "comment",
    "source",
    "delivered_by",
    "measure_cycle_id",
    "numerator",
    "denominator",
    "population_share",
)


class DateTaken(Exception):
    """A correction would move a value onto a date that already holds another value."""


def numeric_value(entry: Entry) -> float | None:
    """What the series uses: the number, or a survey's mean; None for a report."""
    if entry.counts is not None:
        return series.survey_mean(entry.counts)
    return entry.value


def with_computed_value(indicator: Indicator, entry: Entry) -> Entry:
    """The entry whose value its base figures give, when the indicator computes its values;
    a computing indicator never keeps a typed value beside figures that say otherwise."""
    if indicator.computation == Computation.TYPED or entry.numerator is None:
        return entry
    value = computed_value(
        indicator.computation,
        indicator.unit,
        numerator=entry.numerator,
        denominator=entry.denominator,
        population_share=entry.population_share,
    )
    return replace(entry, value=value)


def history_before(
    session: Session,
    indicator_id: int,
    district: str,
    day: date,
    *,
    exclude: int | None = None,
    cell: str = "",
) -> list[float]:
    """Earlier numeric values of one indicator, district and cell, oldest first."""
    query = (
        select(IndicatorValue.value)
        .where(
            IndicatorValue.indicator_id == indicator_id,
            IndicatorValue.district == district,
            IndicatorValue.cell == cell,
            IndicatorValue.survey_date < day,
            IndicatorValue.value.is_not(None),
        )
        .order_by(IndicatorValue.survey_date)
    )
    if exclude is not None:
        query = query.where(IndicatorValue.id != exclude)
    return [float(v) for v in session.scalars(query) if v is not None]


@dataclass
class Recorded:
    row: IndicatorValue
    outcome: str  # "created" | "corrected" | "unchanged"


def record_value(
    session: Session,
    *,
    indicator: Indicator,
    survey_date: date,
    entry: Entry,
    comment: str,
    actor: str,
    actor_name: str,
    now: datetime,
    source: str | None = None,
    data_request_id: int | None = None,
    measure_cycle_id: int | None = None,
) -> Recorded:
    """Store one value, or correct the one already stored for its date (or its request, or
    its answer). Raises DateTaken when an answer's value would land on another's row.
    With base figures and a computing indicator the value is the computed one."""
    entry = with_computed_value(indicator, entry)
    row = _existing(
        session,
        indicator.id,
        entry.district,
        survey_date,
        data_request_id,
        measure_cycle_id,
        cell=entry.cell,
    )
    value = numeric_value(entry)
    history = history_before(
        session,
        indicator.id,
        entry.district,
        survey_date,
        exclude=row.id if row else None,
        cell=entry.cell,
    )
    flagged = value is not None and series.outlier(history, value)
    fields: dict[str, Any] = {
        "survey_date": survey_date,
        "value": value,
        "counts": list(entry.counts) if entry.counts is not None else None,
        "report": entry.report,
        "comment": comment,
        "source": source if source is not None else indicator.source_label,
        "delivered_by": actor,
        "numerator": entry.numerator,
        "denominator": entry.denominator,
        "population_share": entry.population_share,
    }
    if row is None:
        row = IndicatorValue(
            organisation_id=indicator.organisation_id,
            indicator_id=indicator.id,
            data_request_id=data_request_id,
            measure_cycle_id=measure_cycle_id,
            district=entry.district,
            cell=entry.cell,
            delivered_by_name=actor_name,
            delivered_at=now,
            flagged=flagged,
            flag_reason=FLAG_REASON if flagged else "",
            revision=1,
            history=[],
            **fields,
        )
        session.add(row)
        session.flush()
        return Recorded(row, "created")
    same = all(getattr(row, k) == v for k, v in fields.items() if k != "delivered_by")
    if same and row.measure_cycle_id == measure_cycle_id:
        return Recorded(row, "unchanged")
    previous = {k: _plain(getattr(row, k)) for k in _KEPT}
    previous |= {"delivered_at": row.delivered_at.isoformat(), "revision": row.revision}
    row.history = [*(row.history or []), previous]
    for key, new in fields.items():
        setattr(row, key, new)
    row.delivered_by_name = actor_name
    row.delivered_at = now
    row.flagged = flagged
    row.flag_reason = FLAG_REASON if flagged else ""
    row.revision += 1
    # A new value from the source has not been looked at yet, whatever its predecessor was.
    row.check_state = CheckState.UNCHECKED.value
    if data_request_id is not None:
        row.data_request_id = data_request_id
    # Anyone but the answer itself writing here is the source (or a coordinator): it wins.
    row.measure_cycle_id = measure_cycle_id
    session.flush()
    return Recorded(row, "corrected")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _existing(
    session: Session,
    indicator_id: int,
    district: str,
    day: date,
    request_id: int | None,
    measure_cycle_id: int | None = None,
    *,
    cell: str = "",
) -> IndicatorValue | None:
    on_date = session.scalars(
        select(IndicatorValue).where(
            IndicatorValue.indicator_id == indicator_id,
            IndicatorValue.district == district,
            IndicatorValue.cell == cell,
            IndicatorValue.survey_date == day,
        )
    ).first()
    if measure_cycle_id is not None:
        of_answer = session.scalars(
            select(IndicatorValue).where(
                IndicatorValue.indicator_id == indicator_id,
                IndicatorValue.district == district,
                IndicatorValue.cell == cell,
                IndicatorValue.measure_cycle_id == measure_cycle_id,
            )
        ).first()
        if on_date is not None and (of_answer is None or of_answer.id != on_date.id):
            raise DateTaken(day)
        return of_answer
    if request_id is None:
        return on_date
    of_request = session.scalars(
        select(IndicatorValue).where(
            IndicatorValue.data_request_id == request_id,
            IndicatorValue.district == district,
            IndicatorValue.cell == cell,
        )
    ).first()
    if of_request is not None and on_date is not None and of_request.id != on_date.id:
        raise DateTaken(day)
    return of_request or on_date


@dataclass
class Delivered:
    request: DataRequest
    rows: list[IndicatorValue] = field(default_factory=list)
    outcome: str = "unchanged"  # "delivered" | "corrected" | "unchanged"

    @property
    def flagged(self) -> list[IndicatorValue]:
        return [r for r in self.rows if r.flagged]


def deliver(
    session: Session,
    *,
    clock: Clock,
    request: DataRequest,
    survey_date: date,
    entries: Sequence[Entry],
    comment: str,
    actor: str,
    actor_name: str,
) -> Delivered:
    """A source's values for one request: the first delivery closes the request, a later one
    corrects the same rows. Confirms each delivery or correction to the source once."""
    now = clock.now()
    indicator = request.indicator
    recorded = [
        record_value(
            session,
            indicator=indicator,
            survey_date=survey_date,
            entry=entry,
            comment=comment,
            actor=actor,
            actor_name=actor_name,
            now=now,
            data_request_id=request.id,
        )
        for entry in entries
    ]
    result = Delivered(request, [r.row for r in recorded])
    first = request.status != RequestStatus.DELIVERED.value
    changed = [r for r in recorded if r.outcome != "unchanged"]
    if not first and not changed:
        return result
    result.outcome = "delivered" if first else "corrected"
    request.status = RequestStatus.DELIVERED.value
    request.next_action_at = None
    request.delivered_at = now
    request.delivered_by = actor
    request.deliveries += 1
    session.add(
        AuditEvent(
            organisation_id=request.organisation_id,
            measure_cycle_id=None,
            at=now,
            actor=actor,
            event="data_delivered" if first else "data_corrected",
            from_state=None,
            to_state=None,
            payload={
                "data_request_id": request.id,
                "indicator_code": indicator.code,
                "period": request.period,
                "survey_date": survey_date.isoformat(),
                "values": [
                    {
                        "district": r.row.district,
                        "cell": r.row.cell,
                        "value": r.row.value,
                        "flagged": r.row.flagged,
                    }
                    for r in recorded
                ],
            },
        )
    )
    session.flush()
    enqueue(session, [confirmation(request, request.deliveries, actor_name)], now=now)
    return result


# -- definitions --------------------------------------------------------------------------


DEFINITION_FIELDS = (
    "statement",
    "base_figures",
    "unit",
    "direction",
    "target_value",
    "due_months",
    "due_day",
    "lead_days",
    "district",
    "districts",
    "source_label",
    "source_contact_id",
    "notes",
    "active",
    "dimensions",
    "computation",
    "numerator_label",
    "denominator_label",
    "rhythm",
    "every_years",
    "first_year",
    "event_dates",
)


def save_indicator(
    session: Session,
    *,
    organisation_id: int,
    code: str,
    values: dict[str, Any],
    goal_ids: Sequence[int] | None,
    measure_ids: Sequence[int] | None,
    now: datetime,
    indicator: Indicator | None = None,
) -> tuple[Indicator, bool]:
    """Create (``indicator`` None) or change an indicator; returns it and whether it changed.

    The caller has checked the values and that every id belongs to the organisation.
    """
    changed = indicator is None
    if indicator is None:
        indicator = Indicator(
            organisation_id=organisation_id, code=code, created_at=now, active=True
        )
        session.add(indicator)
    elif indicator.code != code:
        indicator.code, changed = code, True
    for key, value in values.items():
        if key in DEFINITION_FIELDS and getattr(indicator, key) != value:
            setattr(indicator, key, value)
            changed = True
    if goal_ids is not None:
        goals = list(session.scalars(select(Goal).where(Goal.id.in_(goal_ids)).order_by(Goal.code)))
        if {g.id for g in indicator.goals} != {g.id for g in goals}:
            indicator.goals = goals
            changed = True
    if measure_ids is not None:
        measures = list(
            session.scalars(
                select(Measure).where(Measure.id.in_(measure_ids)).order_by(Measure.code)
            )
        )
        if {m.id for m in indicator.measures} != {m.id for m in measures}:
            indicator.measures = measures
            changed = True
    session.flush()
    return indicator, changed
