"""The set-up warnings (workflow/readiness.py): who escalations cannot reach, per organisation."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests import factories
from workflow.bodies.service import add_member, create_body
from workflow.catalogue.models import Contact, Department, MeasureStatus
from workflow.db import unit_of_work
from workflow.readiness import Finding, SetupWarning, check
from workflow.runtime import Runtime

TODAY = date(2026, 3, 2)


def test_findings_name_departments_and_bodies_of_this_organisation_only(rt: Runtime) -> None:
    with unit_of_work(rt.sessions) as s:
        org, other = factories.organisation(s, "eigene"), factories.organisation(s, "andere")
        factories.measures(s, org, 1, prefix="A")  # keeps its head
        headless = factories.measures(s, org, 1, prefix="B")
        retired = factories.measures(s, org, 1, prefix="C")
        for email in ("bleitung@stadt.example.org", "cleitung@stadt.example.org"):
            s.scalars(select(Contact).where(Contact.email == email)).one().is_head = False
        retired[0].status = MeasureStatus.DROPPED.value  # a department without work needs no head
        s.add(Department(organisation_id=org.id, name="Amt ohne Maßnahmen"))
        theirs = create_body(
            session=s, organisation_id=other.id, name="Steuerungsgruppe", kind="steering_group"
        )
        advisory = create_body(
            session=s, organisation_id=org.id, name="Begleitgremium", kind="advisory_board"
        )
        add_member(
            session=s,
            body=advisory,
            name="Künftig",
            email="k@x.example.org",
            today=TODAY,
            joined_on=date(2026, 4, 1),
        )
        s.flush()
        assert check(s, organisation_id=org.id, today=TODAY) == [
            SetupWarning(
                Finding.DEPARTMENT_WITHOUT_HEAD, "B Amt für Schule", headless[0].department_id
            ),
            SetupWarning(Finding.NO_STEERING_BODY),
            SetupWarning(Finding.BODY_WITHOUT_MEMBERS, "Begleitgremium", advisory.id),
        ]
        # From the member's first day on, the body has someone; the other organisation's
        # Steuerungsgruppe is not this one's.
        assert check(s, organisation_id=org.id, today=date(2026, 4, 1))[1:] == [
            SetupWarning(Finding.NO_STEERING_BODY)
        ]
        assert check(s, organisation_id=other.id, today=TODAY) == [
            SetupWarning(Finding.BODY_WITHOUT_MEMBERS, "Steuerungsgruppe", theirs.id)
        ]
