"""A body with members, guests and one meeting, with an agenda item of every kind, for the
invitation and meeting-pack tests (issue 11, item 3). Rows are written directly: the agenda
service is someone else's subject."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from tests.dashboard_seed import EMAILS, Seed, seed
from workflow.accounts import Role
from workflow.bodies.models import Body, BodyKind, BodyMember, Meeting
from workflow.catalogue.heads import set_head
from workflow.catalogue.models import Field, Measure
from workflow.cycles.models import MeasureCycle, Review, TargetAgreement
from workflow.db import unit_of_work
from workflow.decisions.models import Decision
from workflow.indicators.models import IndicatorValue
from workflow.indicators.service import save_indicator
from workflow.meetings.models import AgendaItem, AgendaKind, MeetingGuest
from workflow.runtime import Runtime

MEETING_DAY = date(2026, 3, 18)  # the clock starts on Monday 2 March 2026, 10:00 in Berlin
HEAD_EMAIL = "ines.albers@stadt.example.org"
DROP_REASON = "Die Stelle der Lotsin ist seit Januar nicht besetzt."
ACHIEVEMENT_COMMENT = "Zwei von drei Kursen fanden statt."
DECISION_TEXT = "Die Verwaltung legt einen Zeitplan für die Sprachkurse vor."
INDICATOR_STATEMENT = "Arbeitslosenquote der Ausländerinnen und Ausländer sinkt"


@dataclass
class MeetingWorld:
    seed: Seed
    body_id: int
    meeting_id: int
    field_id: int
    field_code: str
    field_measures: list[str]  # codes of the field's measures in the cycle
    head_guest_id: int
    plain_guest_id: int
    drop_item: int  # measure-in-cycle with a drop proposal
    review_item: int
    escalated_item: int
    indicator_id: int
    decision_id: int
    members: dict[str, str] = field(default_factory=dict)  # email -> language, invited ones


def build_world(
    rt: Runtime, *, meeting_day: date = MEETING_DAY, starts_at: str = "17:00"
) -> MeetingWorld:
    s = seed(rt)
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as session:
        body = Body(
            organisation_id=s.organisation_id,
            name="Steuerungsgruppe Integration",
            kind=BodyKind.STEERING_GROUP.value,
        )
        session.add(body)
        session.flush()
        members = [
            BodyMember(
                body_id=body.id,
                name="Petra Vorsitz",
                email=EMAILS[Role.STEERING],
                language="de",
                role="chair",
                represents="administration",
                user_id=s.user_ids[Role.STEERING],
            ),
            BodyMember(
                body_id=body.id,
                name="John Miller",
                email="john.miller@verein.example.org",
                language="en",
                represents="civil_society",
                represents_name="Verein Brücken e. V.",
            ),
            # Left before the meeting, and joins after it: neither is invited.
            BodyMember(
                body_id=body.id,
                name="Ehemalige Person",
                email="ehemalig@verein.example.org",
                joined_on=date(2024, 1, 1),
                left_on=meeting_day - timedelta(days=30),
            ),
            BodyMember(
                body_id=body.id,
                name="Künftige Person",
                email="kuenftig@verein.example.org",
                joined_on=meeting_day + timedelta(days=1),
            ),
        ]
        session.add_all(members)
        earlier = Meeting(body_id=body.id, held_on=date(2025, 11, 20), title="Herbstsitzung")
        meeting = Meeting(
            body_id=body.id,
            held_on=meeting_day,
            starts_at=starts_at or None,
            place="Rathaus, Sitzungssaal 2",
            title="Frühjahrssitzung",
        )
        session.add_all([earlier, meeting])
        session.flush()
        items = _items(session, s)
        first = items[0]
        field_row = first.measure.goal.field
        head = set_head(
            session=session,
            organisation_id=s.organisation_id,
            department_id=first.measure.department_id,
            name="Dr. Ines Albers",
            email=HEAD_EMAIL,
        )
        assert head is not None
        head_guest = MeetingGuest(
            meeting_id=meeting.id,
            name="Dr. Ines Albers",
            email=HEAD_EMAIL,
            language="en",
            field_id=field_row.id,
            contact_id=head.id,
        )
        plain_guest = MeetingGuest(
            meeting_id=meeting.id, name="Gabi Gast", email="gabi.gast@example.org", language="de"
        )
        session.add_all([head_guest, plain_guest])
        drop, review, escalated = items[0], items[1], items[2]
        session.add(
            TargetAgreement(
                measure_cycle_id=drop.id,
                decision="drop_proposed",
                reason=DROP_REASON,
                submitted_at=now,
                submitted_by="contact:1",
            )
        )
        session.add(
            TargetAgreement(
                measure_cycle_id=review.id,
                decision="implement",
                targets="Drei Sprachkurse für Eltern",
                submitted_at=now - timedelta(days=300),
                submitted_by="contact:1",
            )
        )
        session.add(
            Review(
                measure_cycle_id=review.id,
                achievement="teilweise",
                comment=ACHIEVEMENT_COMMENT,
                proposal="continue",
                submitted_at=now,
                submitted_by="contact:1",
            )
        )
        session.add(
            OutboxMessage(
                organisation_id=s.organisation_id,
                dedupe_key="test:escalated:reminder",
                kind="reminder",
                recipient_email="kontakt@stadt.example.org",
                recipient_name="Sabine Krüger",
                measure_cycle_id=escalated.id,
                context={},
                status="sent",
                created_at=now - timedelta(days=20),
                not_before=now - timedelta(days=20),
                sent_at=now - timedelta(days=20),
            )
        )
        indicator, _ = save_indicator(
            session,
            organisation_id=s.organisation_id,
            code="A-K1",
            values={
                "statement": INDICATOR_STATEMENT,
                "unit": "percent",
                "direction": "down",
                "target_value": 9.5,
                "due_months": [3],
                "due_day": 20,
                "lead_days": 28,
                "source_label": "Agentur für Arbeit",
                "districts": [],
            },
            goal_ids=[],
            measure_ids=[],
            now=now - timedelta(days=800),
        )
        for year, value in ((2023, 11.2), (2024, 12.4), (2025, 13.7)):
            session.add(
                IndicatorValue(
                    organisation_id=s.organisation_id,
                    indicator_id=indicator.id,
                    survey_date=date(year, 12, 31),
                    value=value,
                    delivered_by="test",
                    delivered_at=now - timedelta(days=30),
                )
            )
        decision = Decision(
            organisation_id=s.organisation_id,
            meeting_id=earlier.id,
            kind="assignment",
            status="in_progress",
            text=DECISION_TEXT,
            due_on=date(2026, 3, 31),
            created_at=now - timedelta(days=100),
            created_by="test",
        )
        session.add(decision)
        session.flush()
        agenda = [
            (AgendaKind.FIELD_REPORT, f"Bericht Handlungsfeld {field_row.code}", {"field_id": field_row.id}),
            (AgendaKind.DROP_PROPOSAL, "Streichungsvorschlag", {"measure_cycle_id": drop.id}),
            (AgendaKind.REVIEW_ACCEPTANCE, "Zielerreichung annehmen", {"measure_cycle_id": review.id}),
            (AgendaKind.ESCALATION, "Eskalierter Vorgang", {"measure_cycle_id": escalated.id}),
            (AgendaKind.INDICATOR_OFF_TRACK, "Kennzahl A-K1", {"indicator_id": indicator.id}),
            (AgendaKind.OPEN_DECISION, "Offener Auftrag", {"decision_id": decision.id}),
            (AgendaKind.OTHER, "Verschiedenes", {}),
        ]  # fmt: skip
        for position, (kind, title, refs) in enumerate(agenda, 1):
            session.add(
                AgendaItem(
                    meeting_id=meeting.id, position=position, kind=kind.value, title=title, **refs
                )
            )
        field_codes = [
            mc.measure.code for mc in _items(session, s) if mc.measure.goal.field_id == field_row.id
        ]
        return MeetingWorld(
            seed=s,
            body_id=body.id,
            meeting_id=meeting.id,
            field_id=field_row.id,
            field_code=field_row.code,
            field_measures=field_codes,
            head_guest_id=head_guest.id,
            plain_guest_id=plain_guest.id,
            drop_item=drop.id,
            review_item=review.id,
            escalated_item=escalated.id,
            indicator_id=indicator.id,
            decision_id=decision.id,
            members={
                EMAILS[Role.STEERING]: "de",
                "john.miller@verein.example.org": "en",
                HEAD_EMAIL: "en",
                "gabi.gast@example.org": "de",
            },
        )


def _items(session: Session, s: Seed) -> list[MeasureCycle]:
    return list(
        session.scalars(
            select(MeasureCycle)
            .join(Measure, Measure.id == MeasureCycle.measure_id)
            .where(MeasureCycle.cycle_id == s.cycle_id)
            .order_by(Measure.code)
        )
    )


def field_of(session: Session, field_id: int) -> Field:
    found = session.get(Field, field_id)
    assert found is not None
    return found
