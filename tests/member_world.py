"""A body whose member signs in with the steering account, for the tests of /mein-gremium and of
status requests: the example catalogue and its 2026 cycle (tests/dashboard_seed.py), a body
responsible for field B, one 2025 stay of B1.1 with a review, and helpers that escalate a measure
and plan a meeting with agenda and decisions by inserting rows (the meeting and decision
services are built elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update

from tests.dashboard_seed import EMAILS, Seed, seed
from workflow.accounts import Role, User
from workflow.bodies.members import add_member
from workflow.bodies.models import BodyKind, BodyScope, Meeting
from workflow.bodies.service import create_body
from workflow.catalogue.models import Field, Measure, Organisation
from workflow.cycles.models import Cycle, MeasureCycle, Review, TargetAgreement
from workflow.db import unit_of_work
from workflow.deadlines import DeadlinePolicy
from workflow.decisions.models import Decision
from workflow.meetings.models import AgendaItem
from workflow.runtime import Runtime

MEMBER = "Petra Sommer"
BODY = "Begleitgremium Integration"
OFFICE_EMAIL = "integration@musterstadt.example.org"
TARGETS = "Zwei Sprachkurse je Halbjahr\nmindestens 30 Teilnehmende & <Warteliste>"
OBSTACLES = "Raumnot in zwei Kitas"


@dataclass
class MemberWorld:
    seed: Seed
    body_id: int
    field_a: int
    field_b: int
    item_a: int  # A1.1 in 2026 (field A: outside the body's scope)
    item_b: int  # B1.1 in 2026 (field B: inside)
    item_b2: int  # B1.2 in 2026
    old_item_b: int  # B1.1 in 2025, with a review
    contact_b: str  # the email of B1.1's contact

    @property
    def steering_id(self) -> int:
        return self.seed.user_ids[Role.STEERING]

    @property
    def org_id(self) -> int:
        return self.seed.organisation_id


def _item(session: object, cycle_id: int, code: str) -> MeasureCycle:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    return session.scalars(
        select(MeasureCycle)
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .where(MeasureCycle.cycle_id == cycle_id, Measure.code == code)
    ).one()


def build(rt: Runtime, *, scope: str = BodyScope.SOME_FIELDS.value) -> MemberWorld:
    s = seed(rt)
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as session:
        org = session.get(Organisation, s.organisation_id)
        assert org is not None
        org.contact_email = OFFICE_EMAIL
        fields = {
            f.code: f.id
            for f in session.scalars(select(Field).where(Field.organisation_id == org.id))
        }
        body = create_body(
            session=session,
            organisation_id=org.id,
            name=BODY,
            kind=BodyKind.ADVISORY_BOARD.value,
            scope=scope,
            field_ids=[fields["B"]] if scope == BodyScope.SOME_FIELDS.value else [],
        )
        steering = session.get(User, s.user_ids[Role.STEERING])
        assert steering is not None
        steering.name = MEMBER
        # The member's address is the account's: add_member links the two.
        member = add_member(
            session=session,
            body=body,
            name=MEMBER,
            email=EMAILS[Role.STEERING],
            today=now.date() - timedelta(days=30),
        )
        assert member.user_id == steering.id
        item_a = _item(session, s.cycle_id, "A1.1")
        item_b = _item(session, s.cycle_id, "B1.1")
        item_b2 = _item(session, s.cycle_id, "B1.2")
        assert item_b.measure.contact is not None
        session.add(
            TargetAgreement(
                measure_cycle_id=item_b.id,
                decision="implement",
                targets=TARGETS,
                milestones=[{"text": "Kursstart", "date": "2026-06-01"}],
                responsible="Katharina Schäfer",
                submitted_at=now,
                submitted_by="t",
            )
        )
        earlier = Cycle(
            organisation_id=org.id,
            year=2025,
            starts_on=date(2025, 1, 1),
            ends_on=date(2025, 12, 31),
            opened_at=now - timedelta(days=400),
            policy=DeadlinePolicy().model_dump(mode="json"),
        )
        session.add(earlier)
        session.flush()
        old = MeasureCycle(
            organisation_id=org.id,
            cycle_id=earlier.id,
            measure_id=item_b.measure_id,
            state="completed",
            entered_state_at=now - timedelta(days=100),
        )
        session.add(old)
        session.flush()
        session.add(
            Review(
                measure_cycle_id=old.id,
                achievement="teilweise",
                comment="Ein Kurs ist ausgefallen.",
                obstacles=OBSTACLES,
                proposal="continue",
                submitted_at=now - timedelta(days=120),
                submitted_by="t",
            )
        )
        return MemberWorld(
            seed=s,
            body_id=body.id,
            field_a=fields["A"],
            field_b=fields["B"],
            item_a=item_a.id,
            item_b=item_b.id,
            item_b2=item_b2.id,
            old_item_b=old.id,
            contact_b=item_b.measure.contact.email,
        )


def escalate(rt: Runtime, item: int, *, level: int = 2, days_overdue: int = 30) -> None:
    """As the sweep leaves a measure whose agreement is overdue: level 2 reached the steering
    group under the default policy (head after 7 days, steering group after 21)."""
    today = rt.clock.now().date()
    with unit_of_work(rt.sessions) as session:
        session.execute(
            update(MeasureCycle)
            .where(MeasureCycle.id == item)
            .values(
                state="target_agreement",
                due_on=today - timedelta(days=days_overdue),
                escalation_level=level,
            )
        )


def plan_meeting(
    rt: Runtime,
    body_id: int,
    held_on: date,
    *,
    agenda: tuple[str, ...] = (),
    starts_at: str | None = "16:00",
    place: str = "Rathaus, Sitzungssaal 2",
) -> int:
    """A meeting with its agenda items, entered in reverse order: the page sorts by position."""
    with unit_of_work(rt.sessions) as session:
        meeting = Meeting(
            body_id=body_id,
            held_on=held_on,
            title="",
            starts_at=starts_at,
            place=place,
            notes="",
        )
        session.add(meeting)
        session.flush()
        for position, title in reversed(list(enumerate(agenda, start=1))):
            session.add(AgendaItem(meeting_id=meeting.id, position=position, title=title))
        return meeting.id


def decide(
    rt: Runtime,
    org_id: int,
    meeting_id: int,
    text: str,
    *,
    kind: str = "assignment",
    status: str = "open",
    due_on: date | None = None,
) -> int:
    with unit_of_work(rt.sessions) as session:
        decision = Decision(
            organisation_id=org_id,
            meeting_id=meeting_id,
            kind=kind,
            status=status,
            text=text,
            due_on=due_on,
            created_at=rt.clock.now(),
            created_by="test",
        )
        session.add(decision)
        session.flush()
        return decision.id
