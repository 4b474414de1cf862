"""Opening and closing a status check: its parts per contact, their items, schedules and invitations.

A check asks each contact once (one ``StatusCheckRequest``) about all of their selected
measures (one ``StatusCheckItem`` each, with the measure's newest stay); each part gets its
reminder ladder and one invitation in the outbox, and each stay's timeline an audit event.
It never moves a measure, never commits and never sends: the caller owns the transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from notifications.outbox import enqueue
from workflow.catalogue.models import Measure
from workflow.clock import Clock
from workflow.cycles.models import AuditEvent, Cycle, MeasureCycle
from workflow.status_checks import mail
from workflow.status_checks.errors import StatusCheckRefused
from workflow.status_checks.models import (
    Origin,
    StatusCheck,
    StatusCheckItem,
    StatusCheckRequest,
)
from workflow.status_checks.schedule import rules_of, schedule_new
from workflow.status_checks.selection import Selection, candidates

# A check is a question for the coming months, not for next year's review.
MAX_DAYS_AHEAD = 365


def is_closed(check: StatusCheck) -> bool:
    return check.closed_at is not None


def open_status_check(
    session: Session,
    *,
    clock: Clock,
    organisation_id: int,
    selection: Selection,
    due_on: date,
    actor: str,
    body_id: int | None = None,
    title: str = "",
    cycle_year: int | None = None,
) -> StatusCheck:
    """Open a check of the selected measures, due on ``due_on`` (moved to a working day).

    Measures without a contact cannot be asked; they are left out and counted in the
    check's ``selection["skipped_without_contact"]``."""
    now = clock.now()
    cal, _ = rules_of(session, organisation_id)
    today = cal.local_date(now)
    if due_on < today:
        raise StatusCheckRefused("due_in_past", value=due_on.isoformat())
    if due_on > today + timedelta(days=MAX_DAYS_AHEAD):
        latest = today + timedelta(days=MAX_DAYS_AHEAD)
        raise StatusCheckRefused("due_too_far", value=due_on.isoformat(), max=latest.isoformat())
    cycle = _cycle(session, organisation_id, cycle_year)
    found = candidates(session, organisation_id=organisation_id, selection=selection)
    asked = [m for m in found if m.contact_id is not None]
    if not asked:
        raise StatusCheckRefused("no_measures")
    newest = newest_stays(session, [m.id for m in asked])
    check = create_check(
        session,
        now=now,
        organisation_id=organisation_id,
        cycle_id=cycle.id,
        due_on=cal.roll_forward(due_on),
        measures=[(m, newest.get(m.id)) for m in asked],
        origin=Origin.MANUAL,
        dedupe_key=f"manual:{secrets.token_hex(12)}",
        actor=actor,
        selection=selection.as_json() | {"skipped_without_contact": len(found) - len(asked)},
        body_id=body_id,
        title=title,
    )
    assert check is not None, "a random key does not collide"
    return check


def _cycle(session: Session, organisation_id: int, year: int | None) -> Cycle:
    query = select(Cycle).where(Cycle.organisation_id == organisation_id)
    if year is not None:
        query = query.where(Cycle.year == year)
    cycle = session.scalars(query.order_by(Cycle.year.desc()).limit(1)).first()
    if cycle is None:
        raise StatusCheckRefused("no_cycle", value=year)
    return cycle


def newest_stays(session: Session, measure_ids: Sequence[int]) -> dict[int, MeasureCycle]:
    """Each measure's stay in its newest cycle (measures without one are missing)."""
    out: dict[int, MeasureCycle] = {}
    if not measure_ids:
        return out
    rows = session.scalars(
        select(MeasureCycle)
        .join(Cycle, Cycle.id == MeasureCycle.cycle_id)
        .where(MeasureCycle.measure_id.in_(set(measure_ids)))
        .order_by(Cycle.year.desc(), MeasureCycle.id.desc())
    )
    for mc in rows:
        out.setdefault(mc.measure_id, mc)
    return out


def create_check(
    session: Session,
    *,
    now: datetime,
    organisation_id: int,
    cycle_id: int,
    due_on: date,
    measures: Sequence[tuple[Measure, MeasureCycle | None]],
    origin: Origin,
    dedupe_key: str,
    actor: str,
    selection: dict[str, Any],
    body_id: int | None = None,
    title: str = "",
    scheduled_month: int | None = None,
) -> StatusCheck | None:
    """Insert the check with its parts and items, schedule each part and queue its
    invitation. None (and nothing written) when the organisation has ``dedupe_key`` already:
    a second sweep, or a concurrent one, opens nothing twice."""
    check_id = _insert_check(
        session,
        organisation_id=organisation_id,
        cycle_id=cycle_id,
        origin=origin.value,
        dedupe_key=dedupe_key,
        title=title,
        selection=selection,
        body_id=body_id,
        due_on=due_on,
        created_at=now,
        created_by=actor,
        closed_by="",
    )
    if check_id is None:
        return None
    check = session.get(StatusCheck, check_id)
    assert check is not None
    cal, policy = rules_of(session, organisation_id, cycle_id)
    by_contact: dict[int, list[tuple[Measure, MeasureCycle | None]]] = {}
    for measure, mc in measures:
        if measure.contact_id is not None:
            by_contact.setdefault(measure.contact_id, []).append((measure, mc))
    requests = []
    for contact_id, asked in sorted(by_contact.items()):
        request = StatusCheckRequest(
            organisation_id=organisation_id,
            status_check_id=check.id,
            contact_id=contact_id,
            opened_at=now,
            due_on=due_on,
            action_step=0,
            escalation_level=0,
            stay=1,
            answered_by="",
            draft={},
            draft_updated_by="",
        )
        schedule_new(request, now=now, policy=policy, cal=cal)
        session.add(request)
        session.flush()
        for measure, mc in sorted(asked, key=lambda pair: pair[0].code):
            session.add(
                StatusCheckItem(
                    organisation_id=organisation_id,
                    status_check_id=check.id,
                    request_id=request.id,
                    measure_id=measure.id,
                    measure_cycle_id=mc.id if mc is not None else None,
                    scheduled_month=scheduled_month,
                )
            )
            if mc is not None:
                session.add(_requested(check, mc, now=now, actor=actor))
        requests.append(request)
    session.flush()
    enqueue(session, [mail.invitation(r) for r in requests], now=now)
    return check


def _insert_check(session: Session, **values: Any) -> int | None:
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(StatusCheck).on_conflict_do_nothing(
            index_elements=["organisation_id", "dedupe_key"]
        )
    elif dialect == "sqlite":
        stmt = sqlite.insert(StatusCheck).on_conflict_do_nothing(
            index_elements=["organisation_id", "dedupe_key"]
        )
    else:  # pragma: no cover - only the two supported databases
        stmt = insert(StatusCheck)
    return session.execute(stmt.values(**values).returning(StatusCheck.id)).scalar()


def _requested(check: StatusCheck, mc: MeasureCycle, *, now: datetime, actor: str) -> AuditEvent:
    """The line on the measure's timeline; the check does not move the measure."""
    return AuditEvent(
        organisation_id=check.organisation_id,
        measure_cycle_id=mc.id,
        at=now,
        actor=actor,
        event="status_check_requested",
        from_state=None,
        to_state=None,
        payload={"status_check_id": check.id, "due_on": check.due_on.isoformat()},
    )


def close_status_check(
    session: Session, *, clock: Clock, organisation_id: int, status_check_id: int, actor: str
) -> StatusCheck:
    """No more answers or corrections; every part leaves the reminder schedule."""
    check = session.scalars(
        select(StatusCheck)
        .where(StatusCheck.id == status_check_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if check is None or check.organisation_id != organisation_id:
        raise StatusCheckRefused("not_found", value=status_check_id)
    if is_closed(check):
        raise StatusCheckRefused("closed")
    check.closed_at = clock.now()
    check.closed_by = actor
    session.execute(
        update(StatusCheckRequest)
        .where(StatusCheckRequest.status_check_id == check.id)
        .values(next_action_at=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return check
