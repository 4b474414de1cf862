"""Opening a year's cycle and the coordinator's recorded steps; callers own the transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Measure, MeasureStatus, Organisation
from workflow.clock import Clock
from workflow.cycles import carry
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import Cycle, Interview, MeasureCycle
from workflow.deadlines import DeadlinePolicy
from workflow.forms.validation import DateWindow
from workflow.machine import Event, State
from workflow.transitions import apply_event

# A measure still in one of these in last year's cycle has not finished it yet.
_STILL_RUNNING = {
    State.INITIAL_INTERVIEW,
    State.TARGET_AGREEMENT,
    State.IMPLEMENTATION,
    State.REVIEW,
    State.ASSESSMENT,
}


# A new cycle's year is this year, the last or the next one, unless the caller confirmed it:
# the newest cycle is everyone's default, so a mistyped 2100 would take over every page.
YEARS_AROUND_TODAY = 1


class CycleYearRefused(Exception):
    """Opening a new cycle for ``year`` needs confirmation: it lies outside ``allowed``."""

    code = "cycle_year_out_of_range"

    def __init__(self, *, year: int, allowed: tuple[int, ...]) -> None:
        super().__init__(f"year {year} outside {allowed[0]}..{allowed[-1]} and not confirmed")
        self.year = year
        self.allowed = allowed


def check_new_cycle_year(
    *, session: Session, clock: Clock, organisation_id: int, year: int, confirmed: bool
) -> None:
    """Refuse a new cycle far from today's year unless ``confirmed``; an existing one may reopen."""
    if confirmed:
        return
    exists = session.scalar(
        select(Cycle.id).where(Cycle.organisation_id == organisation_id, Cycle.year == year)
    )
    org = session.get(Organisation, organisation_id)
    if exists is not None or org is None:
        return  # reopening adds only what is missing; open_cycle refuses a missing organisation
    this_year = calendar_of(org).local_date(clock.now()).year
    allowed = tuple(range(this_year - YEARS_AROUND_TODAY, this_year + YEARS_AROUND_TODAY + 1))
    if year not in allowed:
        raise CycleYearRefused(year=year, allowed=allowed)


@dataclass
class OpenCycleResult:
    cycle_id: int
    created: int = 0
    carried_forward: int = 0
    still_running: int = 0
    already_open: int = 0
    # Cycle year -> codes of the measures still running there (shown in this cycle as carried).
    running_in: dict[int, list[str]] = field(default_factory=dict)


def open_cycle(
    *,
    session: Session,
    clock: Clock,
    organisation_id: int,
    year: int,
    policy: DeadlinePolicy | None = None,
    actor: str = "system",
) -> OpenCycleResult:
    """Give every active measure a place in ``year``'s cycle; opening again adds only what is missing."""
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise ValueError(f"Organisation {organisation_id} nicht gefunden")
    now = clock.now()
    cal = calendar_of(org)
    cycle = session.scalars(
        select(Cycle).where(Cycle.organisation_id == org.id, Cycle.year == year)
    ).first()
    if cycle is None:
        cycle = Cycle(
            organisation_id=org.id,
            year=year,
            starts_on=max(date(year, 1, 1), cal.local_date(now)),
            ends_on=date(year, 12, 31),
            opened_at=now,
            policy=(policy or DeadlinePolicy()).model_dump(mode="json"),
        )
        session.add(cycle)
        session.flush()
    cycle_policy = DeadlinePolicy.model_validate(cycle.policy)
    result = OpenCycleResult(cycle_id=cycle.id)

    measures = session.scalars(
        select(Measure)
        .where(Measure.organisation_id == org.id, Measure.status == MeasureStatus.ACTIVE.value)
        .order_by(Measure.code)
    ).all()
    present = set(
        session.scalars(select(MeasureCycle.measure_id).where(MeasureCycle.cycle_id == cycle.id))
    )
    previous_by_measure = _latest_earlier_stays(session, org.id, year)
    for measure in measures:
        if measure.id in present:
            result.already_open += 1
            continue
        previous = previous_by_measure.get(measure.id)
        if previous is not None and State(previous.state) in _STILL_RUNNING:
            # It stays where it is and shows in this cycle's views as carried: named, not
            # skipped silently.
            result.still_running += 1
            result.running_in.setdefault(previous.cycle.year, []).append(measure.code)
            continue
        if previous is not None and State(previous.state) is State.REPLANNING:
            result.carried_forward += 1
        carry.place(
            session,
            clock=clock,
            cycle=cycle,
            measure=measure,
            previous=previous,
            policy=cycle_policy,
            cal=cal,
            actor=actor,
        )
        result.created += 1
    return result


def _latest_earlier_stays(session: Session, org_id: int, year: int) -> dict[int, MeasureCycle]:
    rows = session.scalars(
        select(MeasureCycle)
        .join(Cycle, Cycle.id == MeasureCycle.cycle_id)
        .where(Cycle.organisation_id == org_id, Cycle.year < year)
        .order_by(Cycle.year)
    ).all()
    return {mc.measure_id: mc for mc in rows}  # later years overwrite earlier ones


# The Erstgespräch's vocabulary of the implementation status (``interview.status`` labels it).
IMPLEMENTATION_STATUSES = ("not_started", "in_progress", "implemented", "ongoing", "unclear")


class InterviewRefused(ValueError):
    """What was recorded breaks a rule of the Erstgespräch; the edge picks the sentence.

    ``code``: ``status_invalid`` (params ``value``, ``allowed``) or ``held_on_outside``
    (params ``earliest``, ``latest`` as TT.MM.JJJJ).
    """

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def interview_window(cycle_year: int) -> DateWindow:
    """The days an Erstgespräch may be held on: the milestones' window, opened a year earlier,
    since the interviews prepare the cycle they serve."""
    return DateWindow(date(cycle_year - 1, 1, 1), date(cycle_year + 1, 12, 31))


def check_interview(*, cycle_year: int, held_on: date | None, implementation_status: str) -> None:
    """Raises InterviewRefused for a status outside the vocabulary or a date outside the window."""
    if implementation_status and implementation_status not in IMPLEMENTATION_STATUSES:
        raise InterviewRefused(
            "status_invalid", value=implementation_status, allowed=list(IMPLEMENTATION_STATUSES)
        )
    if held_on is not None:
        outside = interview_window(cycle_year).error("held_on", held_on)
        if outside is not None:
            raise InterviewRefused("held_on_outside", **outside.values)


def record_interview(
    *,
    session: Session,
    clock: Clock,
    measure_cycle_id: int,
    expected_version: int | None,
    actor: str,
    decision: str,
    held_on: date | None = None,
    participants: str = "",
    notes: str = "",
    implementation_status: str = "",
) -> MeasureCycle:
    """Record the Erstgespräch for one measure: keep or adapt moves on, drop leaves the catalogue.

    Raises InterviewRefused before anything moves (see ``check_interview``)."""
    stay_row = session.get(MeasureCycle, measure_cycle_id)
    if stay_row is not None:  # a missing one is apply_event's NotFound
        check_interview(
            cycle_year=stay_row.cycle.year,
            held_on=held_on,
            implementation_status=implementation_status,
        )
    payload = {
        "decision": decision,
        "implementation_status": implementation_status,
        "held_on": held_on.isoformat() if held_on else None,
    }
    if decision == "drop":
        payload["reason"] = notes or "Im Erstgespräch gestrichen"
        mc = apply_event(
            session=session,
            clock=clock,
            measure_cycle_id=measure_cycle_id,
            event=Event.DROP,
            expected_version=expected_version,
            actor=actor,
            payload=payload,
        )
    else:
        mc = apply_event(
            session=session,
            clock=clock,
            measure_cycle_id=measure_cycle_id,
            event=Event.RECORD_INTERVIEW,
            expected_version=expected_version,
            actor=actor,
            payload=payload,
        )
    session.add(
        Interview(
            measure_cycle_id=mc.id,
            held_on=held_on,
            participants=participants,
            notes=notes,
            decision=decision,
            implementation_status=implementation_status,
            recorded_at=clock.now(),
            recorded_by=actor,
        )
    )
    mc.measure.interviewed_at = clock.now()
    return mc
