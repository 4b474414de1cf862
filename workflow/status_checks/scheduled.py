"""The scheduled mid-term check: at the policy's months of Umsetzung, ask every contact once.

For every stay in Umsetzung and every month m of its cycle's ``status_check_months`` (not
beyond ``implementation_months``) whose day has come in the organisation's local time, and
that no item asked yet, one check per (cycle, m, local day) holds all of them, one part per
contact. A second sweep the same day finds the items (and the check's dedupe key); the
unique (measure_cycle_id, scheduled_month) of the items is the last guard. Never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from dateutil.relativedelta import relativedelta
from sqlalchemy import ColumnElement, literal_column, select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Measure, MeasureStatus, Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.deadlines import BusinessCalendar, DeadlinePolicy
from workflow.machine import State
from workflow.organisations.active import of_active_organisation
from workflow.status_checks.models import Origin, StatusCheckItem
from workflow.status_checks.service import create_check

SWEEP_ACTOR = "system:sweep"
# How long a contact has for a scheduled check, before rolling to a working day.
ANSWER_DAYS = 21


@dataclass
class Opened:
    checks: int = 0
    invitations: int = 0  # one per contact of each check


def open_scheduled_checks(session: Session, *, now: datetime) -> int:
    """Open the scheduled checks whose day has come; returns how many were opened."""
    return open_scheduled(session, now=now).checks


def open_scheduled(session: Session, *, now: datetime) -> Opened:
    """Like ``open_scheduled_checks``, with the invitations it queued."""
    rows = _candidates(session, now)
    opened = Opened()
    if not rows:
        return opened
    asked = _asked(session, [row.id for row in rows])
    calendars: dict[int, BusinessCalendar] = {}
    policies: dict[int, DeadlinePolicy] = {}
    # (organisation, cycle, month) -> the measures to ask, with their stays
    wanted: dict[tuple[int, int, int], list[tuple[Measure, MeasureCycle]]] = {}
    for mc_id, org_id, cycle_id, entered_at, measure_id, _code in rows:
        if org_id not in calendars:
            org = session.get(Organisation, org_id)
            assert org is not None
            calendars[org_id] = calendar_of(org)
        if cycle_id not in policies:
            cycle = session.get(Cycle, cycle_id)
            assert cycle is not None
            policies[cycle_id] = DeadlinePolicy.model_validate(cycle.policy)
        cal, policy = calendars[org_id], policies[cycle_id]
        for month in _months_due(entered_at, policy, cal, cal.local_date(now)):
            if (mc_id, month) not in asked:
                mc = session.get(MeasureCycle, mc_id)
                measure = session.get(Measure, measure_id)
                assert mc is not None and measure is not None
                wanted.setdefault((org_id, cycle_id, month), []).append((measure, mc))
    for (org_id, cycle_id, month), measures in sorted(wanted.items(), key=lambda kv: kv[0]):
        cal = calendars[org_id]
        today = cal.local_date(now)
        check = create_check(
            session,
            now=now,
            organisation_id=org_id,
            cycle_id=cycle_id,
            due_on=cal.roll_forward(today + timedelta(days=ANSWER_DAYS)),
            measures=measures,
            origin=Origin.SCHEDULED,
            dedupe_key=f"scheduled:{cycle_id}:{month}:{today.isoformat()}",
            actor=SWEEP_ACTOR,
            selection={"scheduled_month": month},
            scheduled_month=month,
        )
        if check is not None:
            opened.checks += 1
            opened.invitations += len({m.contact_id for m, _ in measures})
    return opened


# A stay's month m is due when its local start date plus m months has come (local today).
# Local and UTC dates differ by a day at most, and adding months clips to the month's last
# day (31 January + 1 month = 28 February): a week's margin makes the SQL's cut a superset,
# and ``_months_due`` decides exactly.
_MARGIN = timedelta(days=7)


_IN_UMSETZUNG: ColumnElement[str] = literal_column(f"'{State.IMPLEMENTATION.value}'")


class _Candidate(NamedTuple):
    id: int
    organisation_id: int
    cycle_id: int
    entered_state_at: datetime
    measure_id: int
    code: str


def _candidates(session: Session, now: datetime) -> list[_Candidate]:
    """The stays in Umsetzung that a month of their cycle's policy may ask now and that no
    scheduled check asked for that month yet, ordered by organisation and code. The anti-join
    runs in the database: a sweep no longer reads every stay in Umsetzung."""
    # Both statements are served by the partial index ix_measure_cycle_implementation; the
    # state is a literal, not a parameter, so that a prepared statement's generic plan can
    # still use it.
    cycles = session.execute(
        select(Cycle.id, Cycle.policy).where(
            # An archived organisation is asked nothing.
            of_active_organisation(Cycle.organisation_id),
            select(MeasureCycle.id)
            .where(
                MeasureCycle.cycle_id == Cycle.id,
                MeasureCycle.state == _IN_UMSETZUNG,
            )
            .exists(),
        )
    ).all()
    # One statement per month of any policy (and per 500 cycles where only some cycles have
    # that month), not one per cycle: a hosted installation has thousands of cycles.
    by_month: dict[int, list[int]] = {}
    for cycle_id, raw_policy in cycles:
        policy = DeadlinePolicy.model_validate(raw_policy)
        for month in set(policy.status_check_months):
            if month <= policy.implementation_months:
                by_month.setdefault(month, []).append(cycle_id)
    found: dict[int, _Candidate] = {}
    for month, cycle_ids in sorted(by_month.items()):
        asked = select(StatusCheckItem.id).where(
            StatusCheckItem.measure_cycle_id == MeasureCycle.id,
            StatusCheckItem.scheduled_month == month,
        )
        query = (
            select(
                MeasureCycle.id,
                MeasureCycle.organisation_id,
                MeasureCycle.cycle_id,
                MeasureCycle.entered_state_at,
                MeasureCycle.measure_id,
                Measure.code,
            )
            .join(Measure, Measure.id == MeasureCycle.measure_id)
            .where(
                MeasureCycle.state == _IN_UMSETZUNG,
                MeasureCycle.entered_state_at <= now - relativedelta(months=month) + _MARGIN,
                Measure.contact_id.is_not(None),
                Measure.status == MeasureStatus.ACTIVE.value,
                ~asked.exists(),
            )
        )
        chunks = (
            [query]
            if len(cycle_ids) == len(cycles)
            else [
                query.where(MeasureCycle.cycle_id.in_(cycle_ids[i : i + 500]))
                for i in range(0, len(cycle_ids), 500)
            ]
        )
        for chunk in chunks:
            for row in session.execute(chunk):
                found.setdefault(row.id, _Candidate(*row))
    return sorted(found.values(), key=lambda r: (r.organisation_id, r.code))


def _months_due(
    entered_at: datetime, policy: DeadlinePolicy, cal: BusinessCalendar, today: date
) -> list[int]:
    """The policy's months whose day (counted from entering Umsetzung) has come."""
    started = cal.local_date(entered_at)
    return [
        m
        for m in policy.status_check_months
        if m <= policy.implementation_months and started + relativedelta(months=m) <= today
    ]


def _asked(session: Session, mc_ids: list[int]) -> set[tuple[int, int]]:
    """(stay, month) pairs a scheduled check asked already."""
    found: set[tuple[int, int]] = set()
    for start in range(0, len(mc_ids), 500):
        chunk = mc_ids[start : start + 500]
        for mc_id, month in session.execute(
            select(StatusCheckItem.measure_cycle_id, StatusCheckItem.scheduled_month).where(
                StatusCheckItem.measure_cycle_id.in_(chunk),
                StatusCheckItem.scheduled_month.is_not(None),
            )
        ):
            if mc_id is not None and month is not None:
                found.add((mc_id, month))
    return found
