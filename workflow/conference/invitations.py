"""Inviting actors to a conference, and their answers through the emailed link. Never commits.

One ``ConferenceInvitation`` and one outbox message per actor and conference; the message's
dedupe key names both, so a second run (or two coordinators at once) sends nothing twice.
Only actors with a live consent to invitations are invited; the others are counted, not
silently dropped. The link itself is made when the email is rendered
(workflow/conference/mail.py), because a raw token may exist only in the email.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from notifications.outbox import Draft, enqueue
from workflow.conference.actors import list_actors
from workflow.conference.consent import UNSUBSCRIBE_HOW, has_consent, withdraw_consent
from workflow.conference.errors import ConferenceRefused
from workflow.conference.models import (
    Actor,
    Conference,
    ConferenceInvitation,
    ConsentPurpose,
    InvitationStatus,
)

KIND = "conference_invitation"
MAX_PARTICIPANTS = 50
REMARK_LIMIT = 1000


@dataclass
class InviteResult:
    invited: int = 0
    already_invited: int = 0
    without_consent: int = 0
    without_address: int = 0


def dedupe_key(conference_id: int, actor_id: int) -> str:
    # The actor's id comes last: workflow/conference/consent.py finds its waiting emails by it.
    return f"{KIND}:{conference_id}:{actor_id}"


def _chosen(
    session: Session, conference: Conference, actor_ids: Sequence[int] | None
) -> list[Actor]:
    actors = list_actors(session, organisation_id=conference.organisation_id)
    if actor_ids is None:
        return list(actors)
    wanted = set(actor_ids)
    found = [a for a in actors if a.id in wanted]
    missing = wanted - {a.id for a in found}
    if missing:
        raise ConferenceRefused("unknown_actor", actor_id=min(missing))
    return found


def invite(
    session: Session,
    *,
    conference: Conference,
    today: date,
    now: datetime,
    by: str,
    actor_ids: Sequence[int] | None = None,
) -> InviteResult:
    """Invite every current actor (or the chosen ones) that consented to invitations."""
    if conference.held_on < today:
        raise ConferenceRefused("conference_past", day=conference.held_on.strftime("%d.%m.%Y"))
    invited = set(
        session.scalars(
            select(ConferenceInvitation.actor_id).where(
                ConferenceInvitation.conference_id == conference.id
            )
        )
    )
    result = InviteResult()
    wanted: list[Actor] = []
    for actor in _chosen(session, conference, actor_ids):
        if actor.id in invited:
            result.already_invited += 1
        elif not has_consent(session, actor=actor, purpose=ConsentPurpose.INVITATIONS, today=today):
            result.without_consent += 1
        elif not actor.email:
            result.without_address += 1
        else:
            wanted.append(actor)
    inserted = _insert_invitations(session, conference, wanted, now, by)
    # Another run may have invited some of them since the check above: they were invited.
    result.invited = len(inserted)
    result.already_invited += len(wanted) - len(inserted)
    enqueue(session, [_draft(conference, a) for a in wanted if a.id in inserted], now=now)
    return result


def _insert_invitations(
    session: Session, conference: Conference, actors: Sequence[Actor], now: datetime, by: str
) -> set[int]:
    """The actors whose invitation this call inserted. A row another transaction inserted
    after our check is skipped (ON CONFLICT DO NOTHING), not a unique violation: PostgreSQL
    makes the later insert wait for the earlier commit and then skip, SQLite serialises
    writers anyway."""
    if not actors:
        return set()
    rows = [_invitation(conference, actor, now, by) for actor in actors]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(ConferenceInvitation).on_conflict_do_nothing(
            index_elements=["conference_id", "actor_id"]
        )
    elif dialect == "sqlite":
        stmt = sqlite.insert(ConferenceInvitation).on_conflict_do_nothing(
            index_elements=["conference_id", "actor_id"]
        )
    else:  # pragma: no cover - only the two supported databases
        stmt = insert(ConferenceInvitation)
    returned = session.connection().execute(stmt.returning(ConferenceInvitation.actor_id), rows)
    return {int(actor_id) for actor_id in returned.scalars()}


def _invitation(conference: Conference, actor: Actor, now: datetime, by: str) -> dict[str, Any]:
    return {
        "organisation_id": conference.organisation_id,
        "conference_id": conference.id,
        "actor_id": actor.id,
        "status": InvitationStatus.INVITED.value,
        "invited_at": now,
        "invited_by": by,
        "answered_at": None,
        "participants": 0,
        "remark": "",
    }


def _draft(conference: Conference, actor: Actor) -> Draft:
    return Draft(
        organisation_id=conference.organisation_id,
        dedupe_key=dedupe_key(conference.id, actor.id),
        kind=KIND,
        recipient_email=actor.email,
        recipient_name=actor.contact_name or actor.name,
        language=actor.language,
        context={"conference_id": conference.id, "actor_id": actor.id},
    )


def invitations_of(
    session: Session, *, conference: Conference
) -> Sequence[tuple[ConferenceInvitation, Actor]]:
    rows = session.execute(
        select(ConferenceInvitation, Actor)
        .join(Actor, Actor.id == ConferenceInvitation.actor_id)
        .where(ConferenceInvitation.conference_id == conference.id)
        .order_by(func.lower(Actor.name), Actor.id)
    ).all()
    return [(invitation, actor) for invitation, actor in rows]


def invitation_for(
    session: Session, *, conference_id: int, actor_id: int
) -> ConferenceInvitation | None:
    return session.scalars(
        select(ConferenceInvitation).where(
            ConferenceInvitation.conference_id == conference_id,
            ConferenceInvitation.actor_id == actor_id,
        )
    ).first()


def _open_for_answers(conference: Conference, today: date) -> None:
    if conference.held_on < today:
        raise ConferenceRefused("conference_past", day=conference.held_on.strftime("%d.%m.%Y"))


def register(
    session: Session,
    *,
    invitation: ConferenceInvitation,
    conference: Conference,
    participants: int,
    today: date,
    now: datetime,
    remark: str = "",
) -> None:
    """Register (or change the number of participants); a second answer replaces the first."""
    _open_for_answers(conference, today)
    if not 1 <= participants <= MAX_PARTICIPANTS:
        raise ConferenceRefused("participants_range", limit=MAX_PARTICIPANTS)
    invitation.status = InvitationStatus.REGISTERED.value
    invitation.participants = participants
    invitation.remark = remark.strip()[:REMARK_LIMIT]
    invitation.answered_at = now
    session.flush()


def decline(
    session: Session,
    *,
    invitation: ConferenceInvitation,
    conference: Conference,
    today: date,
    now: datetime,
) -> None:
    _open_for_answers(conference, today)
    invitation.status = InvitationStatus.DECLINED.value
    invitation.participants = 0
    invitation.answered_at = now
    session.flush()


def unsubscribe(session: Session, *, actor: Actor, now: datetime) -> int:
    """The actor asks for no more invitations: the consent is withdrawn, "per Abmeldelink"."""
    return withdraw_consent(
        session, actor=actor, purpose=ConsentPurpose.INVITATIONS, how=UNSUBSCRIBE_HOW, now=now
    )


def registered_count(session: Session, *, conference: Conference) -> tuple[int, int]:
    """How many actors registered, and how many people they announced."""
    actors, people = session.execute(
        select(func.count(), func.coalesce(func.sum(ConferenceInvitation.participants), 0)).where(
            ConferenceInvitation.conference_id == conference.id,
            ConferenceInvitation.status == InvitationStatus.REGISTERED.value,
        )
    ).one()
    return int(actors), int(people)
