"""The people a catalogue file does not name: department heads, a steering group, a contact address.

Used by the demo and the simulation so that escalations and digests have someone to reach.
All addresses are fictional, under the catalogue's own (example) domain.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import (
    Contact,
    Department,
    Organisation,
    SteeringGroup,
    SteeringMember,
)

STEERING_MEMBERS = (
    ("Dr. Henrike Sommer", "henrike.sommer"),
    ("Murat Yilmaz", "murat.yilmaz"),
    ("Claudia Weber", "claudia.weber"),
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
    group = session.scalars(
        select(SteeringGroup).where(SteeringGroup.organisation_id == org.id)
    ).first()
    if group is None:
        group = SteeringGroup(organisation_id=org.id, name="Steuerungsgruppe Integration")
        session.add(group)
        session.flush()
        for name, local in STEERING_MEMBERS:
            session.add(
                SteeringMember(steering_group_id=group.id, name=name, email=f"{local}@{domain}")
            )
    session.flush()
