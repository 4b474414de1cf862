"""What a meeting's pack (Sitzungsunterlage) holds, item by item of its agenda; reads only.

The title page's facts, who is expected (members on the meeting day and guests), and per
agenda item the material its kind needs: a field's measures with their latest answers; one
measure with the department's answer and reason; an escalated item's history; an
indicator's latest values and target; an earlier decision's text, status and due date.
A reference that does not belong to the meeting's organisation is treated as missing, never
shown. After the agenda, the state of implementation: each measure of the body's fields
with its latest status (``workflow.status_checks.by_field``) on the meeting day. In a
district's body, for each town a current member represents: that town's measures of its
cycle of the meeting's year that are overdue on the meeting day. Values stay raw codes and
dates: ``workflow.meetings.pack`` picks the words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.bodies.models import Body, BodyMember, Meeting
from workflow.bodies.queries import current_members
from workflow.bodies.scope_access import covered_fields
from workflow.catalogue.models import Field, Organisation
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.cycles.queries import TimelineEntry, overdue_clause, timeline
from workflow.decisions.models import Decision
from workflow.indicators.models import Indicator, IndicatorValue
from workflow.indicators.summary import IndicatorPoint, summarise
from workflow.meetings.models import AgendaItem, AgendaKind, MeetingGuest
from workflow.meetings.status import (
    MeasureStatus,
    ReportScope,
    field_statuses,
    newest_cycle,
    statuses,
)
from workflow.status_checks.by_field import FieldBlock, status_by_field

RECENT_VALUES = 6  # an indicator's latest values shown in the pack


@dataclass(frozen=True)
class Person:
    name: str
    role: str  # a member's role (chair, member, deputy); "guest" for a guest
    represents: str  # a member's representation code; "" if not stated or a guest
    detail: str  # represents_name, or the field a guest reports on ("A Arbeit")


@dataclass(frozen=True)
class IndicatorMaterial:
    code: str
    statement: str
    unit: str
    direction: str
    target_value: float | None
    trend: str
    on_track: bool | None
    points: tuple[IndicatorPoint, ...]  # the latest city-wide values, oldest first


@dataclass(frozen=True)
class DecisionMaterial:
    kind: str
    status: str
    text: str
    due_on: date | None
    taken_on: date  # the day of the meeting that took it
    body_name: str


@dataclass(frozen=True)
class PackItem:
    number: int
    kind: str
    title: str
    field: tuple[str, str] | None = None  # (code, name) of a field report
    measures: tuple[MeasureStatus, ...] = ()
    history: tuple[TimelineEntry, ...] = ()
    indicator: IndicatorMaterial | None = None
    decision: DecisionMaterial | None = None
    missing: bool = False  # the item names something the pack cannot show


@dataclass(frozen=True)
class TownSection:
    """A town a member of the body speaks for, and its overdue measures on the meeting day."""

    name: str
    represented_by: tuple[str, ...]  # the members' names
    year: int
    has_cycle: bool
    total: int  # the town's measures in its cycle of ``year``
    overdue: tuple[MeasureStatus, ...]


@dataclass(frozen=True)
class Pack:
    organisation: str
    office: str
    office_address: tuple[str, ...]
    timezone: str
    body_name: str
    body_kind: str
    meeting_id: int
    held_on: date
    starts_at: str | None
    place: str
    title: str
    year: int | None  # the newest cycle, whose measures the pack shows
    members: tuple[Person, ...]
    guests: tuple[Person, ...]
    items: tuple[PackItem, ...]
    # "Stand der Umsetzung": the body's fields, each measure's latest status on the day.
    status_fields: tuple[FieldBlock, ...] = ()
    towns: tuple[TownSection, ...] = ()


def pack_of(session: Session, meeting: Meeting) -> Pack:
    body = session.get(Body, meeting.body_id)
    assert body is not None  # FK
    org = session.get(Organisation, body.organisation_id)
    assert org is not None  # FK
    cycle = newest_cycle(session, org.id)
    agenda = session.scalars(
        select(AgendaItem)
        .where(AgendaItem.meeting_id == meeting.id)
        .order_by(AgendaItem.position, AgendaItem.id)
    ).all()
    members = current_members(session, body_id=body.id, day=meeting.held_on)
    return Pack(
        organisation=org.name,
        office=org.office_name,
        office_address=tuple(org.office_address.splitlines()),
        timezone=org.timezone,
        body_name=body.name,
        body_kind=body.kind,
        meeting_id=meeting.id,
        held_on=meeting.held_on,
        starts_at=meeting.starts_at,
        place=meeting.place,
        title=meeting.title,
        year=cycle.year if cycle else None,
        members=tuple(
            Person(m.name, m.role, m.represents or "", m.represents_name) for m in members
        ),
        guests=_guests(session, meeting),
        items=tuple(
            _item(session, org.id, meeting, number, item) for number, item in enumerate(agenda, 1)
        ),
        status_fields=_status_fields(session, org.id, body, meeting.held_on),
        towns=_towns(session, org, members, meeting.held_on),
    )


def _towns(
    session: Session, district: Organisation, members: Sequence[BodyMember], day: date
) -> tuple[TownSection, ...]:
    """One section per town of ``district`` that a current member speaks for, by name.

    As in the digest, a town that does not share its data with the district is shown all
    the same: its own representative speaks for it in this body.
    """
    speakers: dict[int, list[str]] = {}
    for m in members:
        if m.represents_organisation_id is not None:
            speakers.setdefault(m.represents_organisation_id, []).append(m.name)
    towns = [
        t
        for t in (session.get(Organisation, town_id) for town_id in speakers)
        if t is not None and t.parent_id == district.id and t.archived_at is None
    ]
    return tuple(
        _town_section(session, t, tuple(speakers[t.id]), day)
        for t in sorted(towns, key=lambda t: (t.name, t.slug))
    )


def _town_section(
    session: Session, town: Organisation, names: tuple[str, ...], day: date
) -> TownSection:
    cycle = session.scalars(
        select(Cycle).where(Cycle.organisation_id == town.id, Cycle.year == day.year)
    ).first()
    if cycle is None:
        return TownSection(town.name, names, day.year, False, 0, ())
    total = session.scalar(
        select(func.count(MeasureCycle.id)).where(MeasureCycle.cycle_id == cycle.id)
    )
    late = session.scalars(
        select(MeasureCycle.id).where(MeasureCycle.cycle_id == cycle.id, overdue_clause(day))
    ).all()
    return TownSection(town.name, names, day.year, True, total or 0, tuple(statuses(session, late)))


def _status_fields(
    session: Session, organisation_id: int, body: Body, day: date
) -> tuple[FieldBlock, ...]:
    covered = covered_fields(session, body)  # None: every field; empty: indicators only
    blocks = status_by_field(session, organisation_id=organisation_id, today=day)
    return tuple(b for b in blocks if covered is None or b.id in covered)


def _guests(session: Session, meeting: Meeting) -> tuple[Person, ...]:
    out = []
    for guest in session.scalars(
        select(MeetingGuest).where(MeetingGuest.meeting_id == meeting.id).order_by(MeetingGuest.id)
    ):
        field = session.get(Field, guest.field_id) if guest.field_id else None
        out.append(Person(guest.name, "guest", "", f"{field.code} {field.name}" if field else ""))
    return tuple(out)


def _item(
    session: Session, organisation_id: int, meeting: Meeting, number: int, item: AgendaItem
) -> PackItem:
    base = PackItem(number, item.kind, item.title)
    kind = item.kind
    if kind == AgendaKind.FIELD_REPORT.value:
        field = session.get(Field, item.field_id) if item.field_id else None
        if field is None or field.organisation_id != organisation_id:
            return _missing(base)
        measures = field_statuses(
            session, organisation_id=organisation_id, scope=ReportScope(field.id)
        )
        return PackItem(
            number, kind, item.title, field=(field.code, field.name), measures=tuple(measures)
        )
    if kind in (
        AgendaKind.DROP_PROPOSAL.value,
        AgendaKind.REVIEW_ACCEPTANCE.value,
        AgendaKind.ESCALATION.value,
    ):
        mc = session.get(MeasureCycle, item.measure_cycle_id) if item.measure_cycle_id else None
        if mc is None or mc.organisation_id != organisation_id:
            return _missing(base)
        history = timeline(session, mc.id) if kind == AgendaKind.ESCALATION.value else []
        return PackItem(
            number,
            kind,
            item.title,
            measures=tuple(statuses(session, [mc.id])),
            history=tuple(history),
        )
    if kind == AgendaKind.INDICATOR_OFF_TRACK.value:
        material = _indicator(session, organisation_id, item.indicator_id, meeting.held_on)
        return (
            PackItem(number, kind, item.title, indicator=material) if material else _missing(base)
        )
    if kind == AgendaKind.OPEN_DECISION.value:
        decision = _decision(session, organisation_id, item.decision_id)
        return PackItem(number, kind, item.title, decision=decision) if decision else _missing(base)
    return base


def _missing(item: PackItem) -> PackItem:
    return PackItem(item.number, item.kind, item.title, missing=True)


def _indicator(
    session: Session, organisation_id: int, indicator_id: int | None, until: date
) -> IndicatorMaterial | None:
    indicator = session.get(Indicator, indicator_id) if indicator_id else None
    if indicator is None or indicator.organisation_id != organisation_id:
        return None
    values = list(
        session.scalars(
            select(IndicatorValue).where(
                IndicatorValue.indicator_id == indicator.id,
                IndicatorValue.district == "",
                IndicatorValue.cell == "",
                IndicatorValue.survey_date <= until,
            )
        )
    )
    summary = summarise(indicator, values)
    return IndicatorMaterial(
        code=indicator.code,
        statement=indicator.statement,
        unit=indicator.unit,
        direction=indicator.direction,
        target_value=indicator.target_value,
        trend=summary.trend,
        on_track=summary.on_track,
        points=summary.points[-RECENT_VALUES:],
    )


def _decision(
    session: Session, organisation_id: int, decision_id: int | None
) -> DecisionMaterial | None:
    decision = session.get(Decision, decision_id) if decision_id else None
    if decision is None or decision.organisation_id != organisation_id:
        return None
    taken = session.execute(
        select(Meeting.held_on, Body.name)
        .join(Body, Body.id == Meeting.body_id)
        .where(Meeting.id == decision.meeting_id)
    ).one()
    return DecisionMaterial(
        kind=decision.kind,
        status=decision.status,
        text=decision.text,
        due_on=decision.due_on,
        taken_on=taken[0],
        body_name=taken[1],
    )
