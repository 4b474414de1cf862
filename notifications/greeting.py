"""The greeting line of one email, from the recipient as our records know them at render time.

A contact greets by ``Contact.salutation``, a body member by ``BodyMember.salutation``; an
app user, an outside address or a function address ("Amtsleitung Sozialamt") gets the neutral
"Guten Tag," / "Hello,". Reads the organisation's contacts and members; never writes, and never
guesses a salutation from a name.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from notifications.recipients import recipient_contact_id
from workflow.bodies.models import Body, BodyMember
from workflow.catalogue.models import Contact
from workflow.salutation import greeting


def greeting_for(session: Session, row: OutboxMessage, lang: str) -> str:
    """The opening line of ``row``'s email in ``lang``."""
    person = _person(session, row)
    if person is None:
        return greeting(salutation="", name="", lang=lang)
    return greeting(salutation=person.salutation, name=person.name, lang=lang)


def _person(session: Session, row: OutboxMessage) -> Contact | BodyMember | None:
    org_id = row.organisation_id
    address = (row.recipient_email or "").strip().lower()
    ident = recipient_contact_id(row)
    contact = session.get(Contact, ident) if ident is not None else None
    if contact is not None and contact.organisation_id == org_id:
        return contact
    member_id = str((row.context or {}).get("member_id"))
    member = session.get(BodyMember, int(member_id)) if member_id.isdigit() else None
    if member is not None and member.email.strip().lower() == address:
        body = session.get(Body, member.body_id)
        if body is not None and body.organisation_id == org_id:
            return member
    # Rows that name nobody (escalations to a head, invitations, app users): by address.
    contact = session.scalars(
        select(Contact)
        .where(Contact.organisation_id == org_id, func.lower(Contact.email) == address)
        .order_by(Contact.id)
    ).first()
    if contact is not None:
        return contact
    # A person in several bodies: the membership that states a salutation speaks for them.
    return session.scalars(
        select(BodyMember)
        .join(Body, Body.id == BodyMember.body_id)
        .where(
            Body.organisation_id == org_id,
            func.lower(BodyMember.email) == address,
            BodyMember.left_on.is_(None),
        )
        .order_by(BodyMember.salutation == "", BodyMember.id)
    ).first()
