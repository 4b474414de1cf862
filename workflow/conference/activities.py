"""Actors report their activities per goal (seed 004, C-K1); callers own the transaction.

Once a year every actor with a live consent for activity reports gets one email with a link
(``KIND``); the link is made when the email is rendered, because a raw token may exist only
in the email itself. The page behind it stores one text per goal and year and replaces it
when sent again. How many actors reported is the C-K1 count; ``record_actor_count`` writes
it as the indicator's value for 31.12. of the year, with the directory as its base.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from notifications.outbox import Draft, enqueue
from workflow.catalogue.models import Goal, Organisation
from workflow.conference.consent import has_consent
from workflow.conference.mail import ConsentWithdrawn
from workflow.conference.models import (
    Actor,
    ActorActivity,
    ActorToken,
    ActorTokenPurpose,
    ConsentPurpose,
)
from workflow.conference.tokens import issue_actor_link, verify_actor_token
from workflow.cycles.calendar import calendar_of
from workflow.forms.tokens import TokenState
from workflow.indicators.breakdown import computed_value
from workflow.indicators.models import Computation, Indicator, IndicatorValue, Unit
from workflow.indicators.service import record_value
from workflow.indicators.validation import Entry

KIND = "actor_activity_request"
KINDS = {KIND}
TEXT_LIMIT = 2000
LINK_DAYS = 60
PATH = "/aktivitaeten"


class ActivityRefused(Exception):
    """A report, count or request that cannot be taken; ``code`` names why, for the texts."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


# -- the yearly request -------------------------------------------------------------------


@dataclass(frozen=True)
class RequestOutcome:
    queued: int  # emails added to the outbox now
    already: int  # asked before for this year (the dedupe key held them back)
    without_consent: int  # skipped: no live consent for activity reports
    without_email: int  # skipped: a consent, but no address to write to


def allowed(session: Session, actor: Actor, now: datetime, org: Organisation) -> bool:
    """A live consent for activity reports, given by today, and the actor in the directory."""
    today = calendar_of(org).local_date(now)
    return has_consent(
        session, actor=actor, purpose=ConsentPurpose.ACTIVITY_REPORTS.value, today=today
    )


def dedupe_key(actor_id: int, year: int) -> str:
    return f"actor_activity:{actor_id}:{year}"


def request_reports(
    session: Session, *, organisation_id: int, year: int, now: datetime
) -> RequestOutcome:
    """Queue this year's request to every actor of the directory who allowed it."""
    org = session.get(Organisation, organisation_id)
    assert org is not None, "the caller resolved it"
    actors = session.scalars(
        select(Actor)
        .where(Actor.organisation_id == organisation_id, Actor.archived_at.is_(None))
        .order_by(Actor.id)
    ).all()
    drafts: list[Draft] = []
    without_consent = without_email = 0
    for actor in actors:
        if not allowed(session, actor, now, org):
            without_consent += 1
        elif not actor.email.strip():
            without_email += 1
        else:
            drafts.append(_draft(actor, year))
    queued = enqueue(session, drafts, now=now)
    return RequestOutcome(queued, len(drafts) - queued, without_consent, without_email)


def _draft(actor: Actor, year: int) -> Draft:
    return Draft(
        organisation_id=actor.organisation_id,
        dedupe_key=dedupe_key(actor.id, year),
        kind=KIND,
        recipient_email=actor.email.strip(),
        recipient_name=actor.contact_name or actor.name,
        language=actor.language if actor.language in ("de", "en") else "de",
        context={"actor_id": actor.id, "year": year},
    )


def request_context(
    session: Session,
    *,
    base_url: str,
    now: datetime,
    rows: list[OutboxMessage],
    org: Organisation,
    lang: str,
) -> dict[str, Any]:
    """What the request email shows; issues the link now. Raises ConsentWithdrawn when the
    email must not go out any more."""
    actor = session.get(Actor, int(rows[0].context["actor_id"]))
    year = int(rows[0].context["year"])
    if actor is None or not allowed(session, actor, now, org):
        raise ConsentWithdrawn(rows[0].context.get("actor_id"))
    last_day = calendar_of(org).local_date(now) + timedelta(days=LINK_DAYS)
    raw = issue_actor_link(
        session,
        org=org,
        actor_id=actor.id,
        purpose=ActorTokenPurpose.ACTIVITY_REPORT,
        year=year,
        last_day=last_day,
        now=now,
    )
    return {
        "actor_name": actor.name,
        "contact_name": actor.contact_name,
        "year": year,
        "form_url": activity_url(base_url, raw),
        "link_expires_on": _day(last_day, lang),
        "text_limit": TEXT_LIMIT,
    }


def _day(day: date, lang: str) -> str:
    from workflow.indicators.mail import format_date

    return format_date(day, lang)


# -- links ----------------------------------------------------------------------------------


def activity_url(base_url: str, raw: str) -> str:
    return f"{base_url.rstrip('/')}{PATH}/{raw}"


def token_for(session: Session, raw: str, now: datetime) -> ActorToken | None:
    """The live activity-report token behind ``raw``; None for every other (the visitor
    learns nothing about why)."""
    state, token = verify_actor_token(
        session, raw, purpose=ActorTokenPurpose.ACTIVITY_REPORT, now=now
    )
    if state is not TokenState.VALID or token is None or token.year is None:
        return None
    return token


# -- reports --------------------------------------------------------------------------------


def goals_of(session: Session, organisation_id: int) -> list[Goal]:
    """The organisation's goals, by Handlungsfeld and rank."""
    return list(
        session.scalars(
            select(Goal)
            .where(Goal.organisation_id == organisation_id)
            .order_by(Goal.field_id, Goal.rank, Goal.code)
        )
    )


def reports_of(session: Session, *, actor_id: int, year: int) -> dict[int, str]:
    """What the actor reported for ``year``, by goal id."""
    rows = session.execute(
        select(ActorActivity.goal_id, ActorActivity.text).where(
            ActorActivity.actor_id == actor_id, ActorActivity.year == year
        )
    )
    return {goal_id: text for goal_id, text in rows}


@dataclass
class Checked:
    texts: dict[int, str] = field(default_factory=dict)  # goal id → text, empty ones left out
    errors: dict[int, ActivityRefused] = field(default_factory=dict)  # goal id → why
    empty: bool = False


def check_reports(session: Session, organisation_id: int, posted: Mapping[int, str]) -> Checked:
    """Which posted texts can be stored; a text per goal of the organisation, at most
    ``TEXT_LIMIT`` characters, at least one in all."""
    allowed = {goal.id for goal in goals_of(session, organisation_id)}
    out = Checked()
    for goal_id, raw in posted.items():
        text = _clean(raw)
        if goal_id not in allowed or not text:
            continue
        if len(text) > TEXT_LIMIT:
            out.errors[goal_id] = ActivityRefused("too_long", limit=TEXT_LIMIT, length=len(text))
        else:
            out.texts[goal_id] = text
    out.empty = not out.texts and not out.errors
    return out


def _clean(text: str) -> str:
    """Line breaks normalised, other control characters dropped: the text is printed later."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or (ord(c) >= 32 and ord(c) != 127)).strip()


def save_reports(
    session: Session, *, token: ActorToken, posted: Mapping[int, str], now: datetime
) -> dict[int, str]:
    """Replace the actor's reports of the token's year with ``posted``: a goal left empty
    loses its earlier text. Raises ActivityRefused ("empty" or the first text's error)."""
    checked = check_reports(session, token.organisation_id, posted)
    if checked.errors:
        raise next(iter(checked.errors.values()))
    if checked.empty:
        raise ActivityRefused("empty")
    year = int(token.year or 0)
    session.execute(
        delete(ActorActivity).where(
            ActorActivity.actor_id == token.actor_id,
            ActorActivity.year == year,
            ActorActivity.goal_id.not_in(list(checked.texts)),
        )
    )
    stored = {
        row.goal_id: row
        for row in session.scalars(
            select(ActorActivity).where(
                ActorActivity.actor_id == token.actor_id, ActorActivity.year == year
            )
        )
    }
    for goal_id, text in checked.texts.items():
        row = stored.get(goal_id)
        if row is None:
            session.add(
                ActorActivity(
                    organisation_id=token.organisation_id,
                    actor_id=token.actor_id,
                    goal_id=goal_id,
                    year=year,
                    text=text,
                    reported_at=now,
                )
            )
        elif row.text != text:
            row.text = text
            row.reported_at = now
    token.last_used_at = now
    session.flush()
    return checked.texts


# -- the count (C-K1) -----------------------------------------------------------------------


def actor_count(session: Session, organisation_id: int, year: int) -> int:
    """Actors who reported at least one activity in ``year``."""
    return int(
        session.scalar(
            select(func.count(func.distinct(ActorActivity.actor_id))).where(
                ActorActivity.organisation_id == organisation_id, ActorActivity.year == year
            )
        )
        or 0
    )


def directory_size(session: Session, organisation_id: int) -> int:
    """Actors in the directory now (not archived): the base the count is read against."""
    return int(
        session.scalar(
            select(func.count(Actor.id)).where(
                Actor.organisation_id == organisation_id, Actor.archived_at.is_(None)
            )
        )
        or 0
    )


def takes_count(indicator: Indicator) -> bool:
    """A count goes into an indicator measured as a number of things, or into one that
    computes a share from its base figures; never into a typed percentage or a survey."""
    if indicator.unit == Unit.COUNT:
        return True
    return indicator.computation != Computation.TYPED and indicator.unit in (
        Unit.PERCENT,
        Unit.RATE,
    )


def record_actor_count(
    session: Session,
    *,
    organisation_id: int,
    indicator_code: str,
    year: int,
    actor: str,
    actor_name: str,
    now: datetime,
) -> IndicatorValue:
    """Write the count as the indicator's city-wide total for 31.12. of ``year``, with
    numerator = the count and denominator = the directory ("12 von 40")."""
    indicator = session.scalars(
        select(Indicator).where(
            Indicator.organisation_id == organisation_id, Indicator.code == indicator_code
        )
    ).first()
    if indicator is None:
        raise ActivityRefused("unknown_indicator", indicator=indicator_code)
    if not takes_count(indicator):
        raise ActivityRefused("not_a_count", indicator=indicator_code)
    count = actor_count(session, organisation_id, year)
    base = directory_size(session, organisation_id)
    value = float(count)
    if indicator.computation != Computation.TYPED:
        # An indicator that computes its value from the base figures (a share) gets that.
        value = computed_value(
            indicator.computation, indicator.unit,
            numerator=count, denominator=base, population_share=None,
        ) or 0.0  # fmt: skip
    recorded = record_value(
        session,
        indicator=indicator,
        survey_date=date(year, 12, 31),
        entry=Entry(district="", value=value),
        comment="",
        actor=actor,
        actor_name=actor_name,
        now=now,
    )
    row = recorded.row
    row.numerator = float(count)
    row.denominator = float(base)
    session.flush()
    return row


def reports_by_goal(
    session: Session, organisation_id: int, year: int
) -> dict[int, list[tuple[Actor, ActorActivity]]]:
    """The year's reports, by goal id, each with its actor, actors by name."""
    rows = session.execute(
        select(Actor, ActorActivity)
        .join(ActorActivity, ActorActivity.actor_id == Actor.id)
        .where(ActorActivity.organisation_id == organisation_id, ActorActivity.year == year)
        .order_by(Actor.name, Actor.id)
    ).all()
    out: dict[int, list[tuple[Actor, ActorActivity]]] = {}
    for actor, activity in rows:
        out.setdefault(activity.goal_id, []).append((actor, activity))
    return out
