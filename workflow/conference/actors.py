"""The directory of actors: add, edit, archive. Never commits.

An address is stored trimmed and in lower case, so one organisation's actors never share an
address in another letter case: a second actor with a known address is refused, because its
consents and invitations would otherwise go to one mailbox twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.catalogue.heads import EMAIL
from workflow.conference.errors import ConferenceRefused
from workflow.conference.models import Actor, ActorKind

LIMITS = {"name": 300, "contact_name": 200, "email": 320, "phone": 60}
LANGUAGES = ("de", "en")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ufffe\uffff]")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _checked(
    name: str, kind: str, contact_name: str, email: str, phone: str, language: str
) -> None:
    if not name:
        raise ConferenceRefused("name_required")
    for setting, value in (("name", name), ("contact_name", contact_name), ("phone", phone)):
        if _CONTROL.search(value) or len(value) > LIMITS[setting]:
            raise ConferenceRefused("text_invalid", setting=setting, limit=LIMITS[setting])
    if kind not in {k.value for k in ActorKind}:
        raise ConferenceRefused("unknown_kind", value=kind[:40])
    if email and (len(email) > LIMITS["email"] or not EMAIL.match(email)):
        raise ConferenceRefused("invalid_email", value=email[:80])
    if language not in LANGUAGES:
        raise ConferenceRefused("unknown_language", value=language[:10])


def _refuse_taken(session: Session, organisation_id: int, email: str, own_id: int | None) -> None:
    if not email:
        return
    other = session.scalars(
        select(Actor.id).where(
            Actor.organisation_id == organisation_id,
            func.lower(Actor.email) == email,
            Actor.id != (own_id or 0),
        )
    ).first()
    if other is not None:
        raise ConferenceRefused("email_taken", email=email, actor_id=other)


def add_actor(
    session: Session,
    *,
    organisation_id: int,
    name: str,
    kind: str,
    email: str = "",
    contact_name: str = "",
    phone: str = "",
    notes: str = "",
    language: str = "de",
    now: datetime,
) -> Actor:
    name, contact_name, phone = name.strip(), contact_name.strip(), phone.strip()
    email = normalise_email(email)
    _checked(name, kind, contact_name, email, phone, language)
    _refuse_taken(session, organisation_id, email, None)
    actor = Actor(
        organisation_id=organisation_id,
        name=name,
        kind=kind,
        contact_name=contact_name,
        email=email,
        phone=phone,
        notes=notes.strip(),
        language=language,
        created_at=now,
        archived_at=None,
    )
    session.add(actor)
    session.flush()
    return actor


def edit_actor(
    session: Session,
    *,
    actor: Actor,
    name: str,
    kind: str,
    email: str,
    contact_name: str = "",
    phone: str = "",
    notes: str = "",
    language: str = "de",
) -> Actor:
    name, contact_name, phone = name.strip(), contact_name.strip(), phone.strip()
    email = normalise_email(email)
    _checked(name, kind, contact_name, email, phone, language)
    _refuse_taken(session, actor.organisation_id, email, actor.id)
    actor.name, actor.kind, actor.email = name, kind, email
    actor.contact_name, actor.phone, actor.notes = contact_name, phone, notes.strip()
    actor.language = language
    session.flush()
    return actor


def archive_actor(session: Session, *, actor: Actor, now: datetime) -> None:
    """An archived actor keeps its consents and answers as a record but is invited no more."""
    if actor.archived_at is None:
        actor.archived_at = now
        session.flush()


def actor_of(session: Session, *, organisation_id: int, actor_id: int) -> Actor:
    actor = session.get(Actor, actor_id)
    if actor is None or actor.organisation_id != organisation_id:
        raise ConferenceRefused("unknown_actor", actor_id=actor_id)
    return actor


def list_actors(
    session: Session, *, organisation_id: int, archived: bool = False
) -> Sequence[Actor]:
    query = select(Actor).where(Actor.organisation_id == organisation_id)
    if not archived:
        query = query.where(Actor.archived_at.is_(None))
    return session.scalars(query.order_by(func.lower(Actor.name), Actor.id)).all()
