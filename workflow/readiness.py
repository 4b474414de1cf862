"""Is an organisation set up for escalations to reach someone? Reads only; never fixes anything.

Used by ``zielflow open-cycle`` and the dashboard's start page. Each finding is a code and
the name it concerns; the caller words it in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from workflow.bodies.models import Body, BodyKind, BodyMember
from workflow.bodies.queries import is_current_clause
from workflow.catalogue.models import Contact, Department, Measure, MeasureStatus


class Finding(StrEnum):
    # Escalation step 1 goes to the head; without one it is only recorded.
    DEPARTMENT_WITHOUT_HEAD = "department_without_head"
    # Escalation step 2 goes to the Steuerungsgruppe's digest.
    NO_STEERING_BODY = "no_steering_body"
    BODY_WITHOUT_MEMBERS = "body_without_members"


@dataclass(frozen=True)
class SetupWarning:
    finding: Finding
    name: str = ""  # the department's or body's name; empty for the organisation as a whole
    ref: int | None = None  # the department's or body's id, for a link to where it is fixed


def check(session: Session, *, organisation_id: int, today: date) -> list[SetupWarning]:
    """Departments owning an active measure but no head, a missing Steuerungsgruppe, and
    bodies without a current member: in that order, each sorted by name."""
    headless = session.execute(
        select(Department.id, Department.name)
        .where(
            Department.organisation_id == organisation_id,
            exists().where(
                Measure.department_id == Department.id,
                Measure.status == MeasureStatus.ACTIVE.value,
            ),
            ~exists().where(Contact.department_id == Department.id, Contact.is_head.is_(True)),
        )
        .order_by(Department.name)
    ).all()
    out = [SetupWarning(Finding.DEPARTMENT_WITHOUT_HEAD, d.name, d.id) for d in headless]
    bodies = session.execute(
        select(Body.name, Body.kind)
        .where(Body.organisation_id == organisation_id)
        .order_by(Body.name)
    ).all()
    if not any(b.kind == BodyKind.STEERING_GROUP.value for b in bodies):
        out.append(SetupWarning(Finding.NO_STEERING_BODY))
    empty = session.execute(
        select(Body.id, Body.name)
        .where(
            Body.organisation_id == organisation_id,
            ~exists().where(BodyMember.body_id == Body.id, *is_current_clause(today)),
        )
        .order_by(Body.name)
    ).all()
    out += [SetupWarning(Finding.BODY_WITHOUT_MEMBERS, b.name, b.id) for b in empty]
    return out
