"""Digests of every body, for its scope and cadence, per member and in the member's language.

A digest tells one member what is new since that member's last digest: escalations in the
body's scope (each escalation level once), items resolved since, decisions of the body due
soon; before a meeting also its date and agenda. Without anything new a regular period is
skipped (and counted), whereas a meeting always gets its digest. The ``digest_item`` outbox
rows stay facts shared by all bodies; what each membership was told is kept on
``body_member``. Queues digest emails; never sends them.

A member of a district's body who speaks for a town (``represents_organisation_id``) is told
that town's escalated items too, under the town's name; their keys carry the town
(``town_key``), so "new" and "resolved" work for them exactly as for the body's own items.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from notifications.digest_content import (
    Change,
    as_of_label,
    compare,
    content,
    language_of,
    split,
    town_content,
)
from notifications.digest_items import (
    OpenItem,
    Resolution,
    open_items,
    pending_rows_closed,
    resolution,
    town_items,
    town_of_key,
)
from notifications.digest_periods import Period, meeting_periods, policy_of, regular_period
from notifications.digest_views import DigestViews
from notifications.models import OutboxMessage, OutboxStatus
from notifications.outbox import Draft, enqueue
from workflow.bodies.models import Body, BodyMember, BodyScope
from workflow.bodies.queries import is_current_clause
from workflow.catalogue.models import Organisation
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar, DeadlinePolicy
from workflow.organisations.active import of_active_organisation

CLOSED = "closed"  # a digest item that ended before any digest reported it


@dataclass
class DigestReport:
    """What one run did: digest emails queued, and member periods skipped for want of news."""

    sent: int = 0
    skipped: int = 0


@dataclass
class _Town:
    """A town some due member speaks for, and its open items (keys with ``town_key``)."""

    org: Organisation
    items: dict[str, OpenItem]


@dataclass
class _Plan:
    """What is due for one body now: each due member with its meeting (if any) and news."""

    body: Body
    org: Organisation
    cal: BusinessCalendar
    regular: Period | None
    due: list[tuple[BodyMember, Period | None, Change]]
    open_now: dict[str, OpenItem]
    towns: dict[int, _Town]


def build_digests(*, sessions: sessionmaker[Session], clock: Clock) -> DigestReport:
    """Queue every digest due at ``clock.now()``; one transaction per body. Idempotent."""
    report = DigestReport()
    now = clock.now()
    policies: dict[int, DeadlinePolicy] = {}
    # A read-only look first: most sweeps find nothing due, and a write transaction per body
    # and sweep would cost more than the digests themselves.
    with sessions() as session:
        bodies = session.scalars(
            select(Body).where(of_active_organisation(Body.organisation_id)).order_by(Body.id)
        ).all()
        due = [b.id for b in bodies if _plan(session, b, now, policies, lock=False)]
        ended = {
            org_id: ids
            for org_id in sorted({b.organisation_id for b in bodies})
            if (ids := pending_rows_closed(session, organisation_id=org_id))
        }
    for body_id in due:
        with unit_of_work(sessions) as session:
            body = session.get(Body, body_id)
            plan = _plan(session, body, now, {}, lock=True) if body else None
            if plan is not None:
                _carry_out(session, plan, now, report)
    for ids in ended.values():
        with unit_of_work(sessions) as session:
            _mark(session, ids, OutboxStatus.PENDING.value, CLOSED)
    return report


def _plan(
    session: Session,
    body: Body,
    now: datetime,
    policies: dict[int, DeadlinePolicy],
    *,
    lock: bool,
) -> _Plan | None:
    org = session.get(Organisation, body.organisation_id)
    assert org is not None
    cal = calendar_of(org)
    if org.id not in policies:
        policies[org.id] = policy_of(session, org.id)
    policy = policies[org.id]
    regular = regular_period(body.digest_cadence, policy, cal, now)
    meetings = meeting_periods(session, body, policy, cal, now)
    if regular is None and not meetings:
        return None
    today = cal.local_date(now)
    stmt = (
        select(BodyMember)
        .where(BodyMember.body_id == body.id, *is_current_clause(today))
        .order_by(BodyMember.id)
    )
    if lock:
        # Two runs at once decide each member's period only once (PostgreSQL; SQLite
        # serialises the writers anyway).
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    members = session.scalars(stmt).all()
    keys = [_key(body, p, m) for p in meetings for m in members]
    queued = (
        set(
            session.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))
            )
        )
        if keys
        else set()
    )
    candidates = [
        (m, next((p for p in meetings if _key(body, p, m) not in queued), None)) for m in members
    ]
    candidates = [(m, p) for m, p in candidates if p is not None or _regular_due(regular, m)]
    if not candidates:
        return None
    open_now = open_items(session, body=body, policy=policy, today=today)
    towns = _towns(session, body, org, [m for m, _ in candidates], now, policies)
    resolve = _cached(lambda key: resolution(session, key))
    due = [
        (
            m,
            p,
            compare(
                _seen_by(m, open_now, towns), m.digest_reported or {}, _told(m, towns, resolve)
            ),
        )
        for m, p in candidates
    ]
    if regular is not None and regular.only_when_new:
        due = [(m, p, change) for m, p, change in due if p is not None or change.has_news]
    return _Plan(body, org, cal, regular, due, open_now, towns) if due else None


def _towns(
    session: Session,
    body: Body,
    district: Organisation,
    members: list[BodyMember],
    now: datetime,
    policies: dict[int, DeadlinePolicy],
) -> dict[int, _Town]:
    """The towns of ``body``'s district that ``members`` speak for, with their open items.

    Whether a town shares its data with the district (``shares_with_district``) is not asked
    here on purpose: the member speaks for that town, so the town's own items reach them even
    when the district as a whole sees only counts. A town since moved to another district or
    archived reaches nobody.
    """
    wanted = sorted({m.represents_organisation_id for m in members if m.represents_organisation_id})
    out: dict[int, _Town] = {}
    for town_id in wanted:
        town = session.get(Organisation, town_id)
        if town is None or town.parent_id != district.id or town.archived_at is not None:
            continue
        if town.id not in policies:
            policies[town.id] = policy_of(session, town.id)
        items = town_items(
            session,
            town_id=town.id,
            policy=policies[town.id],
            year=calendar_of(town).local_date(now).year,
            measures=body.scope != BodyScope.INDICATORS.value,
        )
        out[town.id] = _Town(town, items)
    return out


def _seen_by(
    member: BodyMember, open_now: dict[str, OpenItem], towns: dict[int, _Town]
) -> dict[str, OpenItem]:
    """What ``member`` is told of: the body's items and those of the town they speak for."""
    town = towns.get(member.represents_organisation_id or 0)
    return {**open_now, **town.items} if town else open_now


def _told(
    member: BodyMember,
    towns: dict[int, _Town],
    resolve: Callable[[str], Resolution | None],
) -> Callable[[str], Resolution | None]:
    """``resolve`` for one member: a town they no longer speak for is not theirs to report
    as resolved; its items leave their digest silently, like items that left the scope."""
    own = member.represents_organisation_id if member.represents_organisation_id in towns else None

    def lookup(key: str) -> Resolution | None:
        town, _ = town_of_key(key)
        if town is not None and town != own:
            return None
        return resolve(key)

    return lookup


def _carry_out(session: Session, plan: _Plan, now: datetime, report: DigestReport) -> None:
    views = DigestViews(session, plan.org, now)
    town_views = {t: DigestViews(session, town.org, now) for t, town in plan.towns.items()}
    regular = plan.regular
    reported_rows: set[int] = set()
    for member, meeting, change in plan.due:
        if meeting is None and not change.has_news:
            assert regular is not None
            member.digest_period = regular.key
            report.skipped += 1
            continue
        period = meeting or regular
        assert period is not None
        lang = language_of(member.language)
        label = regular.label(lang) if regular else as_of_label(lang, plan.cal.local_date(now))
        own, by_town = split(change)
        digest = content(
            body_name=plan.body.name,
            period=period,
            label=label,
            change=own,
            views=views,
            lang=lang,
            towns=[
                town_content(
                    name=plan.towns[t].org.name,
                    path=f"/kreis/{plan.towns[t].org.slug}",
                    change=part,
                    views=town_views[t],
                    lang=lang,
                )
                for t, part in sorted(by_town.items())
                if t in plan.towns
            ],
        )
        report.sent += enqueue(
            session,
            [
                Draft(
                    organisation_id=plan.body.organisation_id,
                    dedupe_key=_key(plan.body, period, member),
                    kind="digest",
                    recipient_email=member.email,
                    recipient_name=member.name,
                    language=lang,
                    context={
                        "digest": digest,
                        "body_id": plan.body.id,
                        "member_id": member.id,
                        "period": period.key,
                        "new": sorted(i.key for i in change.new),
                        "resolved": sorted(r.key for r in change.resolved),
                    },
                )
            ],
            now=now,
        )
        seen = _seen_by(member, plan.open_now, plan.towns)
        member.digest_reported = {key: item.level for key, item in seen.items()}
        member.last_digest_at = now
        if regular is not None:
            member.digest_period = regular.key  # a meeting's digest stands for the period's
        reported_rows.update(r for item in seen.values() for r in item.row_ids)
    # For the outbox's record only: whether a digest item reached anyone decides nothing.
    _mark(session, sorted(reported_rows), OutboxStatus.PENDING.value, OutboxStatus.INCLUDED.value)


def _mark(session: Session, ids: list[int], old: str, new: str) -> None:
    if ids:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == old)
            .values(status=new)
            .execution_options(synchronize_session=False)
        )


def _cached(
    resolve: Callable[[str], Resolution | None],
) -> Callable[[str], Resolution | None]:
    ends: dict[str, Resolution | None] = {}

    def lookup(key: str) -> Resolution | None:
        if key not in ends:
            ends[key] = resolve(key)
        return ends[key]

    return lookup


def _regular_due(regular: Period | None, member: BodyMember) -> bool:
    return regular is not None and member.digest_period != regular.key


def _key(body: Body, period: Period, member: BodyMember) -> str:
    return f"digest:{body.id}:{period.key}:{member.email}"
