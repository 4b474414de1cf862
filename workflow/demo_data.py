"""The people a catalogue file does not name: department heads, bodies and their members.

Used by the demo and the simulation so that escalations and digests have someone to reach.
All addresses are fictional, under the catalogue's own (example) domain.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.bodies.models import Body, BodyKind, MemberRole, Represents
from workflow.bodies.service import add_member, create_body
from workflow.catalogue.models import Contact, Department, Organisation

# name, local part, represents, role; the first member of each body chairs it.
Person = tuple[str, str, Represents, MemberRole]
STEERING_MEMBERS: tuple[Person, ...] = (
    ("Dr. Henrike Sommer", "henrike.sommer", Represents.ADMINISTRATION, MemberRole.CHAIR),
    ("Murat Yilmaz", "murat.yilmaz", Represents.INTEGRATION_COUNCIL, MemberRole.MEMBER),
    ("Claudia Weber", "claudia.weber", Represents.ADMINISTRATION, MemberRole.MEMBER),
)
ADVISORY_MEMBERS: tuple[Person, ...] = (
    ("Ingrid Hoffmann", "ingrid.hoffmann", Represents.CIVIL_SOCIETY, MemberRole.CHAIR),
    ("Jonas Becker", "jonas.becker", Represents.COUNCIL_GROUP, MemberRole.MEMBER),
    ("Aylin Demir", "aylin.demir", Represents.INTEGRATION_COUNCIL, MemberRole.MEMBER),
    ("Peter Schulz", "peter.schulz", Represents.ADMINISTRATION, MemberRole.MEMBER),
)
BODIES: tuple[tuple[str, BodyKind, tuple[Person, ...], dict[str, int]], ...] = (
    ("Steuerungsgruppe Integration", BodyKind.STEERING_GROUP, STEERING_MEMBERS, {}),
    (
        "Begleitgremium Integrationskonzept",
        BodyKind.ADVISORY_BOARD,
        ADVISORY_MEMBERS,
        # Deliberately one short, so the demo shows the composition check.
        {Represents.CIVIL_SOCIETY.value: 2},
    ),
)


def _slug(text: str) -> str:
    table = str.maketrans(
        {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"}
    )
    return re.sub(r"[^a-z0-9]+", "-", text.translate(table).lower()).strip("-")[:40]


def ensure_people(session: Session, org: Organisation) -> None:
    contacts = session.scalars(
        select(Contact).where(Contact.organisation_id == org.id).order_by(Contact.id)
    ).all()
    domain = contacts[0].email.rpartition("@")[2] if contacts else "stadt.example.org"
    if not org.contact_email:
        org.contact_email = f"integration@{domain}"
    departments = session.scalars(
        select(Department).where(Department.organisation_id == org.id).order_by(Department.id)
    ).all()
    heads = {c.department_id for c in contacts if c.is_head}
    for dept in departments:
        if dept.id not in heads:
            session.add(
                Contact(
                    organisation_id=org.id,
                    department_id=dept.id,
                    name=f"Amtsleitung {dept.name}",
                    email=f"leitung.{_slug(dept.name)}@{domain}",
                    is_head=True,
                )
            )
    has_bodies = session.scalars(select(Body.id).where(Body.organisation_id == org.id)).first()
    if has_bodies is None:
        for name, kind, members, rules in BODIES:
            body = create_body(
                session=session, organisation_id=org.id, name=name, kind=kind.value, rules=rules
            )
            for person, local, represents, role in members:
                add_member(
                    session=session,
                    body=body,
                    name=person,
                    email=f"{local}@{domain}",
                    represents=represents.value,
                    role=role.value,
                    # Members since before the simulated or demonstrated time began.
                    joined_on=None,
                    today=date.min,
                )
    session.flush()
