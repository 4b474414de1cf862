"""An actor's consents: recorded with date, purpose and how; withdrawable; never deleted.

Nothing goes to an actor without a live consent for the purpose: ``has_consent`` is the one
question every sender asks. Withdrawing the consent to invitations also stops the invitation
emails still waiting in the outbox, so a withdrawal an hour before the send run holds.
Never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage, OutboxStatus
from notifications.outbox_search import NOT_YET_SENT, key_matches
from workflow.conference.errors import ConferenceRefused
from workflow.conference.models import Actor, ActorConsent, ConsentPurpose

HOW_LIMIT = 300
UNSUBSCRIBE_HOW = "per Abmeldelink"
WITHDRAWN_NOTE = "zurückgezogen: die Einwilligung wurde widerrufen"


def _purpose(purpose: str) -> ConsentPurpose:
    try:
        return ConsentPurpose(purpose)
    except ValueError:
        raise ConferenceRefused("unknown_purpose", value=purpose[:40]) from None


def live_consents(
    session: Session, *, actor: Actor, purpose: str | None = None
) -> Sequence[ActorConsent]:
    query = select(ActorConsent).where(
        ActorConsent.actor_id == actor.id, ActorConsent.withdrawn_at.is_(None)
    )
    if purpose is not None:
        query = query.where(ActorConsent.purpose == purpose)
    return session.scalars(query.order_by(ActorConsent.given_on, ActorConsent.id)).all()


def consents_of(session: Session, *, actor: Actor) -> Sequence[ActorConsent]:
    """Every consent, withdrawn ones included: the record of what was allowed until when."""
    return session.scalars(
        select(ActorConsent)
        .where(ActorConsent.actor_id == actor.id)
        .order_by(ActorConsent.given_on.desc(), ActorConsent.id.desc())
    ).all()


def has_consent(session: Session, *, actor: Actor, purpose: str, today: date) -> bool:
    """A live consent for ``purpose`` given on or before ``today``, and the actor not archived."""
    if actor.archived_at is not None:
        return False
    return any(c.given_on <= today for c in live_consents(session, actor=actor, purpose=purpose))


def record_consent(
    session: Session,
    *,
    actor: Actor,
    purpose: str,
    given_on: date,
    how: str,
    recorded_by: str,
    today: date,
    now: datetime,
) -> ActorConsent:
    checked = _purpose(purpose)
    how = " ".join(how.split())
    if not how or len(how) > HOW_LIMIT:
        raise ConferenceRefused("how_required", limit=HOW_LIMIT)
    if given_on > today:
        raise ConferenceRefused("given_in_future", day=given_on.strftime("%d.%m.%Y"))
    if live_consents(session, actor=actor, purpose=checked.value):
        raise ConferenceRefused("consent_exists", actor=actor.name)
    consent = ActorConsent(
        organisation_id=actor.organisation_id,
        actor_id=actor.id,
        purpose=checked.value,
        given_on=given_on,
        how=how,
        recorded_by=recorded_by,
        recorded_at=now,
        withdrawn_at=None,
        withdrawn_how="",
    )
    session.add(consent)
    session.flush()
    return consent


def withdraw_consent(
    session: Session, *, actor: Actor, purpose: str, how: str, now: datetime
) -> int:
    """Withdraw the live consents for ``purpose``; returns how many (0: there was none)."""
    checked = _purpose(purpose)
    how = " ".join(how.split())[:HOW_LIMIT]
    live = live_consents(session, actor=actor, purpose=checked.value)
    for consent in live:
        consent.withdrawn_at = now
        consent.withdrawn_how = how
    if checked is ConsentPurpose.INVITATIONS:
        _stop_waiting_invitations(session, actor.id)
    session.flush()
    return len(live)


def _stop_waiting_invitations(session: Session, actor_id: int) -> None:
    # The dedupe key ends in the actor's id (workflow/conference/invitations.py), so the
    # two parts find exactly this actor's invitation emails.
    session.execute(
        update(OutboxMessage)
        .where(
            key_matches(OutboxMessage.dedupe_key, "conference_invitation:", f":{actor_id}"),
            OutboxMessage.status == OutboxStatus.PENDING.value,
            NOT_YET_SENT,
        )
        .values(status=OutboxStatus.DEAD.value, last_error=WITHDRAWN_NOTE)
        .execution_options(synchronize_session=False)
    )
