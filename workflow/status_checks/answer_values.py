"""A status-check answer's indicator values as values of the indicators' series. Never commits.

Each value typed in a status check becomes the city-wide value of its indicator on the day it
was answered (the organisation's local day), with the answer as its source: the check and
the measure in ``source``, who answered in ``delivered_by``, when in ``delivered_at``. A
correction corrects that row (history kept); a value taken out of the answer leaves the
series. Any other value on the same date (the data source's, a coordinator's, a review's)
wins: the answer's is then left out of the series and stays in the item. The rows are told
apart by their ``source``, not by ``measure_cycle_id``, which belongs to the review's values.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Measure, Organisation
from workflow.cycles.calendar import calendar_of
from workflow.indicators.models import Indicator, IndicatorValue, Unit
from workflow.indicators.service import record_value
from workflow.indicators.validation import Entry, check_number
from workflow.status_checks.models import StatusCheckItem


def source_label(item: StatusCheckItem, measure: Measure) -> str:
    """German, like the series' other sources; unique per item (one measure per check part)."""
    return f"Sachstandsabfrage Nr. {item.status_check_id}: {measure.code}"


def record_item_values(
    *,
    session: Session,
    item: StatusCheckItem,
    measure: Measure,
    indicators: list[Indicator],
    actor: str,
    actor_name: str,
    now: datetime,
) -> list[str]:
    """Write (or correct) the series' values of one stored answer; returns the codes left out."""
    org = session.get(Organisation, item.organisation_id)
    assert org is not None, "foreign key"
    day = calendar_of(org).local_date(now)
    label = source_label(item, measure)
    left_out: list[str] = []
    for indicator in indicators:
        mine = _row(session, indicator.id, source=label)
        text = str((item.indicator_values or {}).get(indicator.code) or "").strip()
        entry = _entry(indicator, text) if text else None
        if entry is None:
            if mine is not None:
                session.delete(mine)
            continue
        on_date = _row(session, indicator.id, day=day)
        if on_date is not None and (mine is None or on_date.id != mine.id):
            left_out.append(indicator.code)
            continue
        if mine is not None and mine.survey_date != day:
            # Answered again on a later day: the value moves to the day of the correction.
            session.delete(mine)
            session.flush()
        record_value(
            session, indicator=indicator, survey_date=day, entry=entry, comment="",
            actor=actor, actor_name=actor_name, now=now, source=label,
        )  # fmt: skip
    return left_out


def _row(
    session: Session, indicator_id: int, *, source: str | None = None, day: date | None = None
) -> IndicatorValue | None:
    query = select(IndicatorValue).where(
        IndicatorValue.indicator_id == indicator_id,
        IndicatorValue.district == "",
        IndicatorValue.cell == "",
    )
    if source is not None:
        query = query.where(
            IndicatorValue.source == source,
            IndicatorValue.data_request_id.is_(None),
            IndicatorValue.measure_cycle_id.is_(None),
        )
    if day is not None:
        query = query.where(IndicatorValue.survey_date == day)
    return session.scalars(query.order_by(IndicatorValue.id)).first()


def _entry(indicator: Indicator, text: str) -> Entry | None:
    """The checked text (``answers.check_item`` refused anything else) as an entry."""
    if indicator.unit == Unit.TEXT:
        return Entry("", report=text)
    number, problem = check_number(indicator.unit, text)
    return Entry("", value=number) if problem is None and number is not None else None
