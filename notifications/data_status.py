"""The "Datenstand" email: what the Monitoringgruppe should look at in the indicators' data.

Each current member of a body of kind Monitoringgruppe gets it once per period of the body's
cadence (weekly, monthly, or daily for "on change"; weekly for "before meetings only");
an organisation without such a body sends it weekly to its coordinators instead. It lists
data requests missing (open past due, or due within the period), values flagged as outliers
and values not yet checked (``workflow.indicators.checks.data_status``); with nothing in
any list nothing is sent. The outbox's unique dedupe key per body or organisation, period
and recipient keeps it from going out twice. What it lists is fixed when it is queued; the
renderer only formats it in the recipient's language. Queues; never sends.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from notifications.data_status_mail import KIND
from notifications.digest_periods import Period, policy_of, regular_period
from notifications.models import OutboxMessage
from notifications.outbox import Draft, enqueue
from workflow.bodies.models import Body, BodyKind, BodyMember, DigestCadence
from workflow.bodies.queries import is_current_clause
from workflow.catalogue.models import Organisation
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.cycles.carry import coordinators
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar, DeadlinePolicy
from workflow.indicators.checks import DataStatus, data_status
from workflow.organisations.active import active_organisation_ids

# How far ahead a request counts as missing soon: the length of the period until the next.
_WEEK_DAYS, _MONTH_DAYS = 7, 31


@dataclass(frozen=True)
class _Recipient:
    dedupe_key: str
    email: str
    name: str
    language: str


def queue_data_status(*, sessions: sessionmaker[Session], clock: Clock) -> int:
    """Queue every Datenstand email due at ``clock.now()``; one transaction per organisation.
    Returns how many rows were queued. Idempotent."""
    now = clock.now()
    with sessions() as session:
        # An archived organisation gets none; the next period's email follows its return.
        org_ids = active_organisation_ids(session)
    queued = 0
    for org_id in org_ids:
        with unit_of_work(sessions) as session:
            queued += queue_for_organisation(session, organisation_id=org_id, now=now)
    return queued


def queue_for_organisation(session: Session, *, organisation_id: int, now: datetime) -> int:
    org = session.get(Organisation, organisation_id)
    assert org is not None
    cal = calendar_of(org)
    policy = policy_of(session, organisation_id)
    today = cal.local_date(now)
    bodies = session.scalars(
        select(Body)
        .where(
            Body.organisation_id == organisation_id,
            Body.kind == BodyKind.MONITORING_GROUP.value,
        )
        .order_by(Body.id)
    ).all()
    plans: list[tuple[Period, str, list[_Recipient]]] = []
    if bodies:
        for body in bodies:
            period = _period(body.digest_cadence, policy, cal, now)
            plans.append((period, body.name, _members(session, body, period, today)))
    else:
        period = _period(DigestCadence.WEEKLY.value, policy, cal, now)
        plans.append((period, "", _coordinators(session, organisation_id, period)))
    queued = 0
    for period, body_name, recipients in plans:
        todo = _not_queued(session, recipients)
        if not todo:
            continue  # most runs: this period's emails went out already; skip the queries
        status = data_status(session, organisation_id, today, ahead_days=_ahead(period))
        if status.empty:
            continue
        context = {
            "body_name": body_name,
            "period_labels": period.labels,
            "today": today.isoformat(),
            "status": _stored(status),
        }
        queued += enqueue(
            session,
            [
                Draft(
                    organisation_id=organisation_id,
                    dedupe_key=r.dedupe_key,
                    kind=KIND,
                    recipient_email=r.email,
                    recipient_name=r.name,
                    language=r.language,
                    context=context,
                )
                for r in todo
            ],
            now=now,
        )
    return queued


def _period(cadence: str, policy: DeadlinePolicy, cal: BusinessCalendar, now: datetime) -> Period:
    period = regular_period(cadence, policy, cal, now)
    if period is None:  # "before meetings only": the data status still comes weekly
        period = regular_period(DigestCadence.WEEKLY.value, policy, cal, now)
    assert period is not None
    return period


def _ahead(period: Period) -> int:
    if period.key.startswith("D"):  # "on change": D2027-01-31
        return 1
    return _WEEK_DAYS if "-W" in period.key else _MONTH_DAYS


def _members(session: Session, body: Body, period: Period, today: date) -> list[_Recipient]:
    members = session.scalars(
        select(BodyMember)
        .where(BodyMember.body_id == body.id, *is_current_clause(today))
        .order_by(BodyMember.id)
    ).all()
    return [
        _Recipient(
            f"{KIND}:body-{body.id}:{period.key}:{m.email.lower()}",
            m.email,
            m.name,
            m.language if m.language in ("de", "en") else "de",
        )
        for m in members
    ]


def _coordinators(session: Session, organisation_id: int, period: Period) -> list[_Recipient]:
    return [
        _Recipient(f"{KIND}:org-{organisation_id}:{period.key}:{email.lower()}", email, name, "de")
        for email, name in coordinators(session, organisation_id)
    ]


def _not_queued(session: Session, recipients: list[_Recipient]) -> list[_Recipient]:
    if not recipients:
        return []
    keys = [r.dedupe_key for r in recipients]
    queued = set(
        session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys)))
    )
    return [r for r in recipients if r.dedupe_key not in queued]


def _stored(status: DataStatus) -> dict[str, Any]:
    """The lists as JSON: dates as ISO strings, so the outbox row keeps what was sent."""

    def plain(row: Any) -> dict[str, Any]:
        return {
            k: v.isoformat() if isinstance(v, date | datetime) else v
            for k, v in asdict(row).items()
        }

    return {
        "missing": [plain(r) for r in status.missing],
        "flagged": [plain(r) for r in status.flagged],
        "unchecked": [plain(r) for r in status.unchecked],
        "missing_count": status.missing_count,
        "flagged_count": status.flagged_count,
        "unchecked_count": status.unchecked_count,
    }
