"""The people a catalogue file does not name: department heads, bodies and their members.

Used by the demo and the simulation so that escalations and digests have someone to reach:
a Steuerungsgruppe (all fields, weekly digest) and a Begleitgremium (the first two fields,
a digest before each meeting) with one English-speaking member. All addresses are
fictional, under the catalogue's own (example) domain. Adds only what is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.bodies.models import (
    Body,
    BodyKind,
    BodyScope,
    DigestCadence,
    MemberRole,
    Represents,
)
from workflow.bodies.service import add_member, create_body
from workflow.catalogue.models import Contact, Department, Field, Organisation
from workflow.reports.german import code_key

# name, local part, represents, role, language; the first member of each body chairs it.
Person = tuple[str, str, Represents, MemberRole, str]
STEERING_MEMBERS: tuple[Person, ...] = (
    ("Dr. Henrike Sommer", "henrike.sommer", Represents.ADMINISTRATION, MemberRole.CHAIR, "de"),
    ("Murat Yilmaz", "murat.yilmaz", Represents.INTEGRATION_COUNCIL, MemberRole.MEMBER, "de"),
    ("Claudia Weber", "claudia.weber", Represents.ADMINISTRATION, MemberRole.MEMBER, "de"),
)
ADVISORY_MEMBERS: tuple[Person, ...] = (
    ("Ingrid Hoffmann", "ingrid.hoffmann", Represents.CIVIL_SOCIETY, MemberRole.CHAIR, "de"),
    ("Jonas Becker", "jonas.becker", Represents.COUNCIL_GROUP, MemberRole.MEMBER, "de"),
    ("Aylin Demir", "aylin.demir", Represents.INTEGRATION_COUNCIL, MemberRole.MEMBER, "de"),
    ("Grace Okafor", "grace.okafor", Represents.INTEGRATION_COUNCIL, MemberRole.MEMBER, "en"),
    ("Peter Schulz", "peter.schulz", Represents.ADMINISTRATION, MemberRole.MEMBER, "de"),
)
STEERING_GROUP = "Steuerungsgruppe Integration"
ADVISORY_BOARD = "Begleitgremium Integrationskonzept"
ADVISORY_FIELDS = 2  # the Begleitgremium follows the catalogue's first fields


@dataclass(frozen=True)
class BodyPlan:
    name: str
    kind: BodyKind
    members: tuple[Person, ...]
    rules: dict[str, int]
    cadence: DigestCadence
    some_fields: bool


BODIES: tuple[BodyPlan, ...] = (
    BodyPlan(
        STEERING_GROUP, BodyKind.STEERING_GROUP, STEERING_MEMBERS, {}, DigestCadence.WEEKLY, False
    ),
    BodyPlan(
        ADVISORY_BOARD,
        BodyKind.ADVISORY_BOARD,
        ADVISORY_MEMBERS,
        # Deliberately one short, so the demo shows the composition check.
        {Represents.CIVIL_SOCIETY.value: 2},
        DigestCadence.BEFORE_MEETING,
        True,
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
        first_fields = _first_fields(session, org.id)
        for plan in BODIES:
            fields = first_fields if plan.some_fields else []
            body = create_body(
                session=session,
                organisation_id=org.id,
                name=plan.name,
                kind=plan.kind.value,
                # Without fields (an empty catalogue) the Begleitgremium looks at all of them.
                scope=(BodyScope.SOME_FIELDS if fields else BodyScope.ALL_FIELDS).value,
                field_ids=fields,
                digest_cadence=plan.cadence.value,
                rules=plan.rules,
            )
            for person, local, represents, role, language in plan.members:
                add_member(
                    session=session,
                    body=body,
                    name=person,
                    email=f"{local}@{domain}",
                    language=language,
                    represents=represents.value,
                    role=role.value,
                    # Members since before the simulated or demonstrated time began.
                    joined_on=None,
                    today=date.min,
                )
    session.flush()


def _first_fields(session: Session, organisation_id: int) -> list[int]:
    fields = session.scalars(select(Field).where(Field.organisation_id == organisation_id)).all()
    return [f.id for f in sorted(fields, key=lambda f: code_key(f.code))[:ADVISORY_FIELDS]]
