"""The simulated data sources of ``zielflow simulate``: they deliver indicator values, seeded.

Each open request gets one plan, drawn once: deliver after the invitation or the first,
second or final reminder (a few days later), or never. Values continue the series with
some noise; now and then a value lands far off, so flags show up too. Deliveries go
through ``service.deliver``, exactly as the form does. Never touches the clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from notifications.outbox_search import key_matches
from workflow import runtime
from workflow.clock import Clock
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar
from workflow.indicators.delivery import RequestItem, default_raw
from workflow.indicators.models import DataRequest, IndicatorValue, RequestStatus, Unit
from workflow.indicators.service import deliver
from workflow.indicators.validation import Entry

# After how many reminders a source delivers; None never does (this period).
DELIVER_AFTER: tuple[tuple[int | None, int], ...] = ((0, 40), (1, 30), (2, 15), (3, 8), (None, 7))
OFF_THE_SERIES = 0.06


@dataclass
class DataSources:
    rng: random.Random
    plans: dict[int, tuple[int | None, int]] = field(default_factory=dict)

    def plan(self, request_id: int) -> tuple[int | None, int]:
        if request_id not in self.plans:
            choices, weights = zip(*DELIVER_AFTER, strict=True)
            self.plans[request_id] = (
                self.rng.choices(choices, weights)[0],
                self.rng.randint(0, 4),
            )
        return self.plans[request_id]


def act(
    rt: runtime.Runtime, clock: Clock, sources: DataSources, cal: BusinessCalendar, day: date
) -> None:
    """Every source whose plan says so delivers today, one transaction each."""
    with rt.sessions() as s:
        open_ids = list(
            s.scalars(
                select(DataRequest.id)
                .where(DataRequest.status == RequestStatus.OPEN.value)
                .order_by(DataRequest.id)
            )
        )
        reminders = {i: _reminders_sent(s, i) for i in open_ids}
        opened = {
            i: cal.local_date(at)
            for i, at in s.execute(
                select(DataRequest.id, DataRequest.opened_at).where(DataRequest.id.in_(open_ids))
            )
        }
    for request_id in open_ids:
        after, delay = sources.plan(request_id)
        sent = reminders[request_id]
        if after is None or len(sent) < after:
            continue
        since = cal.local_date(sent[after - 1]) if after else opened[request_id]
        if day < since + timedelta(days=delay):
            continue
        with unit_of_work(rt.sessions) as s:
            _deliver(s, clock, sources.rng, request_id, day)


def _reminders_sent(session: Session, request_id: int) -> list[datetime]:
    return sorted(
        at
        for at in session.scalars(
            select(OutboxMessage.sent_at).where(
                key_matches(OutboxMessage.dedupe_key, f"dr:{request_id}:", ":reminder:", ""),
                OutboxMessage.status == "sent",
            )
        )
        if at is not None
    )


def _deliver(
    session: Session, clock: Clock, rng: random.Random, request_id: int, day: date
) -> None:
    request = session.get(DataRequest, request_id, with_for_update={"of": DataRequest})
    if request is None or request.status != RequestStatus.OPEN.value:
        return
    indicator = request.indicator
    # The survey date is the rhythm date, as the form proposes it.
    survey = min(date.fromisoformat(default_raw(RequestItem(request, []))["survey_date"]), day)
    last = session.scalars(
        select(IndicatorValue)
        .where(
            IndicatorValue.indicator_id == indicator.id,
            IndicatorValue.district == "",
            IndicatorValue.cell == "",
        )
        .order_by(IndicatorValue.survey_date.desc())
        .limit(1)
    ).first()
    entries = [_entry(indicator.unit, last, rng, request.period)]
    deliver(
        session,
        clock=clock,
        request=request,
        survey_date=survey,
        entries=entries,
        comment="",
        actor=f"contact:{request.contact_id}",
        actor_name=request.contact.name,
    )


def _entry(unit: str, last: IndicatorValue | None, rng: random.Random, period: str) -> Entry:
    if unit == Unit.TEXT:
        return Entry("", report=f"Simulierter Bericht für {period}: Instrumente fortgeführt.")
    if unit == Unit.SCALE:
        base = list(last.counts) if last is not None and last.counts else [2, 4, 8, 6, 3]
        counts = tuple(max(0, c + rng.randint(-2, 2)) for c in base)
        return Entry("", counts=counts if sum(counts) else (0, 0, 1, 0, 0))
    previous = last.value if last is not None and last.value is not None else 10.0
    factor = 1 + rng.gauss(0, 0.03)
    if rng.random() < OFF_THE_SERIES:
        factor *= rng.choice((0.4, 1.8))
    value = previous * factor
    if unit == Unit.PERCENT:
        value = min(100.0, max(0.0, round(value, 1)))
    elif unit == Unit.COUNT:
        value = float(max(0, round(value)))
    else:
        value = max(0.0, round(value, 2)) if unit in (Unit.RATE, Unit.CURRENCY) else round(value, 2)
    return Entry("", value=value)


def summary(session: Session) -> dict[str, int]:
    def count(*where: object) -> int:
        return int(
            session.scalar(select(func.count()).select_from(DataRequest).where(*where))  # type: ignore[arg-type]
            or 0
        )

    flagged = session.scalar(
        select(func.count()).select_from(IndicatorValue).where(IndicatorValue.flagged.is_(True))
    )
    return {
        "opened": count(),
        "delivered": count(DataRequest.status == RequestStatus.DELIVERED.value),
        "open_at_end": count(DataRequest.status == RequestStatus.OPEN.value),
        "flagged_values": int(flagged or 0),
    }
