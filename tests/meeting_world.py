"""One organisation in which every source of a meeting's proposed agenda has something to say.

Two fields (A: seven measures, B: three), each with a department and its head; a cycle 2026
and an older cycle 2025 still open for one measure; indicators on and off track; three
bodies (all fields, field B only, indicators only); an earlier meeting with decisions. The
clock is the conftest's: Monday 2 March 2026. This module seeds; it asserts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests import factories
from workflow.bodies import members, service
from workflow.bodies.models import Body, Meeting
from workflow.catalogue.models import Field, Goal, Measure
from workflow.cycles.models import Cycle, MeasureCycle, Review, TargetAgreement
from workflow.cycles.service import open_cycle
from workflow.db import unit_of_work
from workflow.deadlines import DeadlinePolicy
from workflow.decisions.models import Decision
from workflow.indicators.models import Indicator, IndicatorValue
from workflow.machine import Event
from workflow.runtime import Runtime
from workflow.transitions import apply_event

TODAY = date(2026, 3, 2)
SUBMITTED = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)


@dataclass
class World:
    organisation_id: int
    fields: dict[str, int]  # "A", "B" -> field id
    mc: dict[str, int]  # measure code -> measure_cycle id (2026; "A0007-2025" the old one)
    bodies: dict[str, int]  # "all", "fields", "indicators" -> body id
    indicators: dict[str, int]  # code -> id
    decisions: dict[str, int] = field(default_factory=dict)  # "open", "done", "later"
    earlier_meeting: int = 0
    meeting: dict[str, int] = field(default_factory=dict)  # scope -> a meeting on 2026-03-20
    heads: dict[str, str] = field(default_factory=dict)  # "A", "B" -> the head's address


def _move(s: Session, rt: Runtime, mc_id: int, *events: Event, **payload: str) -> None:
    for event in events:
        apply_event(
            session=s,
            clock=rt.clock,
            measure_cycle_id=mc_id,
            event=event.value,
            expected_version=None,
            actor="test",
            payload={"decision": "keep", "reason": "Test", **payload},
        )


def _review(s: Session, mc_id: int, proposal: str) -> None:
    s.add(
        Review(
            measure_cycle_id=mc_id,
            achievement="teilweise",
            proposal=proposal,
            proposal_text="Das Angebot läuft aus." if proposal == "drop" else "",
            submitted_at=SUBMITTED,
            submitted_by="contact:test",
        )
    )


def _indicator(
    s: Session, org_id: int, code: str, goal: Goal, values: list[float], direction: str = "up"
) -> Indicator:
    indicator = Indicator(
        organisation_id=org_id,
        code=code,
        statement=f"Kennzahl {code}",
        unit="percent",
        direction=direction,
        created_at=SUBMITTED,
        goals=[goal],
    )
    s.add(indicator)
    s.flush()
    for year, value in zip((2023, 2024, 2025), values, strict=True):
        s.add(
            IndicatorValue(
                organisation_id=org_id,
                indicator_id=indicator.id,
                survey_date=date(year, 12, 31),
                value=value,
                delivered_by="test",
                delivered_at=SUBMITTED,
            )
        )
    return indicator


def build(rt: Runtime) -> World:
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        factories.measures(s, org, 7, prefix="A")
        factories.measures(s, org, 3, prefix="B")
        fields = {f.code[0]: f.id for f in s.scalars(select(Field).order_by(Field.code))}
        cycle_id = open_cycle(session=s, clock=rt.clock, organisation_id=org.id, year=2026).cycle_id
        mc = {
            code: mc_id
            for code, mc_id in s.execute(
                select(Measure.code, MeasureCycle.id).join(
                    Measure, Measure.id == MeasureCycle.measure_id
                )
            )
        }
        # A0001 in Umsetzung, B0001 in Review: their fields report.
        _move(s, rt, mc["A0001"], Event.RECORD_INTERVIEW, Event.SUBMIT_AGREEMENT)
        _move(s, rt, mc["B0001"], Event.RECORD_INTERVIEW, Event.SUBMIT_AGREEMENT)
        _move(s, rt, mc["B0001"], Event.START_REVIEW)
        # A0002: the department proposes to drop it in its agreement.
        _move(s, rt, mc["A0002"], Event.RECORD_INTERVIEW)
        s.add(
            TargetAgreement(
                measure_cycle_id=mc["A0002"],
                decision="drop_proposed",
                reason="Das Land übernimmt das Angebot.",
                submitted_at=SUBMITTED,
                submitted_by="contact:test",
            )
        )
        # A0003: review submitted, waits to be accepted; A0004: its review proposes to drop.
        for code, proposal in (("A0003", "continue"), ("A0004", "drop")):
            _move(
                s,
                rt,
                mc[code],
                Event.RECORD_INTERVIEW,
                Event.SUBMIT_AGREEMENT,
                Event.START_REVIEW,
                Event.SUBMIT_REVIEW,
            )
            _review(s, mc[code], proposal)
        # A0005 escalated to the bodies (level 2 of the default policy), A0006 only to its head.
        _move(s, rt, mc["A0005"], Event.RECORD_INTERVIEW)
        _move(s, rt, mc["A0006"], Event.RECORD_INTERVIEW)
        for code, level in (("A0005", 2), ("A0006", 1)):
            s.execute(
                update(MeasureCycle)
                .where(MeasureCycle.id == mc[code])
                .values(escalation_level=level)
            )
        # B0002 was proposed for dropping and is dropped already: nothing to decide.
        _move(s, rt, mc["B0002"], Event.RECORD_INTERVIEW)
        s.add(
            TargetAgreement(
                measure_cycle_id=mc["B0002"],
                decision="drop_proposed",
                reason="erledigt",
                submitted_at=SUBMITTED,
                submitted_by="contact:test",
            )
        )
        _move(s, rt, mc["B0002"], Event.DROP)
        # An older cycle still open for A0007: its review waits to be accepted.
        old = Cycle(
            organisation_id=org.id,
            year=2025,
            starts_on=date(2025, 1, 1),
            ends_on=date(2025, 12, 31),
            opened_at=SUBMITTED,
            policy=DeadlinePolicy().model_dump(mode="json"),
        )
        s.add(old)
        s.flush()
        a7 = s.scalars(select(Measure).where(Measure.code == "A0007")).one()
        old_mc = MeasureCycle(
            organisation_id=org.id,
            cycle_id=old.id,
            measure_id=a7.id,
            state="assessment",
            entered_state_at=SUBMITTED,
            due_on=date(2026, 3, 13),
            stay=1,
        )
        s.add(old_mc)
        s.flush()
        _review(s, old_mc.id, "continue")
        mc["A0007-2025"] = old_mc.id
        assert cycle_id != old.id
        goals = {g.field_id: g for g in s.scalars(select(Goal))}
        indicators = {
            i.code: i.id
            for i in (
                _indicator(s, org.id, "K1", goals[fields["A"]], [40.0, 35.0, 30.0]),  # falls
                _indicator(s, org.id, "K2", goals[fields["A"]], [30.0, 35.0, 40.0]),  # rises
                _indicator(s, org.id, "K3", goals[fields["B"]], [50.0, 45.0, 40.0]),  # falls
            )
        }
        bodies = {
            "all": service.create_body(
                session=s, organisation_id=org.id, name="Steuerungsgruppe", kind="steering_group"
            ).id,
            "fields": service.create_body(
                session=s,
                organisation_id=org.id,
                name="Arbeitsgruppe Bildung",
                kind="working_group",
                scope="fields",
                field_ids=[fields["B"]],
            ).id,
            "indicators": service.create_body(
                session=s,
                organisation_id=org.id,
                name="Monitoringgruppe",
                kind="monitoring_group",
                scope="indicators",
            ).id,
        }
        steering = s.get(Body, bodies["all"])
        assert steering is not None
        members.add_member(
            session=s,
            body=steering,
            name="Dr. Sommer",
            email="sommer@stadt.example.org",
            today=date(2025, 1, 1),
            role="chair",
        )
        world = World(org.id, fields, mc, bodies, indicators)
        world.heads = {"A": "aleitung@stadt.example.org", "B": "bleitung@stadt.example.org"}
        earlier = Meeting(body_id=bodies["all"], held_on=date(2026, 1, 15))
        later = Meeting(body_id=bodies["all"], held_on=date(2026, 6, 10))
        other_body = Meeting(body_id=bodies["fields"], held_on=date(2026, 1, 20))
        s.add_all([earlier, later, other_body])
        s.flush()
        world.earlier_meeting = earlier.id
        for name, meeting, status in (
            ("open", earlier, "in_progress"),
            ("done", earlier, "done"),
            ("later", later, "open"),
            ("other_body", other_body, "open"),
        ):
            decision = Decision(
                organisation_id=org.id,
                meeting_id=meeting.id,
                kind="assignment",
                status=status,
                text=f"Bericht über die Sprachkurse ({name})",
                due_on=date(2026, 4, 30),
                created_at=SUBMITTED,
                created_by="test",
            )
            s.add(decision)
            s.flush()
            world.decisions[name] = decision.id
        for scope, body_id in bodies.items():
            meeting = Meeting(body_id=body_id, held_on=date(2026, 3, 20))
            s.add(meeting)
            s.flush()
            world.meeting[scope] = meeting.id
    return world
