"""A department's review as values of the indicators' series; the caller owns the transaction.

The actual values (Ist) a review reports for the indicators linked to its measure become
city-wide values of each series on the review's date (the local day it was submitted), with
the answer as their source: the measure-in-cycle, who answered, when. A correction of the
answer corrects those rows (and a value taken out of the answer leaves the series). A value
of the data source or a coordinator's on the same date wins: the answer's is then left out
of the series and stays in the review. Targets of an agreement are never written here.
Never commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete
from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import MeasureCycle, Review
from workflow.indicators.models import Indicator, IndicatorValue, Unit
from workflow.indicators.service import DateTaken, record_value
from workflow.indicators.validation import Entry


@dataclass
class AnswerValues:
    recorded: list[IndicatorValue] = field(default_factory=list)
    # Codes of the indicators whose date already holds a value the answer must not replace.
    left_out: list[str] = field(default_factory=list)


def source_label(mc: MeasureCycle) -> str:
    """The stored ``source`` of an answer's value: German, like the series' other sources."""
    return f"Zielerreichung {mc.cycle.year}: {mc.measure.code}"


def record_review_values(
    *,
    session: Session,
    review: Review,
    mc: MeasureCycle,
    actor: str,
    actor_name: str,
    now: datetime,
) -> AnswerValues:
    """Write (or correct) the series' values of one submitted review."""
    org = session.get(Organisation, mc.organisation_id)
    assert org is not None, "foreign key"
    day = calendar_of(org).local_date(review.submitted_at or now)
    out = AnswerValues()
    kept: set[int] = set()
    for key, text in sorted((review.indicator_values or {}).items()):
        indicator = _indicator(session, key, mc.organisation_id)
        entry = _entry(indicator, str(text)) if indicator is not None else None
        if indicator is None or entry is None:
            continue
        kept.add(indicator.id)
        try:
            recorded = record_value(
                session,
                indicator=indicator,
                survey_date=day,
                entry=entry,
                comment="",
                actor=actor,
                actor_name=actor_name,
                now=now,
                source=source_label(mc),
                measure_cycle_id=mc.id,
            )
        except DateTaken:
            out.left_out.append(indicator.code)
            continue
        out.recorded.append(recorded.row)
    withdrawn = delete(IndicatorValue).where(IndicatorValue.measure_cycle_id == mc.id)
    if kept:
        withdrawn = withdrawn.where(IndicatorValue.indicator_id.not_in(kept))
    session.execute(withdrawn)
    return out


def _indicator(session: Session, key: str, organisation_id: int) -> Indicator | None:
    """The slot key ``i<id>`` (``workflow.forms.indicators``) as the organisation's indicator."""
    if not key.startswith("i") or not key[1:].isdigit() or len(key) > 12:
        return None
    indicator = session.get(Indicator, int(key[1:]))
    if indicator is None or indicator.organisation_id != organisation_id:
        return None
    return indicator


def _entry(indicator: Indicator, text: str) -> Entry | None:
    """The answer's clean string (``forms.validation`` stored it) as an entry of the series."""
    if indicator.unit == Unit.TEXT:
        return Entry("", report=text) if text.strip() else None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    # A survey's mean has no counts behind it here; the series keeps the mean alone.
    return Entry("", value=float(number)) if number.is_finite() else None
