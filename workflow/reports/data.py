"""What each report shows, read from the database into frozen dataclasses; never writes.

Every function takes the organisation, the cycle and the report date explicitly and never
asks the clock: the same data and the same date give the same report. Everything is sorted
by codes and names, never by row ids or insertion order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow import messages
from workflow.bodies.models import Body, BodyKind, Meeting
from workflow.catalogue.models import (
    Contact,
    Department,
    Field,
    Goal,
    Measure,
    Organisation,
)
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import AuditEvent, Cycle, Interview, MeasureCycle
from workflow.cycles.queries import in_view_of
from workflow.deadlines import DeadlinePolicy
from workflow.decisions.queries import DecisionRow, decisions_of_year
from workflow.indicators.summary import IndicatorSummary, indicator_summaries
from workflow.machine import LABELS_DE, State
from workflow.reports import pending, rates
from workflow.reports.german import code_key
from workflow.reports.pending import DecisionItem, LateItem, OpenDecisions
from workflow.reports.rates import Change, Rates
from workflow.reports.stands import stand_counts
from workflow.terms import Terms, terms_for


class ReportUnavailable(Exception):
    """The report cannot be built from this data (no such cycle, no meeting, unknown kind or
    format): ``code`` and ``params`` for the edge's sentence (workflow/messages.py); ``str()``
    is German, for logs."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params: dict[str, Any] = params
        super().__init__(messages.message(code, messages.DEFAULT, **params))


@dataclass(frozen=True)
class Header:
    organisation: str
    office: str  # the organisation's office (settings), on the cover under its name
    office_address: tuple[str, ...]  # its postal address, one entry per line
    year: int
    report_date: date
    cycle_starts_on: date
    cycle_ends_on: date
    measures: int
    by_state: tuple[tuple[str, int], ...]  # (German phase label, count), in the cycle's order
    # The organisation's words: Fachbereich or Amt, Gesamtstadt or Kreisgebiet, Rat or Kreistag.
    terms: Terms = field(default_factory=lambda: terms_for(None, "de"))


@dataclass(frozen=True)
class Scope:
    """What every query of one report needs: the organisation, its cycle and the report date."""

    organisation: Organisation
    cycle: Cycle
    report_date: date


def scope_for(
    session: Session, *, organisation_id: int, year: int, report_date: date | None = None
) -> Scope:
    """The cycle of ``year``; the report date defaults to the day of the cycle's last event."""
    org = session.get(Organisation, organisation_id)
    cycle = session.scalars(
        select(Cycle).where(Cycle.organisation_id == organisation_id, Cycle.year == year)
    ).first()
    if org is None or cycle is None:
        raise ReportUnavailable("report.no_cycle", year=year)
    return Scope(org, cycle, report_date or last_event_date(session, org, cycle))


def last_event_date(session: Session, org: Organisation, cycle: Cycle) -> date:
    """The local day of the latest audit event of the cycle's measures, or its first day."""
    last = session.scalar(
        select(func.max(AuditEvent.at))
        .join(MeasureCycle, MeasureCycle.id == AuditEvent.measure_cycle_id)
        .where(MeasureCycle.cycle_id == cycle.id)
    )
    return cycle.starts_on if last is None else calendar_of(org).local_date(last)


def header(session: Session, scope: Scope) -> Header:
    counts = dict(
        session.execute(
            select(MeasureCycle.state, func.count())
            # The open items of earlier cycles count here too (each report marks them).
            .where(in_view_of(scope.cycle.id))
            .group_by(MeasureCycle.state)
        ).all()
    )
    return Header(
        organisation=scope.organisation.name,
        office=scope.organisation.office_name,
        office_address=tuple(scope.organisation.office_address.splitlines()),
        year=scope.cycle.year,
        report_date=scope.report_date,
        cycle_starts_on=scope.cycle.starts_on,
        cycle_ends_on=scope.cycle.ends_on,
        measures=sum(counts.values()),
        by_state=tuple((LABELS_DE[s], int(counts[s.value])) for s in State if counts.get(s.value)),
        terms=terms_for(scope.organisation, "de"),
    )


# --- Status-Quo-Bericht -----------------------------------------------------------------

DECISIONS = ("keep", "adapt", "drop", "open")


@dataclass(frozen=True)
class StatusQuoRow:
    code: str
    title: str
    department: str
    contact: str
    state: str
    decision: str  # keep | adapt | drop | open (no Erstgespräch yet)
    implementation_status: str
    held_on: date | None
    interview_year: int | None  # the cycle whose Erstgespräch this is
    notes: str


@dataclass(frozen=True)
class GoalBlock:
    code: str
    name: str
    rank: int
    rows: tuple[StatusQuoRow, ...]


@dataclass(frozen=True)
class FieldBlock:
    code: str
    name: str
    goals: tuple[GoalBlock, ...]

    @property
    def decisions(self) -> Counter[str]:
        return Counter(r.decision for g in self.goals for r in g.rows)


@dataclass(frozen=True)
class StatusQuo:
    header: Header
    fields: tuple[FieldBlock, ...]
    decisions: tuple[tuple[str, int], ...]  # (decision, count) in DECISIONS order
    statuses: tuple[tuple[str, int], ...]  # (implementation status, count), most frequent first
    interviews_this_cycle: int


def status_quo(session: Session, scope: Scope) -> StatusQuo:
    """Each measure of the cycle with the latest Erstgespräch up to this cycle."""
    rows = session.execute(
        select(
            MeasureCycle.measure_id,
            MeasureCycle.state,
            Measure.code,
            Measure.title,
            Department.name,
            Contact.name,
            Goal.code,
            Goal.name,
            Goal.rank,
            Field.code,
            Field.name,
        )
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .join(Goal, Goal.id == Measure.goal_id)
        .join(Field, Field.id == Goal.field_id)
        .join(Department, Department.id == Measure.department_id)
        .outerjoin(Contact, Contact.id == Measure.contact_id)
        .where(MeasureCycle.cycle_id == scope.cycle.id)
    ).all()
    interviews = _latest_interviews(session, scope, [r[0] for r in rows])
    fields: dict[tuple[str, str], dict[tuple[int, str, str], list[StatusQuoRow]]] = {}
    for measure_id, state, code, title, dept, contact, g_code, g_name, rank, f_code, f_name in rows:
        found = interviews.get(measure_id)
        interview, year = found if found else (None, None)
        row = StatusQuoRow(
            code=code,
            title=title,
            department=dept,
            contact=contact or "",
            state=state,
            decision=interview.decision if interview else "open",
            implementation_status=interview.implementation_status if interview else "",
            held_on=interview.held_on if interview else None,
            interview_year=year,
            notes=interview.notes if interview else "",
        )
        fields.setdefault((f_code, f_name), {}).setdefault((rank, g_code, g_name), []).append(row)
    blocks = tuple(
        FieldBlock(
            f_code,
            f_name,
            tuple(
                GoalBlock(
                    g_code, g_name, rank, tuple(sorted(items, key=lambda r: code_key(r.code)))
                )
                for (rank, g_code, g_name), items in sorted(
                    goals.items(), key=lambda kv: code_key(kv[0][1])
                )
            ),
        )
        for (f_code, f_name), goals in sorted(fields.items(), key=lambda kv: code_key(kv[0][0]))
    )
    all_rows = [r for b in blocks for g in b.goals for r in g.rows]
    decisions = Counter(r.decision for r in all_rows)
    statuses = Counter(r.implementation_status or "–" for r in all_rows if r.decision != "open")
    return StatusQuo(
        header=header(session, scope),
        fields=blocks,
        decisions=tuple((d, decisions.get(d, 0)) for d in DECISIONS),
        statuses=tuple(sorted(statuses.items(), key=lambda kv: (-kv[1], kv[0]))),
        interviews_this_cycle=sum(1 for r in all_rows if r.interview_year == scope.cycle.year),
    )


def _latest_interviews(
    session: Session, scope: Scope, measure_ids: list[int]
) -> dict[int, tuple[Interview, int]]:
    found: dict[int, tuple[Interview, int]] = {}
    for interview, measure_id, year in session.execute(
        select(Interview, MeasureCycle.measure_id, Cycle.year)
        .join(MeasureCycle, MeasureCycle.id == Interview.measure_cycle_id)
        .join(Cycle, Cycle.id == MeasureCycle.cycle_id)
        .where(
            Cycle.organisation_id == scope.organisation.id,
            Cycle.year <= scope.cycle.year,
            MeasureCycle.measure_id.in_(measure_ids),
        )
        .order_by(Cycle.year, Interview.recorded_at, Interview.id)
    ).all():
        found[measure_id] = (interview, year)  # later ones overwrite earlier ones
    return found


# --- Jahresbericht ----------------------------------------------------------------------


@dataclass(frozen=True)
class Annual:
    header: Header
    rates: Rates
    previous: Rates | None
    changes: tuple[Change, ...]
    late: tuple[LateItem, ...]
    indicators: tuple[IndicatorSummary, ...]
    decisions: OpenDecisions
    # What the bodies decided and recommended at their meetings in the cycle's year.
    body_decisions: tuple[BodyDecisions, ...] = ()
    # Measures by latest status on the report date: (stand, n), "" last (ohne Angabe).
    stands: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class BodyDecisions:
    """One body's entries of the decisions register for the year, by meeting day."""

    body: str
    rows: tuple[DecisionRow, ...]


def body_decisions(session: Session, scope: Scope) -> tuple[BodyDecisions, ...]:
    rows = decisions_of_year(session, organisation_id=scope.organisation.id, year=scope.cycle.year)
    bodies: dict[str, list[DecisionRow]] = {}
    for row in rows:  # already by body name, meeting day, entry
        bodies.setdefault(row.body_name, []).append(row)
    return tuple(BodyDecisions(name, tuple(items)) for name, items in bodies.items())


def annual(session: Session, scope: Scope) -> Annual:
    now = rates.cycle_rates(session, scope.cycle)
    before_cycle = session.scalars(
        select(Cycle).where(
            Cycle.organisation_id == scope.organisation.id, Cycle.year == scope.cycle.year - 1
        )
    ).first()
    before = rates.cycle_rates(session, before_cycle) if before_cycle else None
    head = header(session, scope)
    return Annual(
        header=head,
        rates=now,
        previous=before,
        changes=rates.compare(now, before, unit=head.terms.unit) if before else (),
        late=tuple(pending.late_items(session, scope.cycle, scope.report_date)),
        indicators=tuple(
            indicator_summaries(
                session, organisation_id=scope.organisation.id, until=scope.report_date
            )
        ),
        decisions=pending.open_decisions(session, scope.organisation, scope.cycle),
        body_decisions=body_decisions(session, scope),
        stands=stand_counts(session, cycle=scope.cycle, day=scope.report_date),
    )


# --- Sitzungsunterlage der Steuerungsgruppe ---------------------------------------------


@dataclass(frozen=True)
class MeetingPack:
    header: Header
    meeting_title: str
    group: str
    scheduled: bool  # False: no meeting is entered for that day; the pack is for the day anyway
    escalated: tuple[DecisionItem, ...]
    missing: tuple[LateItem, ...]
    decisions: OpenDecisions
    review_drop_proposals: tuple[DecisionItem, ...]
    other_meetings: tuple[date, ...] = field(default=())
    # The cycle's escalation steps: (days after the deadline, whom it reaches), in order.
    escalation: tuple[tuple[int, str], ...] = field(default=())


def meeting_scope(
    session: Session, *, organisation_id: int, year: int, meeting_date: date | None
) -> Scope:
    """The meeting's day is the report date; without one, the first meeting entered on or
    after the cycle's last event, else the latest meeting entered."""
    base = scope_for(session, organisation_id=organisation_id, year=year)
    if meeting_date is not None:
        return Scope(base.organisation, base.cycle, meeting_date)
    days = _meeting_days(session, organisation_id)
    upcoming = [d for d in days if d >= base.report_date]
    if upcoming:
        return Scope(base.organisation, base.cycle, upcoming[0])
    if days:
        return Scope(base.organisation, base.cycle, days[-1])
    raise ReportUnavailable("report.no_meeting")


# The meeting pack is the Steuerungsgruppe's; other bodies' meetings are not its business.
STEERING = Body.kind == BodyKind.STEERING_GROUP.value


def _meeting_days(session: Session, organisation_id: int) -> list[date]:
    return list(
        session.scalars(
            select(Meeting.held_on)
            .join(Body, Body.id == Meeting.body_id)
            .where(Body.organisation_id == organisation_id, STEERING)
            .order_by(Meeting.held_on)
            .distinct()
        )
    )


def meeting_pack(session: Session, scope: Scope) -> MeetingPack:
    meeting = session.execute(
        select(Meeting.title, Body.name)
        .join(Body, Body.id == Meeting.body_id)
        .where(
            Body.organisation_id == scope.organisation.id,
            STEERING,
            Meeting.held_on == scope.report_date,
        )
        .order_by(Body.name)
    ).first()
    group_name = session.scalar(
        select(Body.name)
        .where(Body.organisation_id == scope.organisation.id, STEERING)
        .order_by(Body.name)
    )
    decisions = pending.open_decisions(session, scope.organisation, scope.cycle)
    return MeetingPack(
        header=header(session, scope),
        meeting_title=(meeting[0] if meeting else "") or "",
        group=(meeting[1] if meeting else group_name) or "Steuerungsgruppe",
        scheduled=meeting is not None,
        escalated=decisions.escalated,
        missing=tuple(
            item
            for item in pending.late_items(session, scope.cycle, scope.report_date)
            if item.state in pending.DEPARTMENT_OWES
        ),
        decisions=decisions,
        review_drop_proposals=pending.review_drop_proposals(
            session, scope.organisation, scope.cycle
        ),
        other_meetings=tuple(
            d for d in _meeting_days(session, scope.organisation.id) if d != scope.report_date
        ),
        escalation=tuple(
            (step.days_overdue, pending.ESCALATED_TO_DE.get(step.target.value, step.target.value))
            for step in DeadlinePolicy.model_validate(scope.cycle.policy).escalation_steps
        ),
    )
