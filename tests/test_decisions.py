"""The decisions register (issue 11, item 4): every rule of the service, on SQLite and PostgreSQL.

Each kind's checks; a Beschluss that drops a measure or accepts a review moves it through
the machine with the meeting as the actor; a refused move names the allowed events; a rank
change and an applied Änderungsvorschlag change the catalogue and are audited with the
decision as the reason; status changes; what stays open for the next meeting.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.decision_text import error_text
from tests.decision_support import EARLIER, LATER, World, add_meeting, build, to_assessment
from workflow.bodies.models import BodyKind
from workflow.bodies.service import create_body
from workflow.catalogue.models import Contact, Department, Goal, Measure
from workflow.catalogue.service import ensure_organisation
from workflow.cycles.models import AuditEvent, MeasureCycle, Review
from workflow.db import unit_of_work
from workflow.decisions import queries, service
from workflow.decisions.errors import DecisionError
from workflow.decisions.models import Decision
from workflow.runtime import Runtime


def _refused(code: str, action: Callable[[], Any]) -> DecisionError:
    with pytest.raises(DecisionError) as caught:
        action()
    assert caught.value.code == code, caught.value
    return caught.value


def _record(rt: Runtime, session: Session, world: World, **kw: Any) -> Decision:
    return service.record_decision(
        session=session,
        clock=rt.clock,
        meeting_id=kw.pop("meeting_id", world.meeting_id),
        kind=kw.pop("kind", "resolution"),
        text=kw.pop("text", "Die Steuerungsgruppe beschließt."),
        actor=kw.pop("actor", "user:7"),
        **kw,
    )


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Decision)) or 0


def _contact(session: Session, world: World) -> Contact:
    return session.scalars(
        select(Contact)
        .where(Contact.organisation_id == world.organisation_id)
        .order_by(Contact.id)
        .limit(1)
    ).one()


# --- Beschluss ------------------------------------------------------------------------------


def test_a_resolution_that_drops_a_measure_moves_it_with_the_meeting_as_actor(rt: Runtime) -> None:
    world = build(rt)
    item = world.seed.item_ids[0]
    with unit_of_work(rt.sessions) as s:
        decision = _record(
            rt,
            s,
            world,
            action="drop_measure",
            measure_cycle_id=item,
            agenda_item_id=world.agenda_item_id,
            text="Die Maßnahme wird nicht weiterverfolgt: kein Träger mehr.",
        )
        decision_id = decision.id
    with rt.sessions() as s:
        mc = s.get(MeasureCycle, item)
        assert mc is not None and mc.state == "dropped" and mc.measure.status == "dropped"
        audit = s.scalars(
            select(AuditEvent).where(
                AuditEvent.measure_cycle_id == item, AuditEvent.event == "drop"
            )
        ).one()
        assert audit.actor == f"meeting:{world.meeting_id}"
        assert audit.payload == {
            "reason": "Die Maßnahme wird nicht weiterverfolgt: kein Träger mehr.",
            "decision_id": decision_id,
        }
        stored = s.get(Decision, decision_id)
        assert stored is not None
        assert (stored.status, stored.applied_by, stored.status_changed_by) == (
            "done",
            "user:7",
            "user:7",
        )
        assert stored.applied_at is not None and stored.measure_id == mc.measure_id
        assert stored.agenda_item_id == world.agenda_item_id
        # The audit actor reads as a sentence: which body met on which day.
        refs = queries.meeting_refs(s, organisation_id=world.organisation_id, actors=[audit.actor])
        ref = refs[audit.actor]
        assert (ref.body_name, ref.held_on) == ("Steuerungsgruppe Integration", EARLIER)


def test_a_resolution_accepts_a_submitted_review(rt: Runtime) -> None:
    world = build(rt)
    item = world.seed.item_ids[1]
    with unit_of_work(rt.sessions) as s:
        to_assessment(s, rt.clock, item)
    with unit_of_work(rt.sessions) as s:
        _record(rt, s, world, action="accept_review", measure_cycle_id=item, text="Angenommen.")
    with rt.sessions() as s:
        assert s.get(MeasureCycle, item).state == "replanning"  # type: ignore[union-attr]
        review = s.scalars(select(Review).where(Review.measure_cycle_id == item)).one()
        assert review.accepted_at is not None
        audit = s.scalars(
            select(AuditEvent).where(
                AuditEvent.measure_cycle_id == item, AuditEvent.event == "accept_review"
            )
        ).one()
        assert audit.actor == f"meeting:{world.meeting_id}"


def test_a_move_the_machine_refuses_names_the_allowed_events_and_writes_nothing(
    rt: Runtime,
) -> None:
    world = build(rt)
    item = world.seed.item_ids[0]  # still at the Erstgespräch: no review to accept
    with unit_of_work(rt.sessions) as s:
        refused = _refused(
            "move_refused",
            lambda: _record(rt, s, world, action="accept_review", measure_cycle_id=item),
        )
        assert refused.params["state"] == "initial_interview"
        assert set(refused.params["allowed"].split(", ")) == {
            "record_interview",
            "extend_deadline",
            "defer",
            "drop",
        }
        assert _count(s) == 0
    text = error_text(refused, "de")
    assert "Erstgespräch" in text and "Rückmeldung annehmen" in text and "Streichen" in text
    assert "Drop" in error_text(refused, "en")


def test_a_resolution_needs_a_known_action_and_for_a_move_the_measure(rt: Runtime) -> None:
    world = build(rt)
    with unit_of_work(rt.sessions) as s:
        _refused("unknown_action", lambda: _record(rt, s, world, action="abolish"))
        _refused("measure_cycle_required", lambda: _record(rt, s, world, action="drop_measure"))
        _refused(
            "measure_cycle_not_found",
            lambda: _record(rt, s, world, action="drop_measure", measure_cycle_id=2**31 - 1),
        )
        _refused("measure_required", lambda: _record(rt, s, world, action="change_rank"))
        # Without an action it is only recorded, and stays open until someone closes it.
        plain = _record(rt, s, world, text="Die Sitzung im Herbst findet im Jobcenter statt.")
        assert (plain.status, plain.action, plain.applied_at) == ("open", "", None)


def test_a_resolution_changes_a_goals_rank_audited_with_the_decision(rt: Runtime) -> None:
    world = build(rt)
    item = world.seed.item_ids[0]
    with unit_of_work(rt.sessions) as s:
        measure_id = s.get(MeasureCycle, item).measure_id  # type: ignore[union-attr]
        _refused(
            "rank_invalid",
            lambda: _record(
                rt, s, world, action="change_rank", measure_id=measure_id, action_value="5"
            ),
        )
        decision = _record(
            rt,
            s,
            world,
            action="change_rank",
            measure_id=measure_id,
            action_value="3",
            text="Das Ziel tritt hinter die Sprachförderung zurück.",
        )
        decision_id = decision.id
    with rt.sessions() as s:
        measure = s.get(Measure, measure_id)
        assert measure is not None
        goal = s.get(Goal, measure.goal_id)
        assert goal is not None and goal.rank == 3
        audit = s.scalars(select(AuditEvent).where(AuditEvent.event == "change_rank")).one()
        assert audit.measure_cycle_id == item
        assert audit.actor == f"meeting:{world.meeting_id}"
        assert audit.payload["decision_id"] == decision_id
        assert (audit.payload["from_rank"], audit.payload["to_rank"]) == (1, 3)
        stored = s.get(Decision, decision_id)
        assert stored is not None and stored.status == "done" and stored.action_value == "3"


# --- Empfehlung, Auftrag --------------------------------------------------------------------


def test_a_recommendation_names_its_addressee_and_a_department_when_it_goes_to_one(
    rt: Runtime,
) -> None:
    world = build(rt)
    with unit_of_work(rt.sessions) as s:
        kind = {"kind": "recommendation"}
        _refused("unknown_addressee", lambda: _record(rt, s, world, **kind))
        _refused("unknown_addressee", lambda: _record(rt, s, world, addressee="mayor", **kind))
        _refused(
            "department_required", lambda: _record(rt, s, world, addressee="department", **kind)
        )
        other = ensure_organisation(s, slug="nachbarstadt", name="Nachbarstadt")
        foreign = Department(organisation_id=other.id, name="Fremdes Amt")
        s.add(foreign)
        s.flush()
        _refused(
            "department_not_found",
            lambda: _record(rt, s, world, addressee="department", department_id=foreign.id, **kind),
        )
        council = _record(rt, s, world, addressee="council", department_id=foreign.id, **kind)
        # An input the kind does not use is not stored.
        assert (council.addressee, council.department_id, council.status) == (
            "council",
            None,
            "open",
        )
        own = s.scalars(
            select(Department).where(Department.organisation_id == world.organisation_id)
        ).first()
        assert own is not None
        to_dept = _record(rt, s, world, addressee="department", department_id=own.id, **kind)
        assert to_dept.department_id == own.id


def test_an_assignment_needs_a_contact_of_the_organisation_and_a_future_due_date(
    rt: Runtime,
) -> None:
    world = build(rt)
    today = date(2026, 3, 2)
    with unit_of_work(rt.sessions) as s:
        person = _contact(s, world)
        kind = {"kind": "assignment"}
        _refused("contact_required", lambda: _record(rt, s, world, due_on=LATER, **kind))
        _refused("due_required", lambda: _record(rt, s, world, contact_id=person.id, **kind))
        for day in (today, today - timedelta(days=1)):
            with pytest.raises(DecisionError, match="due_not_in_future"):
                _record(rt, s, world, contact_id=person.id, due_on=day, **kind)
        _refused(
            "due_invalid",
            lambda: _record(rt, s, world, contact_id=person.id, due_on=date(2031, 1, 1), **kind),
        )
        other = ensure_organisation(s, slug="nachbarstadt", name="Nachbarstadt")
        stranger = Contact(organisation_id=other.id, name="Fremd", email="fremd@nachbar.example")
        s.add(stranger)
        s.flush()
        _refused(
            "contact_not_found",
            lambda: _record(rt, s, world, contact_id=stranger.id, due_on=LATER, **kind),
        )
        assert _count(s) == 0


def test_an_assignment_is_handed_to_the_assignment_engine(rt: Runtime) -> None:
    pytest.importorskip("workflow.decisions.assignments")
    world = build(rt)
    with unit_of_work(rt.sessions) as s:
        person = _contact(s, world)
        decision = _record(
            rt,
            s,
            world,
            kind="assignment",
            contact_id=person.id,
            due_on=LATER + timedelta(days=30),
            text="Bitte berichten Sie über den Stand der Sprachkurse.",
        )
        decision_id, contact_id = decision.id, person.id
    with rt.sessions() as s:
        stored = s.get(Decision, decision_id)
        assert stored is not None
        assert (stored.status, stored.contact_id) == ("open", contact_id)
        assert stored.next_action_at is not None  # scheduled by the engine


# --- Änderungsvorschlag ---------------------------------------------------------------------


def test_a_change_proposal_applied_changes_the_catalogue_with_the_decision_as_reason(
    rt: Runtime,
) -> None:
    world = build(rt)
    item = world.seed.item_ids[2]
    with unit_of_work(rt.sessions) as s:
        _refused("measure_required", lambda: _record(rt, s, world, kind="change_proposal"))
        measure_id = s.get(MeasureCycle, item).measure_id  # type: ignore[union-attr]
        proposal = _record(
            rt,
            s,
            world,
            kind="change_proposal",
            measure_id=measure_id,
            text="Titel schärfen und die Volkshochschule zuständig machen.",
        )
        assert (proposal.status, proposal.applied_at) == ("open", None)
        proposal_id = proposal.id
        department = Department(organisation_id=world.organisation_id, name="Volkshochschule")
        s.add(department)
        s.flush()
        department_id = department.id
    with unit_of_work(rt.sessions) as s:
        apply = service.apply_change_proposal
        now = rt.clock.now()
        _refused(
            "unknown_change_field",
            lambda: apply(
                session=s, decision_id=proposal_id, changes={"code": "X"}, actor="u", now=now
            ),
        )
        _refused(
            "title_invalid",
            lambda: apply(
                session=s, decision_id=proposal_id, changes={"title": " "}, actor="u", now=now
            ),
        )
        measure = s.get(Measure, measure_id)
        assert measure is not None
        title_before = measure.title
        _refused(
            "changes_empty",
            lambda: apply(
                session=s,
                decision_id=proposal_id,
                changes={"title": title_before},
                actor="u",
                now=now,
            ),
        )
        apply(
            session=s,
            decision_id=proposal_id,
            changes={"title": "Sprachcafé an der Volkshochschule", "department_id": department_id},
            actor="user:7",
            now=now,
        )
    with unit_of_work(rt.sessions) as s:
        measure = s.get(Measure, measure_id)
        assert measure is not None
        assert (measure.title, measure.department_id) == (
            "Sprachcafé an der Volkshochschule",
            department_id,
        )
        audit = s.scalars(
            select(AuditEvent).where(AuditEvent.event == "apply_change_proposal")
        ).one()
        assert audit.measure_cycle_id == item and audit.actor == "user:7"
        assert audit.payload["decision_id"] == proposal_id
        assert audit.payload["reason"] == "Titel schärfen und die Volkshochschule zuständig machen."
        assert audit.payload["changes"]["title"] == {
            "from": title_before,
            "to": "Sprachcafé an der Volkshochschule",
        }
        stored = s.get(Decision, proposal_id)
        assert stored is not None and stored.status == "done" and stored.applied_by == "user:7"
        _refused(
            "already_applied",
            lambda: service.apply_change_proposal(
                session=s,
                decision_id=proposal_id,
                changes={"title": "Noch einmal"},
                actor="u",
                now=rt.clock.now(),
            ),
        )


def test_only_a_change_proposal_can_be_applied(rt: Runtime) -> None:
    world = build(rt)
    with unit_of_work(rt.sessions) as s:
        plain = _record(rt, s, world)
        _refused(
            "not_a_change_proposal",
            lambda: service.apply_change_proposal(
                session=s,
                decision_id=plain.id,
                changes={"title": "X"},
                actor="u",
                now=rt.clock.now(),
            ),
        )


# --- the whole entry, status ----------------------------------------------------------------


def test_every_entry_needs_a_kind_a_wording_and_its_own_meetings_agenda(rt: Runtime) -> None:
    world = build(rt)
    with unit_of_work(rt.sessions) as s:
        _refused("unknown_kind", lambda: _record(rt, s, world, kind="decree"))
        _refused("text_required", lambda: _record(rt, s, world, text="  \n "))
        _refused("text_too_long", lambda: _record(rt, s, world, text="x" * 5001))
        _refused("meeting_not_found", lambda: _record(rt, s, world, meeting_id=2**31 - 1))
        _refused(
            "agenda_item_not_found",
            lambda: _record(
                rt, s, world, meeting_id=world.next_meeting_id, agenda_item_id=world.agenda_item_id
            ),
        )
        assert _count(s) == 0


def test_another_organisations_measure_cannot_be_decided_on(rt: Runtime) -> None:
    world = build(rt)
    with unit_of_work(rt.sessions) as s:
        other = ensure_organisation(s, slug="nachbarstadt", name="Nachbarstadt")
        body = create_body(
            session=s, organisation_id=other.id, name="Fremde Gruppe", kind="steering_group"
        )
        foreign_meeting = add_meeting(s, body.id, EARLIER)
        own_item = world.seed.item_ids[0]
        _refused(
            "measure_cycle_not_found",
            lambda: _record(
                rt,
                s,
                world,
                meeting_id=foreign_meeting.id,
                action="drop_measure",
                measure_cycle_id=own_item,
            ),
        )
        assert s.get(MeasureCycle, own_item).state == "initial_interview"  # type: ignore[union-attr]


def test_status_changes_record_who_and_when(rt: Runtime) -> None:
    world = build(rt)
    with unit_of_work(rt.sessions) as s:
        decision_id = _record(rt, s, world).id
    rt.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    with unit_of_work(rt.sessions) as s:
        now = rt.clock.now()
        _refused(
            "unknown_status",
            lambda: service.set_status(
                session=s, decision_id=decision_id, status="closed", actor="user:9", now=now
            ),
        )
        service.set_status(
            session=s, decision_id=decision_id, status="in_progress", actor="user:9", now=now
        )
    with rt.sessions() as s:
        stored = s.get(Decision, decision_id)
        assert stored is not None
        assert (stored.status, stored.status_changed_by) == ("in_progress", "user:9")
        assert stored.status_changed_at is not None
        assert stored.status_changed_at.date() == date(2026, 3, 5)


# --- reads ----------------------------------------------------------------------------------


def test_open_decisions_are_those_not_done_from_earlier_meetings_of_the_body(
    rt: Runtime,
) -> None:
    world = build(rt)
    with unit_of_work(rt.sessions) as s:
        still_open = _record(rt, s, world, text="Offen")
        in_progress = _record(rt, s, world, text="In Arbeit")
        service.set_status(
            session=s,
            decision_id=in_progress.id,
            status="in_progress",
            actor="u",
            now=rt.clock.now(),
        )
        done = _record(rt, s, world, text="Erledigt")
        service.set_status(
            session=s, decision_id=done.id, status="done", actor="u", now=rt.clock.now()
        )
        _record(rt, s, world, meeting_id=world.next_meeting_id, text="Später")
        other_body = create_body(
            session=s,
            organisation_id=world.organisation_id,
            name="Begleitgremium",
            kind=BodyKind.ADVISORY_BOARD.value,
        )
        other_meeting = add_meeting(s, other_body.id, EARLIER)
        _record(rt, s, world, meeting_id=other_meeting.id, text="Anderes Gremium")
        expected = [still_open.id, in_progress.id]
    with rt.sessions() as s:
        found = queries.open_decisions(s, body_id=world.body_id, before=LATER)
        assert [d.id for d in found] == expected
        # The meeting itself does not carry its own decisions; a later one carries them all.
        assert queries.open_decisions(s, body_id=world.body_id, before=EARLIER) == []
        later = queries.open_decisions(s, body_id=world.body_id, before=LATER + timedelta(1))
        assert len(later) == 3


def test_the_register_filters_and_the_year(rt: Runtime) -> None:
    world = build(rt)
    with unit_of_work(rt.sessions) as s:
        _record(rt, s, world, kind="recommendation", addressee="council", text="An den Rat")
        _record(rt, s, world, meeting_id=world.next_meeting_id, text="Beschluss im März")
        old = add_meeting(s, world.body_id, date(2025, 11, 20))
        _record(rt, s, world, meeting_id=old.id, text="Beschluss 2025")
    with rt.sessions() as s:
        org = world.organisation_id
        every = queries.register(s, organisation_id=org)
        assert [r.text for r in every] == ["Beschluss im März", "An den Rat", "Beschluss 2025"]
        first = every[1]
        assert (first.body_name, first.held_on, first.agenda_title) == (
            "Steuerungsgruppe Integration",
            EARLIER,
            "",
        )
        assert [
            r.text for r in queries.register(s, organisation_id=org, kind="recommendation")
        ] == ["An den Rat"]
        assert [r.text for r in queries.register(s, organisation_id=org, year=2025)] == [
            "Beschluss 2025"
        ]
        assert queries.register(s, organisation_id=org, status="done") == []
        assert queries.register(s, organisation_id=org, body_id=world.body_id + 1000) == []
        assert queries.register(s, organisation_id=org + 1000) == []
        of_2026 = queries.decisions_of_year(s, organisation_id=org, year=2026)
        assert [r.text for r in of_2026] == ["An den Rat", "Beschluss im März"]
