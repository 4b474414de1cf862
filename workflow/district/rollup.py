"""The district's view of its towns: pipeline counts per town and summed; read only.

A town's data stays the town's: nothing here writes, and a town is reached only through
its district (``towns_of``), so a town's coordinator, whose organisation is no district,
sees none of its siblings. The counts are the towns' own pipeline counts
(workflow/cycles/queries.py ``pipeline_counts``) and status counts (the latest status of each
measure, workflow/status_checks/latest.py), each as of the town's own today. A town that
declines to share (``Organisation.shares_with_district`` False) still appears here: counts
are all the district ever sees of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation, OrganisationKind
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import Cycle
from workflow.cycles.queries import PipelineCounts, pipeline_counts
from workflow.district.indicators import IndicatorRow, compare_indicators, last_day
from workflow.district.status import NO_ANSWER, status_counts
from workflow.machine import State
from workflow.status_checks.latest import STANDS

# Every key of ``Row.status``, in the order a person reads them.
STATUS_KEYS: tuple[str, ...] = (*STANDS, NO_ANSWER)


@dataclass(frozen=True)
class Row:
    slug: str
    name: str
    is_district: bool  # the district's own measures, besides its towns'
    year_open: bool  # the organisation has a cycle of the year
    total: int
    by_state: dict[str, int]
    overdue: int
    # Latest status of the measures in view: a ``Stand`` value or "none" -> count.
    status: dict[str, int] = field(default_factory=dict)
    shares: bool = True  # False: the town shares counts only


@dataclass(frozen=True)
class Rollup:
    district_slug: str
    year: int
    rows: list[Row]  # the district first, then its towns by name
    sum: Row = field(compare=False)
    # Indicators of the same code side by side, summed where they are counts.
    indicators: list[IndicatorRow] = field(default_factory=list, compare=False)


def is_district(org: Organisation) -> bool:
    return org.kind == OrganisationKind.DISTRICT.value


def towns_of(session: Session, district: Organisation) -> list[Organisation]:
    return list(
        session.scalars(
            select(Organisation)
            # An archived town has left the district's view, not its history.
            .where(Organisation.parent_id == district.id, Organisation.archived_at.is_(None))
            .order_by(Organisation.name, Organisation.slug)
        )
    )


def town_of(session: Session, district: Organisation, slug: str) -> Organisation | None:
    """One town of the district by its short name; another district's town is None."""
    return next((t for t in towns_of(session, district) if t.slug == slug), None)


def counts_of(
    session: Session, org: Organisation, year: int, now: datetime
) -> PipelineCounts | None:
    cycle = session.scalars(
        select(Cycle).where(Cycle.organisation_id == org.id, Cycle.year == year)
    ).first()
    if cycle is None:
        return None
    return pipeline_counts(session, cycle=cycle, today=calendar_of(org).local_date(now))


def rollup(session: Session, *, district: Organisation, year: int, now: datetime) -> Rollup:
    towns = towns_of(session, district)
    rows = [_row(session, o, year, now) for o in (district, *towns)]
    by_state = {s.value: sum(r.by_state.get(s.value, 0) for r in rows) for s in State}
    status = {k: sum(r.status.get(k, 0) for r in rows) for k in STATUS_KEYS}
    total = Row(
        slug="",
        name="",
        is_district=False,
        year_open=any(r.year_open for r in rows),
        total=sum(r.total for r in rows),
        by_state=by_state,
        overdue=sum(r.overdue for r in rows),
        status=status,
    )
    until = last_day(year, calendar_of(district).local_date(now))
    indicators = compare_indicators(session, district=district, towns=towns, until=until)
    return Rollup(
        district_slug=district.slug, year=year, rows=rows, sum=total, indicators=indicators
    )


def _row(session: Session, org: Organisation, year: int, now: datetime) -> Row:
    counts = counts_of(session, org, year, now)
    today = calendar_of(org).local_date(now)
    status = status_counts(session, org, counts.cycle_id, today) if counts else {}
    return Row(
        slug=org.slug,
        name=org.name,
        is_district=is_district(org),
        year_open=counts is not None,
        total=counts.total if counts else 0,
        by_state=dict(counts.by_state) if counts else {s.value: 0 for s in State},
        overdue=counts.overdue_total if counts else 0,
        status={k: status.get(k, 0) for k in STATUS_KEYS},
        shares=org.shares_with_district or is_district(org),
    )
