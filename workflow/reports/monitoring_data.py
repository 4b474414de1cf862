"""What the monitoring report shows (seed 004, section 4), read with column selects; never writes.

Per Handlungsfeld (code order): its Annahmen, its goals by rank and per goal the indicators
linked to it, split into Kennzahlen and Wirkungsindikatoren, each with its base figures and
the latest city-wide total up to 31.12. of the report year; then the values per district of
that year and the statistics office's statement. Never asks the clock: the same data and
year give the same report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Field, Goal, Organisation
from workflow.conference.models import Conference, ConferenceQuestion
from workflow.indicators import dimensions
from workflow.indicators.breakdown import TOTAL, cell_label, cells_of, ordered
from workflow.indicators.models import (
    CheckState,
    Indicator,
    IndicatorValue,
    Kind,
    indicator_goal,
    kind_of,
)
from workflow.monitoring.report_texts import statement_row
from workflow.reports.german import code_key

# A value the Monitoringgruppe has looked at; anything else is printed as "ungeprüft".
CHECKED_STATES = frozenset({CheckState.CHECKED, CheckState.CONFIRMED, CheckState.CORRECTED})
CITY_WIDE = ""
DimensionLabels = Mapping[str, tuple[str, Mapping[str, str]]]


@dataclass(frozen=True)
class Value:
    """One stored value as the report prints it."""

    survey_date: date
    district: str
    cell: str
    cell_label: str  # "" for the total
    value: float | None
    counts: tuple[int, ...]  # survey answers per scale point 1..n; empty for other kinds
    report: str  # a written impact report, printed in full
    comment: str
    source: str
    numerator: float | None
    denominator: float | None
    population_share: float | None
    check_state: str

    @property
    def unchecked(self) -> bool:
        return self.check_state not in CHECKED_STATES

    @property
    def answers(self) -> int:
        return sum(self.counts)

    @property
    def mean(self) -> float | None:
        """The survey's mean: the stored one, else computed from the counts."""
        if self.value is not None or not self.counts:
            return self.value
        total = self.answers
        return sum((i + 1) * n for i, n in enumerate(self.counts)) / total if total else None


@dataclass(frozen=True)
class IndicatorRow:
    code: str
    statement: str
    kind: str  # quantitative | survey | qualitative
    unit: str
    base_figures: str
    numerator_label: str
    denominator_label: str
    district: str  # the statistical district the city-wide value covers
    source: str
    notes: str
    latest: Value | None  # the city-wide total up to 31.12. of the year
    cells: tuple[Value, ...]  # the latest value's cells, in the indicator's order
    # A survey's five answer labels, as the conference that gave the latest value asked them;
    # empty when no conference question names them (the report then numbers the points).
    scale_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class GoalBlock:
    code: str
    name: str
    rank: int
    kennzahlen: tuple[IndicatorRow, ...]
    wirkungsindikatoren: tuple[IndicatorRow, ...]


@dataclass(frozen=True)
class FieldBlock:
    code: str
    name: str
    assumptions: str
    goals: tuple[GoalBlock, ...]
    indicator_count: int  # distinct indicators over the field's goals


@dataclass(frozen=True)
class DistrictTable:
    code: str
    statement: str
    unit: str
    kind: str
    rows: tuple[Value, ...]  # per district its latest total of the year, districts sorted


@dataclass(frozen=True)
class Statement:
    text: str
    author: str


@dataclass(frozen=True)
class MonitoringReport:
    organisation: str
    office: str
    office_address: tuple[str, ...]
    slug: str
    year: int
    as_of: date  # 31.12. of the year: the last survey date a value may have
    fields: tuple[FieldBlock, ...]
    districts: tuple[DistrictTable, ...]
    statement: Statement | None


def monitoring_report(session: Session, *, organisation_id: int, year: int) -> MonitoringReport:
    org = session.get(Organisation, organisation_id)
    assert org is not None  # the caller resolved the organisation
    as_of = date(year, 12, 31)
    labels = dimension_labels(session, organisation_id)
    indicators = _indicators(session, organisation_id)
    latest = _latest_totals(session, organisation_id, as_of)
    cells = _cells_of_latest(session, organisation_id, latest, labels)
    scales = _scale_labels(session, organisation_id, latest)
    rows = {
        ind_id: replace(
            _indicator_row(info, latest.get(ind_id), cells.get(ind_id, []), labels),
            scale_labels=scales.get(ind_id, ()),
        )
        for ind_id, info in indicators.items()
    }
    return MonitoringReport(
        organisation=org.name,
        office=org.office_name,
        office_address=tuple(org.office_address.splitlines()),
        slug=org.slug,
        year=year,
        as_of=as_of,
        fields=_fields(session, organisation_id, rows),
        districts=_district_tables(session, organisation_id, year, indicators),
        statement=_statement(session, organisation_id, year),
    )


def dimension_labels(session: Session, organisation_id: int) -> DimensionLabels:
    """Dimension code -> (label, {category code: label}), for ``cell_label``."""
    return dimensions.labels(dimensions.dimensions_of(session, organisation_id))


def _indicators(session: Session, organisation_id: int) -> dict[int, dict[str, Any]]:
    columns = (
        Indicator.id,
        Indicator.code,
        Indicator.statement,
        Indicator.unit,
        Indicator.base_figures,
        Indicator.numerator_label,
        Indicator.denominator_label,
        Indicator.district,
        Indicator.source_label,
        Indicator.notes,
        Indicator.dimensions,
    )
    found = session.execute(
        select(*columns).where(
            Indicator.organisation_id == organisation_id, Indicator.active.is_(True)
        )
    ).all()
    return {row.id: row._asdict() for row in found}


_VALUE_COLUMNS = (
    IndicatorValue.indicator_id,
    IndicatorValue.survey_date,
    IndicatorValue.district,
    IndicatorValue.cell,
    IndicatorValue.value,
    IndicatorValue.counts,
    IndicatorValue.report,
    IndicatorValue.comment,
    IndicatorValue.source,
    IndicatorValue.numerator,
    IndicatorValue.denominator,
    IndicatorValue.population_share,
    IndicatorValue.check_state,
)


def _value(row: Any, label: str = "") -> Value:
    return Value(
        survey_date=row.survey_date,
        district=row.district,
        cell=row.cell,
        cell_label=label,
        value=row.value,
        counts=tuple(int(n) for n in row.counts or ()),
        report=row.report,
        comment=row.comment,
        source=row.source,
        numerator=row.numerator,
        denominator=row.denominator,
        population_share=row.population_share,
        check_state=row.check_state,
    )


def _latest_totals(session: Session, organisation_id: int, as_of: date) -> dict[int, Value]:
    """Per indicator its city-wide total with the latest survey date up to ``as_of``."""
    last = (
        select(IndicatorValue.indicator_id, func.max(IndicatorValue.survey_date).label("day"))
        .where(
            IndicatorValue.organisation_id == organisation_id,
            IndicatorValue.cell == TOTAL,
            IndicatorValue.district == CITY_WIDE,
            IndicatorValue.survey_date <= as_of,
        )
        .group_by(IndicatorValue.indicator_id)
        .subquery()
    )
    found = session.execute(
        select(*_VALUE_COLUMNS)
        .join(
            last,
            and_(
                last.c.indicator_id == IndicatorValue.indicator_id,
                last.c.day == IndicatorValue.survey_date,
            ),
        )
        # The unique key (indicator, district, survey date, cell) makes this one row each.
        .where(IndicatorValue.cell == TOTAL, IndicatorValue.district == CITY_WIDE)
    ).all()
    return {row.indicator_id: _value(row) for row in found}


def _cells_of_latest(
    session: Session, organisation_id: int, latest: Mapping[int, Value], labels: DimensionLabels
) -> dict[int, list[Any]]:
    """The breakdown cells stored for the latest total's survey date, per indicator."""
    if not latest:
        return {}
    found = session.execute(
        select(*_VALUE_COLUMNS).where(
            IndicatorValue.organisation_id == organisation_id,
            IndicatorValue.indicator_id.in_(sorted(latest)),
            IndicatorValue.cell != TOTAL,
            IndicatorValue.district == CITY_WIDE,
        )
    ).all()
    out: dict[int, list[Any]] = defaultdict(list)
    for row in found:
        if row.survey_date == latest[row.indicator_id].survey_date:
            out[row.indicator_id].append(row)
    return out


def _scale_labels(
    session: Session, organisation_id: int, latest: Mapping[int, Value]
) -> dict[int, tuple[str, ...]]:
    """Per survey indicator the labels its question had at the conference of the latest value's
    day (the survey writes its values on the conference's day)."""
    found = session.execute(
        select(ConferenceQuestion.indicator_id, Conference.held_on, ConferenceQuestion.scale_labels)
        .join(Conference, Conference.id == ConferenceQuestion.conference_id)
        .where(
            Conference.organisation_id == organisation_id,
            ConferenceQuestion.indicator_id.in_(sorted(latest)),
        )
        .order_by(Conference.id)
    ).all()
    out: dict[int, tuple[str, ...]] = {}
    for indicator_id, held_on, scale in found:
        if indicator_id is None:
            continue
        value = latest.get(indicator_id)
        if value is not None and value.survey_date == held_on and len(scale or ()) == 5:
            out[indicator_id] = tuple(scale)
    return out


def _indicator_row(
    info: Mapping[str, Any], latest: Value | None, cell_rows: Iterable[Any], labels: DimensionLabels
) -> IndicatorRow:
    by_key = {row.cell: row for row in cell_rows}
    dims = [(d, list(labels.get(d, (d, {}))[1])) for d in info["dimensions"] or []]
    keys = ordered(by_key, cells_of(dims))
    return IndicatorRow(
        code=info["code"],
        statement=info["statement"],
        kind=kind_of(info["unit"]).value,
        unit=info["unit"],
        base_figures=info["base_figures"],
        numerator_label=info["numerator_label"],
        denominator_label=info["denominator_label"],
        district=info["district"],
        source=info["source_label"],
        notes=info["notes"],
        latest=latest,
        cells=tuple(_value(by_key[k], _label(k, labels)) for k in keys),
    )


def _label(key: str, labels: DimensionLabels) -> str:
    try:
        return cell_label(key, labels)
    except ValueError:  # a malformed key is shown as stored rather than hidden
        return key


def _fields(
    session: Session, organisation_id: int, rows: Mapping[int, IndicatorRow]
) -> tuple[FieldBlock, ...]:
    fields = session.execute(
        select(Field.id, Field.code, Field.name, Field.assumptions).where(
            Field.organisation_id == organisation_id
        )
    ).all()
    goals = session.execute(
        select(Goal.id, Goal.field_id, Goal.code, Goal.name, Goal.rank).where(
            Goal.organisation_id == organisation_id
        )
    ).all()
    links = session.execute(
        select(indicator_goal.c.goal_id, indicator_goal.c.indicator_id).where(
            indicator_goal.c.goal_id.in_([g.id for g in goals])
        )
    ).all()
    by_goal: dict[int, list[IndicatorRow]] = defaultdict(list)
    for goal_id, indicator_id in links:
        if indicator_id in rows:  # inactive indicators are not reported
            by_goal[goal_id].append(rows[indicator_id])
    goals_of: dict[int, list[Any]] = defaultdict(list)
    for g in goals:
        goals_of[g.field_id].append(g)
    blocks = []
    for f in sorted(fields, key=lambda f: code_key(f.code)):
        mine = sorted(goals_of[f.id], key=lambda g: (g.rank, code_key(g.code)))
        blocks.append(
            FieldBlock(
                code=f.code,
                name=f.name,
                assumptions=f.assumptions,
                goals=tuple(_goal_block(g, by_goal[g.id]) for g in mine),
                indicator_count=len({r.code for g in mine for r in by_goal[g.id]}),
            )
        )
    return tuple(blocks)


def _goal_block(goal: Any, indicators: list[IndicatorRow]) -> GoalBlock:
    ranked = sorted(indicators, key=lambda r: code_key(r.code))
    return GoalBlock(
        code=goal.code,
        name=goal.name,
        rank=goal.rank,
        kennzahlen=tuple(r for r in ranked if r.kind == Kind.QUANTITATIVE),
        wirkungsindikatoren=tuple(r for r in ranked if r.kind != Kind.QUANTITATIVE),
    )


def _district_tables(
    session: Session, organisation_id: int, year: int, indicators: Mapping[int, Mapping[str, Any]]
) -> tuple[DistrictTable, ...]:
    """Per indicator with district values in the year: each district's latest total."""
    found = session.execute(
        select(*_VALUE_COLUMNS).where(
            IndicatorValue.organisation_id == organisation_id,
            IndicatorValue.cell == TOTAL,
            IndicatorValue.district != CITY_WIDE,
            IndicatorValue.survey_date >= date(year, 1, 1),
            IndicatorValue.survey_date <= date(year, 12, 31),
        )
    ).all()
    latest: dict[int, dict[str, Any]] = defaultdict(dict)
    for row in found:
        if row.indicator_id not in indicators:
            continue
        seen = latest[row.indicator_id].get(row.district)
        if seen is None or row.survey_date > seen.survey_date:
            latest[row.indicator_id][row.district] = row
    tables = [
        DistrictTable(
            code=indicators[ind_id]["code"],
            statement=indicators[ind_id]["statement"],
            unit=indicators[ind_id]["unit"],
            kind=kind_of(indicators[ind_id]["unit"]).value,
            rows=tuple(_value(by_district[d]) for d in sorted(by_district)),
        )
        for ind_id, by_district in latest.items()
    ]
    return tuple(sorted(tables, key=lambda t: code_key(t.code)))


def _statement(session: Session, organisation_id: int, year: int) -> Statement | None:
    found = statement_row(session, organisation_id=organisation_id, year=year)
    if found is None or not found.text.strip():
        return None
    return Statement(text=found.text, author=found.author)
