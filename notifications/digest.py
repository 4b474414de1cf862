"""Digests of the bodies of kind Steuerungsgruppe: once a week, and once before each meeting.

An escalated item enters the digest once per escalation level (its outbox row is unique by
dedupe key); later digests list it as still open until it moves on, and the first digest
after it moved on reports it as resolved, once. Queues digest emails; never sends them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from notifications.models import Channel, OutboxMessage, OutboxStatus
from notifications.outbox import Draft, enqueue
from notifications.render import format_date, items_for
from workflow.bodies.models import Body, BodyKind, Meeting
from workflow.bodies.queries import current_members
from workflow.catalogue.models import Organisation
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import Cycle
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar, DeadlinePolicy
from workflow.machine import LABELS_DE, State

MEETING_LEAD_DAYS = 3
CLOSED = "closed"  # a digest item reported as resolved
MISSING = {
    State.TARGET_AGREEMENT.value: "Zielvereinbarung fehlt",
    State.REVIEW.value: "Review fehlt",
}


def build_digests(*, sessions: sessionmaker[Session], clock: Clock) -> int:
    """Queue every digest whose period has begun and that was not queued yet; returns emails queued."""
    queued = 0
    now = clock.now()
    with unit_of_work(sessions) as session:
        # Other kinds of body get their own digests with their cadence (issue 11, item 6).
        steering = select(Body).where(Body.kind == BodyKind.STEERING_GROUP.value).order_by(Body.id)
        for group in session.scalars(steering).all():
            org = session.get(Organisation, group.organisation_id)
            assert org is not None
            cal = calendar_of(org)
            for key, label, meeting_label in _periods(session, group, org, cal, now):
                if _already_queued(session, group, key):
                    continue
                queued += _queue_digest(session, group, org, now, key, label, meeting_label)
    return queued


def _policy(session: Session, org_id: int) -> DeadlinePolicy:
    cycle = session.scalars(
        select(Cycle).where(Cycle.organisation_id == org_id).order_by(Cycle.year.desc())
    ).first()
    return DeadlinePolicy.model_validate(cycle.policy) if cycle else DeadlinePolicy()


def _periods(
    session: Session, group: Body, org: Organisation, cal: BusinessCalendar, now: datetime
) -> Iterable[tuple[str, str, str | None]]:
    policy = _policy(session, org.id)
    today = cal.local_date(now)
    digest_day = today - timedelta(days=today.weekday() - policy.digest_weekday)
    if digest_day > today:
        digest_day -= timedelta(days=7)
    if now >= cal.at_local(digest_day, policy.send_hour):
        year, week, _ = digest_day.isocalendar()
        yield f"{year}-W{week:02d}", f"KW {week}/{year}", None
    meetings = session.scalars(
        select(Meeting).where(
            Meeting.body_id == group.id,
            Meeting.held_on >= today,
            Meeting.held_on <= today + timedelta(days=MEETING_LEAD_DAYS),
        )
    ).all()
    for meeting in meetings:
        when = format_date(meeting.held_on, "de")
        yield f"meeting-{meeting.id}", f"Sitzung am {when}", f"vor der Sitzung am {when}"


def _already_queued(session: Session, group: Body, key: str) -> bool:
    prefix = f"digest:{group.id}:{key}:"
    return (
        session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key.startswith(prefix)).limit(1)
        ).first()
        is not None
    )


def _queue_digest(
    session: Session,
    group: Body,
    org: Organisation,
    now: datetime,
    key: str,
    label: str,
    meeting_label: str | None,
) -> int:
    cal = calendar_of(org)
    members = current_members(session, body_id=group.id, day=cal.local_date(now))
    if not members:
        return 0
    rows = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.organisation_id == org.id,
            OutboxMessage.channel == Channel.DIGEST.value,
            OutboxMessage.status.in_([OutboxStatus.PENDING.value, OutboxStatus.INCLUDED.value]),
        )
        .order_by(OutboxMessage.id)
    ).all()
    views = {
        i["measure_cycle_id"]: i
        for i in items_for(
            session, [r.measure_cycle_id for r in rows if r.measure_cycle_id], org, "de", now
        )
    }
    new, still_open, resolved = [], [], []
    seen: set[int] = set()
    for row in sorted(rows, key=lambda r: -int(r.context.get("level", 0))):
        view = views.get(row.measure_cycle_id or 0)
        open_now = view is not None and view["stay"] == row.context.get("stay")
        if row.status == OutboxStatus.PENDING.value:
            row.status = OutboxStatus.INCLUDED.value if open_now else CLOSED
            if open_now and row.measure_cycle_id not in seen:
                new.append(_digest_item(session, view, row, cal))
        elif not open_now:
            row.status = CLOSED
            if view is not None and row.measure_cycle_id not in seen:
                resolved.append({**view, "resolution": f"jetzt: {view['state_label']}"})
        elif row.measure_cycle_id not in seen:
            still_open.append(_digest_item(session, view, row, cal))
        seen.add(row.measure_cycle_id or 0)
    if not (new or still_open or resolved):
        return 0
    order = lambda i: (i["department"], i["field_code"], -i["days_overdue"], i["code"])  # noqa: E731
    digest: dict[str, Any] = {
        "period_label": label,
        "meeting_label": meeting_label,
        "new_items": sorted(new, key=order),
        "still_open": sorted(still_open, key=order),
        "resolved_items": sorted(resolved, key=order),
        "totals": {"new": len(new), "still_open": len(still_open), "resolved": len(resolved)},
    }
    return enqueue(
        session,
        [
            Draft(
                organisation_id=org.id,
                dedupe_key=f"digest:{group.id}:{key}:{m.email}",
                kind="digest",
                recipient_email=m.email,
                recipient_name=m.name,
                context={"digest": digest, "body_id": group.id, "period": key},
            )
            for m in members
        ],
        now=now,
    )


def _digest_item(
    session: Session, view: dict[str, Any] | None, row: OutboxMessage, cal: BusinessCalendar
) -> dict[str, Any]:
    assert view is not None
    reminders = session.scalars(
        select(OutboxMessage.sent_at)
        .where(
            OutboxMessage.measure_cycle_id == row.measure_cycle_id,
            OutboxMessage.kind.in_(["reminder", "final_reminder"]),
            OutboxMessage.status == OutboxStatus.SENT.value,
        )
        .order_by(OutboxMessage.sent_at)
    ).all()
    last: date | None = cal.local_date(reminders[-1]) if reminders and reminders[-1] else None
    history = f"{len(reminders)} Erinnerung{'en' if len(reminders) != 1 else ''}"
    if last:
        history += f", zuletzt am {format_date(last, 'de')}"
    missing = MISSING.get(view["state"])
    if missing:
        history += f"; {missing}"
    level = int(row.context.get("level", 0))
    return {
        **view,
        "level_label": f"Eskalationsstufe {level}",
        "history": history,
        "state_label": LABELS_DE[State(view["state"])],
    }
