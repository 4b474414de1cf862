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

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Measure, MeasureStatus, Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.deadlines import BusinessCalendar, DeadlinePolicy
from workflow.machine import State
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
    # Plain columns: every sweep reads every stay in Umsetzung; few of them are due.
    rows = session.execute(
        select(
            MeasureCycle.id,
            MeasureCycle.organisation_id,
            MeasureCycle.cycle_id,
            MeasureCycle.entered_state_at,
            MeasureCycle.measure_id,
        )
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .where(
            MeasureCycle.state == State.IMPLEMENTATION.value,
            Measure.contact_id.is_not(None),
            Measure.status == MeasureStatus.ACTIVE.value,
        )
        .order_by(MeasureCycle.organisation_id, Measure.code)
    ).all()
    opened = Opened()
    if not rows:
        return opened
    asked = _asked(session, [row.id for row in rows])
    calendars: dict[int, BusinessCalendar] = {}
    policies: dict[int, DeadlinePolicy] = {}
    # (organisation, cycle, month) -> the measures to ask, with their stays
    wanted: dict[tuple[int, int, int], list[tuple[Measure, MeasureCycle]]] = {}
    for mc_id, org_id, cycle_id, entered_at, measure_id in rows:
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
