"""What the conference invitation email shows: date, time, place and a personal link made now.

Called by ``notifications.render`` at send time (its ``_extra`` hands the kind here), because
a raw link token may exist only in the email itself. An actor whose consent to invitations
was withdrawn after the email was queued gets nothing: rendering refuses, and the withdrawal
has already taken the waiting row out of the outbox (workflow/conference/consent.py).
Reads the database and issues tokens; never sends and never queues.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from workflow.catalogue.models import Organisation
from workflow.conference.consent import has_consent
from workflow.conference.invitations import KIND
from workflow.conference.models import Actor, ActorTokenPurpose, Conference, ConsentPurpose
from workflow.conference.tokens import issue_actor_link
from workflow.cycles.calendar import calendar_of
from workflow.indicators.mail import format_date

KINDS = {KIND}
# The unsubscribe link in an invitation must keep working long after the day itself.
LINK_DAYS_AFTER = 180


class ConsentWithdrawn(Exception):
    """An invitation queued before its actor withdrew the consent: it must not go out."""


def invitation_url(base_url: str, raw: str) -> str:
    return f"{base_url.rstrip('/')}/einladung/{raw}"


def unsubscribe_url(base_url: str, raw: str) -> str:
    return invitation_url(base_url, raw) + "/abmelden"


def invitation_context(
    session: Session,
    *,
    base_url: str,
    now: datetime,
    rows: list[OutboxMessage],
    org: Organisation,
    lang: str,
) -> dict[str, Any]:
    ctx = rows[0].context
    conference = session.get(Conference, int(ctx["conference_id"]))
    actor = session.get(Actor, int(ctx["actor_id"]))
    assert conference is not None and actor is not None, "an invitation names both"
    today = calendar_of(org).local_date(now)
    if not has_consent(session, actor=actor, purpose=ConsentPurpose.INVITATIONS, today=today):
        raise ConsentWithdrawn(actor.id)
    raw = issue_actor_link(
        session,
        org=org,
        actor_id=actor.id,
        purpose=ActorTokenPurpose.INVITATION,
        conference_id=conference.id,
        last_day=conference.held_on + timedelta(days=LINK_DAYS_AFTER),
        now=now,
    )
    return {
        "conference_title": conference.title,
        "held_on": format_date(conference.held_on, lang),
        "time_label": conference.time_label,
        "place": conference.place,
        "description": conference.description,
        "actor_name": actor.name,
        "invitation_url": invitation_url(base_url, raw),
        "unsubscribe_url": unsubscribe_url(base_url, raw),
    }
