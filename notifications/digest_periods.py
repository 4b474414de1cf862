"""When a body's digest is due: its regular period by cadence, and the days before a meeting.

Reads the body's meetings and the policy's digest day and hour; never decides what a digest
says and never writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.render import format_date
from workflow.bodies.models import Body, DigestCadence, Meeting
from workflow.cycles.models import Cycle
from workflow.deadlines import BusinessCalendar, DeadlinePolicy
from workflow.indicators.mail import period_label

MEETING_LEAD_DAYS = 3


@dataclass(frozen=True)
class Period:
    """One occasion for a digest. ``key`` goes into the dedupe key and the member's record."""

    key: str
    labels: dict[str, str]  # the period as the subject names it, per language
    meeting: Meeting | None = None
    # on_change: a sweep with nothing new is no skipped digest, and the day stays open.
    only_when_new: bool = False

    def label(self, lang: str) -> str:
        return self.labels.get(lang, self.labels["de"])


def policy_of(session: Session, organisation_id: int) -> DeadlinePolicy:
    """The digest day and hour of the organisation's newest cycle (defaults without one)."""
    cycle = session.scalars(
        select(Cycle).where(Cycle.organisation_id == organisation_id).order_by(Cycle.year.desc())
    ).first()
    return DeadlinePolicy.model_validate(cycle.policy) if cycle else DeadlinePolicy()


def regular_period(
    cadence: str, policy: DeadlinePolicy, cal: BusinessCalendar, now: datetime
) -> Period | None:
    """The latest regular period that has begun by ``now``; None for "before meetings only"."""
    today = cal.local_date(now)
    if cadence == DigestCadence.MONTHLY.value:
        return _month(policy, cal, now, today)
    if cadence == DigestCadence.ON_CHANGE.value:
        labels = {
            "de": f"Stand {format_date(today, 'de')}",
            "en": f"as of {format_date(today, 'en')}",
        }
        return Period(f"D{today.isoformat()}", labels, only_when_new=True)
    if cadence == DigestCadence.BEFORE_MEETING.value:
        return None
    return _week(policy, cal, now, today)  # weekly, and any cadence this code does not know


def _week(policy: DeadlinePolicy, cal: BusinessCalendar, now: datetime, today: date) -> Period:
    day = today - timedelta(days=(today.weekday() - policy.digest_weekday) % 7)
    if now < cal.at_local(day, policy.send_hour):
        day -= timedelta(days=7)
    year, week, _ = day.isocalendar()
    return Period(f"{year}-W{week:02d}", {"de": f"KW {week}/{year}", "en": f"week {week}/{year}"})


def _month(policy: DeadlinePolicy, cal: BusinessCalendar, now: datetime, today: date) -> Period:
    first = date(today.year, today.month, 1)
    if now < cal.at_local(cal.roll_forward(first), policy.send_hour):
        first = (first - timedelta(days=1)).replace(day=1)
    key = f"{first.year}-{first.month:02d}"
    return Period(key, {lang: period_label(key, lang) for lang in ("de", "en")})


def meeting_periods(
    session: Session, body: Body, policy: DeadlinePolicy, cal: BusinessCalendar, now: datetime
) -> list[Period]:
    """Every meeting of the body whose digest is due: from the send hour, lead days ahead."""
    today = cal.local_date(now)
    meetings = session.scalars(
        select(Meeting)
        .where(
            Meeting.body_id == body.id,
            Meeting.held_on >= today,
            Meeting.held_on <= today + timedelta(days=MEETING_LEAD_DAYS),
        )
        .order_by(Meeting.held_on, Meeting.id)
    ).all()
    return [
        Period(
            f"meeting-{m.id}",
            {
                "de": f"Sitzung am {format_date(m.held_on, 'de')}",
                "en": f"meeting on {format_date(m.held_on, 'en')}",
            },
            meeting=m,
        )
        for m in meetings
        if now >= cal.at_local(m.held_on - timedelta(days=MEETING_LEAD_DAYS), policy.send_hour)
    ]
