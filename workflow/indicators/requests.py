"""Data requests: opening one per indicator and rhythm date, and its schedule of reminders.

A request opens ``Indicator.lead_days`` before a rhythm date (the value's due date, moved
to the next working day) and is unique per (indicator, period), so opening it twice, or
from two sweeps, changes nothing. Reminders and escalations follow the deadline policy of
the organisation's newest cycle, exactly as a department's answer does. It never commits
and never sends: it writes rows and outbox drafts in the caller's transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from notifications.outbox import Draft, enqueue
from workflow.accounts import Role, User
from workflow.catalogue.models import Contact, Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import Cycle
from workflow.cycles.stay import first_follow_up, first_step
from workflow.deadlines import BusinessCalendar, DeadlinePolicy, Step, contact_plan
from workflow.forms import ladder_restart
from workflow.indicators import rhythm
from workflow.indicators.models import DataRequest, Indicator, RequestStatus
from workflow.organisations.active import of_active_organisation

log = logging.getLogger(__name__)

DATA_PHASE = "data_delivery"
# A sweep that comes late still opens a request up to this long after its due date.
LATE_OPENING = timedelta(days=14)
# The kinds that bring the source a form link (made when they are sent).
_LINK_KINDS = ("data_request", "data_reminder", "data_final_reminder", "data_deadline_extended")


def policy_for(session: Session, organisation_id: int) -> DeadlinePolicy:
    """The policy of the organisation's newest cycle; the default before the first cycle."""
    cycle = session.scalars(
        select(Cycle).where(Cycle.organisation_id == organisation_id).order_by(Cycle.year.desc())
    ).first()
    return DeadlinePolicy.model_validate(cycle.policy) if cycle else DeadlinePolicy()


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def rhythm_dates(indicator: Indicator, years: range) -> list[date]:
    """Every date a value of ``indicator`` is due in ``years``, ascending."""
    if not years:
        return []
    first, last = date(years[0], 1, 1), date(years[-1], 12, 31)
    return rhythm.due_dates(rhythm.spec_of(indicator), first, last)


def dates_to_open(indicator: Indicator, today: date, created_on: date) -> list[date]:
    """Rhythm dates whose request should exist today: opened, not long past, not older than
    the indicator itself."""
    lead = timedelta(days=max(indicator.lead_days, 0))
    return [
        due
        for due in rhythm_dates(indicator, range(today.year - 1, today.year + 2))
        if due - lead <= today <= due + LATE_OPENING and due >= created_on
    ]


def plan_of(request: DataRequest, policy: DeadlinePolicy, cal: BusinessCalendar) -> list[Step]:
    return contact_plan(request.due_on, policy, cal)


def schedule_new(
    request: DataRequest, *, now: datetime, policy: DeadlinePolicy, cal: BusinessCalendar
) -> None:
    """A request opened (or extended) late does not owe old reminders, and none arrives right
    behind it: reminders dated before ``first_follow_up`` are skipped (issue 13)."""
    plan = plan_of(request, policy, cal)
    request.action_step, request.next_action_at = first_step(
        plan, first_follow_up(now, policy, cal)
    )


@dataclass
class Opened:
    ids: list[int]
    queued: int


def open_due_requests(session: Session, *, now: datetime) -> Opened:
    """Open every request whose time has come, for all organisations; queue its invitation."""
    opened = Opened([], 0)
    indicators = session.scalars(
        select(Indicator)
        .where(
            Indicator.active.is_(True),
            Indicator.source_contact_id.is_not(None),
            # An archived organisation asks for nothing; its periods open when it returns.
            of_active_organisation(Indicator.organisation_id),
        )
        .order_by(Indicator.id)
    ).all()
    by_org: dict[int, list[Indicator]] = {}
    for indicator in indicators:
        by_org.setdefault(indicator.organisation_id, []).append(indicator)
    for org_id, group in by_org.items():
        org = session.get(Organisation, org_id)
        assert org is not None
        cal = calendar_of(org)
        today = cal.local_date(now)
        wanted = {
            (ind.id, period_of(due)): (ind, due)
            for ind in group
            for due in dates_to_open(ind, today, cal.local_date(ind.created_at))
        }
        if not wanted:
            continue
        existing = {
            (indicator_id, period)
            for indicator_id, period in session.execute(
                select(DataRequest.indicator_id, DataRequest.period).where(
                    DataRequest.indicator_id.in_({i for i, _ in wanted})
                )
            )
        }
        policy = policy_for(session, org_id)
        for key in sorted(set(wanted) - existing):
            indicator, due = wanted[key]
            request_id = _insert(session, indicator, due, now=now, policy=policy, cal=cal)
            if request_id is None:
                continue  # another sweep opened it a moment ago
            request = session.get(DataRequest, request_id)
            assert request is not None
            opened.ids.append(request_id)
            opened.queued += enqueue(session, [invitation(request)], now=now)
    return opened


def _insert(
    session: Session,
    indicator: Indicator,
    due: date,
    *,
    now: datetime,
    policy: DeadlinePolicy,
    cal: BusinessCalendar,
) -> int | None:
    assert indicator.source_contact_id is not None
    # From the rhythm date itself, not the rolled-forward due date: a weekend must not move
    # the period the value describes.
    reference_start, reference_end = rhythm.reference_period(rhythm.spec_of(indicator), due)
    row = DataRequest(
        organisation_id=indicator.organisation_id,
        indicator_id=indicator.id,
        period=period_of(due),
        contact_id=indicator.source_contact_id,
        status=RequestStatus.OPEN.value,
        opened_at=now,
        due_on=cal.roll_forward(due),
        action_step=0,
        escalation_level=0,
        stay=1,
        delivered_by="",
        deliveries=0,
        reference_start=reference_start,
        reference_end=reference_end,
    )
    schedule_new(row, now=now, policy=policy, cal=cal)
    values = {
        c.key: getattr(row, c.key)
        for c in DataRequest.__table__.columns
        if c.key != "id" and getattr(row, c.key) is not None
    }
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(DataRequest).on_conflict_do_nothing(
            index_elements=["indicator_id", "period"]
        )
    elif dialect == "sqlite":
        stmt = sqlite.insert(DataRequest).on_conflict_do_nothing(
            index_elements=["indicator_id", "period"]
        )
    else:  # pragma: no cover - only the two supported databases
        stmt = insert(DataRequest)
    return session.execute(stmt.values(**values).returning(DataRequest.id)).scalar()


def request_context(request: DataRequest) -> dict[str, Any]:
    """What a template needs to name one request; read once, when the message is queued."""
    indicator = request.indicator
    return {
        "data_request_id": request.id,
        "indicator_id": indicator.id,
        "indicator_code": indicator.code,
        "period": request.period,
        "due_on": request.due_on.isoformat(),
        "contact_id": request.contact_id,
        "phase": DATA_PHASE,
    }


def _to_contact(request: DataRequest, kind: str, key: str, **extra: Any) -> Draft:
    contact = request.contact
    return Draft(
        organisation_id=request.organisation_id,
        dedupe_key=key,
        kind=kind,
        recipient_email=contact.email,
        recipient_name=contact.name,
        language=contact.language,
        context={**request_context(request), **extra},
    )


def invitation(request: DataRequest, *, mark: str = "") -> Draft:
    return _to_contact(request, "data_request", f"dr:{request.id}:{request.stay}:request:0{mark}")


def reminder(request: DataRequest, step: Step, *, final: bool, mark: str = "") -> Draft:
    """``mark``: the contact's latest address correction (``workflow.forms.ladder_restart``)."""
    kind = "data_final_reminder" if final else "data_reminder"
    key = f"dr:{request.id}:{request.stay}:reminder:{step.index}{mark}"
    return _to_contact(request, kind, key, step=step.index)


def open_for_contact(session: Session, contact_id: int) -> list[DataRequest]:
    return list(
        session.scalars(
            select(DataRequest)
            .where(
                DataRequest.contact_id == contact_id,
                DataRequest.status == RequestStatus.OPEN.value,
            )
            .order_by(DataRequest.id)
        ).unique()
    )


def restart_after_address_change(
    session: Session, request: DataRequest, *, now: datetime, mark: str
) -> int:
    """The ladder starts again from its first reminder, and the request goes once more to the
    corrected address (its link is made when it is sent), unless a queued email of the
    request brings one anyway. Returns how many messages were queued."""
    org = session.get(Organisation, request.organisation_id)
    assert org is not None
    cal, policy = calendar_of(org), policy_for(session, request.organisation_id)
    request.action_step = 0
    request.next_action_at = ladder_restart.restart_at(
        plan_of(request, policy, cal), now, policy, cal
    )
    if ladder_restart.link_waiting(session, f"dr:{request.id}:{request.stay}:", _LINK_KINDS):
        return 0
    return enqueue(session, [invitation(request, mark=mark)], now=now)


def reminder_by_coordinator(request: DataRequest, *, day: str) -> Draft:
    """A reminder the coordinator sends by hand (a fresh link); at most one per request and day."""
    key = f"dr:{request.id}:{request.stay}:manual:{day}"
    return _to_contact(request, "data_reminder", key, by_coordinator=True)


def extension_notice(request: DataRequest, *, reason: str) -> Draft:
    """The new due date, to the source; one per stay (each extension starts a new one)."""
    key = f"dr:{request.id}:{request.stay}:extended:0"
    return _to_contact(request, "data_deadline_extended", key, reason=reason)


def confirmation(request: DataRequest, revision: int, submitted_by: str) -> Draft:
    key = f"dr:{request.id}:confirmation:{revision}"
    return _to_contact(request, "confirmation_data", key, submitted_by=submitted_by)


def escalation(session: Session, request: DataRequest, step: Step) -> list[Draft]:
    """To the heads of the source's department; a source outside the administration (no
    department, or none with a head) is followed up by the coordinators themselves."""
    contact = request.contact
    recipients: list[tuple[str, str, str, str]] = []
    if contact.department_id is not None:
        recipients = [
            (f"c{h.id}", h.email, h.name, h.language)
            for h in session.scalars(
                select(Contact)
                .where(Contact.department_id == contact.department_id, Contact.is_head.is_(True))
                .order_by(Contact.id)
            )
        ]
    if not recipients:
        recipients = [
            (f"u{u.id}", u.email, u.name, "de")
            for u in session.scalars(
                select(User)
                .where(
                    User.organisation_id == request.organisation_id,
                    User.role == Role.COORDINATOR.value,
                    User.active.is_(True),
                )
                .order_by(User.id)
            )
        ]
    if not recipients:
        org = session.get(Organisation, request.organisation_id)
        if org is not None and org.contact_email:
            recipients = [("org", org.contact_email, org.name, "de")]
    if not recipients:
        log.warning("data request %s: nobody to escalate to; only recorded", request.id)
    return [
        Draft(
            organisation_id=request.organisation_id,
            dedupe_key=f"dr:{request.id}:{request.stay}:escalation:{step.index}:{who}",
            kind="data_escalation_head",
            recipient_email=email,
            recipient_name=name,
            language=language,
            context={**request_context(request), "level": step.index},
        )
        for who, email, name, language in recipients
    ]
