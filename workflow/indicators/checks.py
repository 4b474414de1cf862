"""The Monitoringgruppe's look at values (geprüft / bestätigt / korrigiert) and the data status.

``check_value`` writes one step with who and when and an audit event; a correction stores
the right value as a new revision, the old one in ``history``, and clears the outlier flag.
Callers own the transaction. ``data_status`` and ``may_check`` only read. Refusals are
codes of workflow/locales/errors.*.json (``indicator.check_*``), never sentences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.accounts import User
from workflow.bodies.models import BodyKind
from workflow.bodies.scope_access import ACTING_ROLES, seats_of
from workflow.catalogue.models import Contact
from workflow.cycles.models import AuditEvent
from workflow.indicators.breakdown import TOTAL, computed_value
from workflow.indicators.models import (
    CheckState,
    Computation,
    DataRequest,
    Indicator,
    IndicatorValue,
    RequestStatus,
    Unit,
)
from workflow.indicators.validation import number_error

STEPS = (CheckState.CHECKED.value, CheckState.CONFIRMED.value, CheckState.CORRECTED.value)
EVENT = "value_checked"
MAX_NOTE = 2000
# A digest lists this many rows per list; its counts always tell the whole number.
MAX_ROWS = 200
# Survey means and written reports come from counts and texts: the source delivers again.
_NOT_CORRECTABLE = (Unit.SCALE.value, Unit.TEXT.value)
_FIGURES = ("numerator", "denominator", "population_share")


class CheckRefused(ValueError):
    """E.g. ``CheckRefused("indicator.check_value_missing")``; ``field`` names the input."""

    def __init__(self, code: str, field: str | None = None, **params: Any) -> None:
        self.code = code
        self.field = field
        self.params: dict[str, Any] = params
        super().__init__(code, params)


# -- who -----------------------------------------------------------------------------------


def may_check(session: Session, *, user: User, day: date) -> bool:
    """Coordinators and admins, and current members of a body of kind Monitoringgruppe."""
    if user.role in ACTING_ROLES:
        return True
    return any(
        seat.body.kind == BodyKind.MONITORING_GROUP.value
        for seat in seats_of(session, user=user, day=day)
    )


# -- one step ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    value_id: int
    state: str
    revision: int
    value: float | None


def check_value(
    *,
    session: Session,
    organisation_id: int,
    value_id: int,
    state: str,
    by: str,
    now: datetime,
    note: str = "",
    corrected_value: float | None = None,
    numerator: float | None = None,
    denominator: float | None = None,
    population_share: float | None = None,
) -> Checked:
    """Record one step on one value of the organisation; raises CheckRefused."""
    row = session.get(IndicatorValue, value_id)
    if row is None or row.organisation_id != organisation_id:
        raise CheckRefused("indicator.check_not_found", value=value_id)
    if state not in STEPS:
        raise CheckRefused("indicator.check_state_unknown", field="state", state=state)
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise CheckRefused("indicator.check_note_long", field="note", max=MAX_NOTE)
    indicator = session.get(Indicator, row.indicator_id)
    assert indicator is not None  # foreign key
    before = row.value
    if state == CheckState.CORRECTED.value:
        figures = {"numerator": numerator, "denominator": denominator}
        figures["population_share"] = population_share
        _correct(row, indicator, corrected_value, figures, now)
    row.check_state = state
    row.checked_by = by
    row.checked_at = now
    row.check_note = note
    session.add(
        AuditEvent(
            organisation_id=organisation_id,
            measure_cycle_id=None,
            at=now,
            actor=by,
            event=EVENT,
            from_state=None,
            to_state=state,
            payload={
                "indicator_value_id": row.id,
                "indicator_code": indicator.code,
                "survey_date": row.survey_date.isoformat(),
                "district": row.district,
                "cell": row.cell,
                "value_before": before,
                "value": row.value,
                "note": note,
            },
        )
    )
    session.flush()
    return Checked(row.id, state, row.revision, row.value)


def _correct(
    row: IndicatorValue,
    indicator: Indicator,
    typed: float | None,
    figures: dict[str, float | None],
    now: datetime,
) -> None:
    if indicator.unit in _NOT_CORRECTABLE:
        raise CheckRefused("indicator.check_not_correctable", field="value")
    new = _new_value(indicator, typed, figures)
    if not math.isfinite(new):
        raise CheckRefused("indicator.check_value_invalid", field="value", unit=indicator.unit)
    error = number_error(indicator.unit, Decimal(str(new)))
    if error is not None:
        raise CheckRefused("indicator.check_value_invalid", field="value", unit=indicator.unit)
    previous: dict[str, Any] = {
        "value": row.value,
        **{name: getattr(row, name) for name in _FIGURES},
        "flagged": row.flagged,
        "delivered_by": row.delivered_by,
        "delivered_at": row.delivered_at.isoformat(),
        "revision": row.revision,
        "check_state": row.check_state,
        "corrected_at": now.isoformat(),
    }
    row.history = [*(row.history or []), previous]
    row.value = new
    if indicator.computation != Computation.TYPED.value:
        for name, number in figures.items():
            setattr(row, name, number)
    row.revision += 1
    # A corrected value is the right one: it is no longer far from the series "by mistake".
    row.flagged = False
    row.flag_reason = ""


def _new_value(
    indicator: Indicator, typed: float | None, figures: dict[str, float | None]
) -> float:
    """The typed value, or for a computed indicator the value its new base figures give."""
    if indicator.computation == Computation.TYPED.value:
        if typed is None:
            raise CheckRefused("indicator.check_value_missing", field="value")
        return float(typed)
    computed = computed_value(indicator.computation, indicator.unit, **figures)
    if computed is None:
        raise CheckRefused("indicator.check_figures_missing", field="numerator")
    return computed


# -- the data status -----------------------------------------------------------------------


@dataclass(frozen=True)
class MissingRequest:
    request_id: int
    indicator_code: str
    statement: str
    period: str
    due_on: date
    contact_name: str
    overdue: bool


@dataclass(frozen=True)
class ValueRow:
    value_id: int
    indicator_code: str
    statement: str
    unit: str
    survey_date: date
    district: str
    value: float | None
    flag_reason: str
    delivered_at: datetime


@dataclass(frozen=True)
class DataStatus:
    """Three disjoint lists: a flagged value not yet looked at is listed as flagged only."""

    missing: list[MissingRequest]
    flagged: list[ValueRow]
    unchecked: list[ValueRow]
    missing_count: int
    flagged_count: int
    unchecked_count: int

    @property
    def empty(self) -> bool:
        return not (self.missing_count or self.flagged_count or self.unchecked_count)


def data_status(
    session: Session, organisation_id: int, today: date, *, ahead_days: int = 7
) -> DataStatus:
    """Open requests past due or due within ``ahead_days``; totals (cell "") of active
    indicators not yet checked, the flagged ones apart."""
    missing = _missing(session, organisation_id, today + timedelta(days=ahead_days))
    flagged, n_flagged = _values(session, organisation_id, flagged=True)
    unchecked, n_unchecked = _values(session, organisation_id, flagged=False)
    return DataStatus(
        missing=[
            MissingRequest(r[0], r[1], r[2], r[3], r[4], r[5], r[4] < today)
            for r in missing[:MAX_ROWS]
        ],
        flagged=flagged,
        unchecked=unchecked,
        missing_count=len(missing),
        flagged_count=n_flagged,
        unchecked_count=n_unchecked,
    )


def _missing(session: Session, organisation_id: int, until: date) -> list[Any]:
    return list(
        session.execute(
            select(
                DataRequest.id,
                Indicator.code,
                Indicator.statement,
                DataRequest.period,
                DataRequest.due_on,
                Contact.name,
            )
            .join(Indicator, Indicator.id == DataRequest.indicator_id)
            .join(Contact, Contact.id == DataRequest.contact_id)
            .where(
                DataRequest.organisation_id == organisation_id,
                DataRequest.status == RequestStatus.OPEN.value,
                DataRequest.due_on <= until,
            )
            .order_by(DataRequest.due_on, Indicator.code, DataRequest.id)
        ).all()
    )


def _value_filter(organisation_id: int, flagged: bool) -> tuple[Any, ...]:
    return (
        IndicatorValue.organisation_id == organisation_id,
        IndicatorValue.cell == TOTAL,
        IndicatorValue.check_state == CheckState.UNCHECKED.value,
        IndicatorValue.flagged.is_(flagged),
        Indicator.active.is_(True),
    )


def _values(session: Session, organisation_id: int, *, flagged: bool) -> tuple[list[ValueRow], int]:
    where = _value_filter(organisation_id, flagged)
    count = session.scalar(
        select(func.count(IndicatorValue.id))
        .join(Indicator, Indicator.id == IndicatorValue.indicator_id)
        .where(*where)
    )
    rows = session.execute(
        select(
            IndicatorValue.id,
            Indicator.code,
            Indicator.statement,
            Indicator.unit,
            IndicatorValue.survey_date,
            IndicatorValue.district,
            IndicatorValue.value,
            IndicatorValue.flag_reason,
            IndicatorValue.delivered_at,
        )
        .join(Indicator, Indicator.id == IndicatorValue.indicator_id)
        .where(*where)
        .order_by(Indicator.code, IndicatorValue.survey_date, IndicatorValue.district)
        .limit(MAX_ROWS)
    ).all()
    return [ValueRow(*row) for row in rows], int(count or 0)
