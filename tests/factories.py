"""Small builders of catalogue rows for tests that do not go through an import."""

from __future__ import annotations

from sqlalchemy.orm import Session

from workflow.catalogue.models import Contact, Department, Field, Goal, Measure, Organisation


def organisation(session: Session, slug: str = "teststadt") -> Organisation:
    org = Organisation(slug=slug, name=f"Stadt {slug}", state="NW", timezone="Europe/Berlin")
    session.add(org)
    session.flush()
    return org


def measures(
    session: Session, org: Organisation, count: int, *, contacts: int = 1, prefix: str = "M"
) -> list[Measure]:
    field = Field(organisation_id=org.id, code=f"{prefix}F", name="Bildung und Sprache")
    session.add(field)
    session.flush()
    goal = Goal(
        organisation_id=org.id,
        field_id=field.id,
        code=f"{prefix}G1",
        name="Frühe Förderung",
        rank=1,
    )
    dept = Department(organisation_id=org.id, name=f"{prefix} Amt für Schule")
    session.add_all([goal, dept])
    session.flush()
    people = [
        Contact(
            organisation_id=org.id,
            department_id=dept.id,
            name=f"Kontakt {i}",
            email=f"{prefix.lower()}kontakt{i}@stadt.example.org",
        )
        for i in range(contacts)
    ]
    head = Contact(
        organisation_id=org.id,
        department_id=dept.id,
        name="Amtsleitung",
        email=f"{prefix.lower()}leitung@stadt.example.org",
        is_head=True,
    )
    session.add_all([*people, head])
    session.flush()
    out = [
        Measure(
            organisation_id=org.id,
            goal_id=goal.id,
            department_id=dept.id,
            contact_id=people[i % contacts].id,
            code=f"{prefix}{i + 1:04d}",
            title=f"Maßnahme {i + 1}",
        )
        for i in range(count)
    ]
    session.add_all(out)
    session.flush()
    return out
