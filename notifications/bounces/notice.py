"""The daily notice to the coordinators: which addresses of the organisation bounce, and where.

Queued by the sweep (workflow/sweep.py) at most once a day per organisation and recipient; it
lists the addresses reported since the last notice (``notified_at`` None) with who uses them,
so one bouncing address makes one line, not one dead-letter notice per reminder. What it lists
is fixed when it is queued; the renderer only formats it in the recipient's language.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.bounces.models import AddressBounce, AddressState
from notifications.outbox import Draft, enqueue
from workflow.catalogue.models import Contact, Department, Measure, Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.carry import coordinators
from workflow.cycles.models import MeasureCycle
from workflow.organisations.active import of_active_organisation
from workflow.reports import english

log = logging.getLogger(__name__)

KIND = "bounce_notice"


def queue_bounce_notices(session: Session, *, now: datetime) -> int:
    """Queue today's notice for every organisation with untold bouncing addresses; returns
    how many rows were queued."""
    org_ids = session.scalars(
        select(AddressBounce.organisation_id)
        .where(
            AddressBounce.state == AddressState.BOUNCING.value,
            AddressBounce.notified_at.is_(None),
            # An archived organisation is told when it returns, not while nobody reads.
            of_active_organisation(AddressBounce.organisation_id),
        )
        .distinct()
    ).all()
    return sum(_queue_for(session, org_id, now) for org_id in org_ids)


def _queue_for(session: Session, organisation_id: int, now: datetime) -> int:
    org = session.get(Organisation, organisation_id)
    assert org is not None
    untold = session.scalars(
        select(AddressBounce)
        .where(
            AddressBounce.organisation_id == organisation_id,
            AddressBounce.state == AddressState.BOUNCING.value,
            AddressBounce.notified_at.is_(None),
        )
        .order_by(AddressBounce.email)
    ).all()
    recipients = coordinators(session, organisation_id)
    if not recipients:
        log.warning("organisation %s has no coordinator; bounce notice not sent", org.slug)
        return 0
    day = calendar_of(org).local_date(now).isoformat()
    addresses = [_address(session, org, row) for row in untold]
    queued = enqueue(
        session,
        [
            Draft(
                organisation_id=organisation_id,
                dedupe_key=f"{KIND}:{organisation_id}:{day}:{email.lower()}",
                kind=KIND,
                recipient_email=email,
                recipient_name=name,
                context={"addresses": addresses},
            )
            for email, name in recipients
        ],
        now=now,
    )
    # Today's notice went out already: these wait for tomorrow's rather than go untold.
    if queued:
        for row in untold:
            row.notified_at = now
    return queued


def _address(session: Session, org: Organisation, row: AddressBounce) -> dict[str, Any]:
    people = session.scalars(
        select(Contact).where(
            Contact.organisation_id == org.id, func.lower(Contact.email) == row.email
        )
    ).all()
    ids = [p.id for p in people]
    measures = session.execute(
        select(Measure.code, Measure.title, func.max(MeasureCycle.id))
        .join(MeasureCycle, MeasureCycle.measure_id == Measure.id)
        .where(Measure.organisation_id == org.id, Measure.contact_id.in_(ids))
        .group_by(Measure.id, Measure.code, Measure.title)
        .order_by(Measure.code)
    ).all()
    head_of = [p.department_id for p in people if p.is_head and p.department_id is not None]
    departments = session.scalars(
        select(Department).where(Department.id.in_(head_of)).order_by(Department.name)
    ).all()
    since = row.bouncing_since or row.last_report_at
    return {
        "email": row.email,
        "since": calendar_of(org).local_date(since).isoformat() if since else "",
        "reason": row.reason,
        "measures": [
            {"code": code, "title": title, "measure_cycle_id": mc_id}
            for code, title, mc_id in measures
        ],
        "departments": [{"id": d.id, "name": d.name} for d in departments],
    }


def notice_context(ctx: dict[str, Any], lang: str, base_url: str) -> dict[str, Any]:
    """The template's view of a queued notice: dates in the recipient's language, links
    to the pages where each use of the address is corrected."""
    base = base_url.rstrip("/")
    return {
        "dashboard_url": base,
        "addresses": [
            {
                "email": a["email"],
                "since": _day(a["since"], lang),
                "reason": a["reason"],
                "measures": [
                    {
                        "code": m["code"],
                        "title": m["title"],
                        "url": f"{base}/massnahmen/{m['measure_cycle_id']}",
                    }
                    for m in a["measures"]
                ],
                "departments": [
                    {"name": d["name"], "url": f"{base}/fachbereiche/{d['id']}/leitung"}
                    for d in a["departments"]
                ],
            }
            for a in ctx.get("addresses", [])
        ],
    }


def _day(iso: str, lang: str) -> str:
    if not iso:
        return ""
    day = datetime.fromisoformat(iso).date()
    return english.long_day(day) if lang == "en" else day.strftime("%d.%m.%Y")
