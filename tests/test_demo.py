"""``zielflow demo``'s data: two bodies with members, a past meeting of the Steuerungsgruppe
with attendance, minutes and decisions, an upcoming one with its proposed agenda stored; an
answered and an open status check with milestones; and preparing again adds only what is
missing.

The serving demo itself (subprocesses, pages, SIGINT) is tests/test_cli.py's.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from workflow.bodies.models import Body, BodyMember, Meeting
from workflow.catalogue.models import Organisation
from workflow.clock import FrozenClock
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import AuditEvent, MeasureCycle, TargetAgreement
from workflow.decisions.models import Decision
from workflow.demo import prepare
from workflow.meetings.agenda import propose_agenda
from workflow.meetings.models import AgendaItem, MeetingAttendance
from workflow.milestones.models import Milestone
from workflow.runtime import Runtime
from workflow.status_checks.models import StatusCheck, StatusCheckItem

TABLES = (Body, BodyMember, Meeting, AgendaItem, MeetingAttendance, Decision, AuditEvent)


def _counts(rt: Runtime) -> dict[str, int]:
    with rt.sessions() as s:
        return {
            t.__tablename__: int(s.scalar(select(func.count()).select_from(t)) or 0) for t in TABLES
        }


def _steering_meetings(rt: Runtime) -> tuple[list[Meeting], Any]:
    with rt.sessions() as s:
        org = s.scalars(select(Organisation)).one()
        today = calendar_of(org).local_date(rt.clock.now())
        group = s.scalars(select(Body).where(Body.kind == "steering_group")).one()
        meetings = list(
            s.scalars(select(Meeting).where(Meeting.body_id == group.id).order_by(Meeting.held_on))
        )
        s.expunge_all()
    return meetings, today


def test_demo_has_bodies_a_past_meeting_with_decisions_and_a_proposed_agenda(
    rt: Runtime, clock: FrozenClock
) -> None:
    prepare(None, clock.now())
    with rt.sessions() as s:
        bodies = {b.kind: b for b in s.scalars(select(Body))}
        assert set(bodies) == {"steering_group", "advisory_board"}
        members = {
            kind: s.scalars(select(BodyMember).where(BodyMember.body_id == b.id)).all()
            for kind, b in bodies.items()
        }
        assert len(members["steering_group"]) >= 3 and len(members["advisory_board"]) >= 4
        assert "en" in {m.language for m in members["advisory_board"]}
    past, upcoming = _split(rt)

    with rt.sessions() as s:
        # Attendance of every member of the day, one absent; minutes for the items.
        attendance = dict(
            s.execute(
                select(MeetingAttendance.member_id, MeetingAttendance.present).where(
                    MeetingAttendance.meeting_id == past.id
                )
            ).all()
        )
        assert len(attendance) == len(members["steering_group"])
        assert sorted(attendance.values()) == [False] + [True] * (len(attendance) - 1)
        agenda = s.scalars(select(AgendaItem).where(AgendaItem.meeting_id == past.id)).all()
        assert len(agenda) >= 3 and all(i.minutes for i in agenda if i.kind != "field_report")
        assert s.get(Meeting, past.id).notes  # type: ignore[union-attr]

        decisions = s.scalars(select(Decision).where(Decision.meeting_id == past.id)).all()
        assert Counter(d.kind for d in decisions) == {
            "resolution": 1,
            "recommendation": 1,
            "assignment": 2,
        }
        [drop] = [d for d in decisions if d.kind == "resolution"]
        assert (drop.action, drop.status) == ("drop_measure", "done")
        dropped = s.get(MeasureCycle, drop.measure_cycle_id)
        assert dropped is not None and dropped.state == "dropped"
        agreement = s.scalars(
            select(TargetAgreement).where(TargetAgreement.measure_cycle_id == dropped.id)
        ).one()
        assert agreement.decision == "drop_proposed" and agreement.submitted_at is not None
        moved = s.scalars(
            select(AuditEvent).where(
                AuditEvent.measure_cycle_id == dropped.id, AuditEvent.to_state == "dropped"
            )
        ).one()
        assert moved.actor == f"meeting:{past.id}"
        [answered] = [d for d in decisions if d.kind == "assignment" and d.answered_at]
        assert answered.status == "done" and answered.answer
        assert answered.answered_by == f"contact:{answered.contact_id}"
        [still_open] = [d for d in decisions if d.kind == "assignment" and not d.answered_at]
        assert still_open.status == "open" and still_open.due_on is not None
        [recommended] = [d for d in decisions if d.kind == "recommendation"]
        assert recommended.addressee == "council"
        # The story happened on its days: the meeting before the decisions, the answer after.
        assert drop.created_at.date() >= past.held_on
        assert answered.answered_at is not None and answered.answered_at > answered.created_at

        # The upcoming meeting's agenda is the proposal, stored, then the coordinator's items.
        stored = s.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == upcoming.id)
            .order_by(AgendaItem.position)
        ).all()
        proposal = propose_agenda(session=s, meeting_id=upcoming.id, now=clock.now())
        assert [(i.kind, i.decision_id, i.indicator_id) for i in stored[: len(proposal)]] == [
            (p.kind, p.decision_id, p.indicator_id) for p in proposal
        ]
        carried = {i.decision_id for i in stored if i.kind == "open_decision"}
        assert carried == {recommended.id, still_open.id}
        assert [i.kind for i in stored[len(proposal) :]] == ["other", "other"]

        # A status check its contact answered (one measure delayed, its milestone moved, one on
        # track, a milestone confirmed) and one still open, due ahead, nobody answered yet.
        answered_check, open_check = s.scalars(select(StatusCheck).order_by(StatusCheck.id))
        items = s.scalars(select(StatusCheckItem)).all()
        by_check = {c.id: [it for it in items if it.status_check_id == c.id]
                    for c in (answered_check, open_check)}  # fmt: skip
        assert sorted(it.stand for it in by_check[answered_check.id]) == ["delayed", "on_track"]
        assert all(it.answered_by.startswith("contact:") for it in by_check[answered_check.id])
        assert open_check.due_on > clock.now().date() and open_check.closed_at is None
        assert by_check[open_check.id] and not any(it.answered_at for it in by_check[open_check.id])
        stays = {it.measure_cycle_id for it in by_check[answered_check.id]}
        milestones = s.scalars(select(Milestone).where(Milestone.measure_cycle_id.in_(stays))).all()
        assert sorted((m.status, m.moves) for m in milestones) == [
            ("open", 0), ("open", 0), ("open", 1), ("reached", 0),
        ]  # fmt: skip


def _split(rt: Runtime) -> tuple[Meeting, Meeting]:
    meetings, today = _steering_meetings(rt)
    [past] = [m for m in meetings if m.held_on < today]
    [upcoming] = [m for m in meetings if m.held_on >= today]
    assert timedelta(days=7) <= today - past.held_on <= timedelta(days=21)
    return past, upcoming


def test_preparing_again_adds_only_an_upcoming_meeting_when_none_is_ahead(
    rt: Runtime, clock: FrozenClock
) -> None:
    prepare(None, clock.now())
    first = _counts(rt)
    prepare(None, clock.now())
    assert _counts(rt) == first
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(MeasureCycle).where(
            MeasureCycle.state == "initial_interview"
        )) == 33  # fmt: skip  (two of 36 are in the status checks' story, one was dropped)

    clock.advance(timedelta(days=30))  # the upcoming meeting is over now
    prepare(None, clock.now())
    meetings, today = _steering_meetings(rt)
    assert len(meetings) == 3
    [ahead] = [m for m in meetings if m.held_on >= today]
    later = _counts(rt)
    assert later["decision"] == first["decision"]
    assert later["meeting"] == first["meeting"] + 1
    with rt.sessions() as s:
        assert s.scalars(select(AgendaItem).where(AgendaItem.meeting_id == ahead.id)).first()
