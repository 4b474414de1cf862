"""Meetings (issue 11, item 3): planning, the proposed agenda, the stored agenda, guests,
attendance and minutes; every rule of the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from api.body_text import error_status, error_text
from api.meeting_text import reason_text
from tests import factories
from tests.meeting_world import build
from workflow.bodies.errors import BodyError
from workflow.bodies.models import Body, BodyMember, Meeting
from workflow.catalogue.models import Field
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.deadlines import DeadlinePolicy, EscalationStep, EscalationTarget
from workflow.decisions.models import Decision
from workflow.meetings import agenda, guests, queries, record, service
from workflow.meetings.agenda import AgendaEntry, AgendaLike, ProposedItem
from workflow.meetings.models import MeetingAttendance, MeetingGuest
from workflow.meetings.sources import body_level
from workflow.runtime import Runtime


def _refused(code: str, action: Callable[[], Any]) -> BodyError:
    with pytest.raises(BodyError) as caught:
        action()
    assert caught.value.code == code, caught.value
    return caught.value


def _shape(items: list[ProposedItem]) -> list[tuple[str, str, str]]:
    return [(i.kind, i.title, i.reason) for i in items]


def _propose(rt: Runtime, meeting_id: int) -> list[ProposedItem]:
    with rt.sessions() as s:
        return agenda.propose_agenda(session=s, meeting_id=meeting_id, now=rt.clock.now())


DECISION = "Bericht über die Sprachkurse"
A, B = "AF Bildung und Sprache", "BF Bildung und Sprache"


# --- the proposal ---------------------------------------------------------------------------


def test_every_source_proposes_what_the_data_holds_and_nothing_else(rt: Runtime) -> None:
    w = build(rt)
    items = _propose(rt, w.meeting["all"])
    assert _shape(items) == [
        ("open_decision", f"{DECISION} (open)", "open_decision"),  # not "done", "later", others'
        ("field_report", A, "field_report"),  # A0001 in Umsetzung
        ("field_report", B, "field_report"),  # B0001 in Review
        ("drop_proposal", "A0002 Maßnahme 2", "agreement_drop"),
        ("drop_proposal", "A0004 Maßnahme 4", "review_drop"),  # once, not also as a review
        ("review_acceptance", "A0003 Maßnahme 3", "review_submitted"),
        ("review_acceptance", "A0007 Maßnahme 7", "review_submitted"),  # the 2025 cycle's
        ("escalation", "A0005 Maßnahme 5", "escalated"),  # level 2; A0006 (level 1) is not
        ("indicator_off_track", "K1 Kennzahl K1", "indicator_off_track"),  # K2 rises: on track
        ("indicator_off_track", "K3 Kennzahl K3", "indicator_off_track"),
    ]
    refs = {(i.kind, i.title): i for i in items}
    assert refs[("review_acceptance", "A0007 Maßnahme 7")].measure_cycle_id == w.mc["A0007-2025"]
    assert refs[("open_decision", f"{DECISION} (open)")].decision_id == w.decisions["open"]
    assert refs[("field_report", B)].field_id == w.fields["B"]
    assert refs[("indicator_off_track", "K1 Kennzahl K1")].indicator_id == w.indicators["K1"]
    # Every reason can be worded in both languages.
    for item in items:
        for lang in ("de", "en"):
            assert reason_text(item.reason, item.details, lang), (item, lang)
    assert reason_text(items[1].reason, items[1].details, "de") == (
        "1 Maßnahme in Umsetzung oder in der Überprüfung; die Leitungen der Fachbereiche berichten."
    )
    assert "Eskalationsstufe 2" in reason_text(items[7].reason, items[7].details, "de")


def test_the_scope_of_the_body_restricts_the_proposal(rt: Runtime) -> None:
    w = build(rt)
    # Field B only: its own open decision, its field, its indicator; nothing of field A.
    assert _shape(_propose(rt, w.meeting["fields"])) == [
        ("open_decision", f"{DECISION} (other_body)", "open_decision"),
        ("field_report", B, "field_report"),
        ("indicator_off_track", "K3 Kennzahl K3", "indicator_off_track"),
    ]
    # Indicators only: no measures, no field reports.
    assert _shape(_propose(rt, w.meeting["indicators"])) == [
        ("indicator_off_track", "K1 Kennzahl K1", "indicator_off_track"),
        ("indicator_off_track", "K3 Kennzahl K3", "indicator_off_track"),
    ]


def test_sources_follow_the_data_when_it_moves_on(rt: Runtime) -> None:
    w = build(rt)
    before = {i.key for i in _propose(rt, w.meeting["all"])}
    with unit_of_work(rt.sessions) as s:
        done = s.get(Decision, w.decisions["open"])
        assert done is not None
        done.status = "done"
    after = {i.key for i in _propose(rt, w.meeting["all"])}
    assert before - after == {f"open_decision:{w.decisions['open']}"}
    # A meeting on the day of the earlier one does not carry that meeting's decisions.
    with unit_of_work(rt.sessions) as s:
        s.get(Decision, w.decisions["open"]).status = "open"  # type: ignore[union-attr]
    items = _propose(rt, w.earlier_meeting)
    assert [i for i in items if i.kind == "open_decision"] == []


def test_escalations_reach_a_body_only_at_the_policy_s_level_for_bodies() -> None:
    assert body_level(DeadlinePolicy()) == 2
    head_only = DeadlinePolicy(
        escalation_steps=[EscalationStep(days_overdue=7, target=EscalationTarget.DEPARTMENT_HEAD)]
    )
    assert body_level(head_only) is None
    straight = DeadlinePolicy(
        escalation_steps=[EscalationStep(days_overdue=3, target=EscalationTarget.STEERING_GROUP)]
    )
    assert body_level(straight) == 1


def test_a_cycle_whose_policy_never_escalates_to_bodies_proposes_no_escalation(
    rt: Runtime,
) -> None:
    w = build(rt)
    head_only = DeadlinePolicy(
        escalation_steps=[EscalationStep(days_overdue=7, target=EscalationTarget.DEPARTMENT_HEAD)]
    )
    with unit_of_work(rt.sessions) as s:
        from workflow.cycles.models import Cycle

        for cycle in s.scalars(select(Cycle)):
            cycle.policy = head_only.model_dump(mode="json")
    assert [i for i in _propose(rt, w.meeting["all"]) if i.kind == "escalation"] == []


# --- the stored agenda ----------------------------------------------------------------------


def _stored(rt: Runtime, meeting_id: int) -> list[tuple[int, str, str, str]]:
    with rt.sessions() as s:
        return [(i.position, i.kind, i.title, i.minutes) for i in queries.agenda_of(s, meeting_id)]


def test_set_agenda_stores_the_chosen_items_in_order_and_keeps_minutes_that_stay(
    rt: Runtime, clock: FrozenClock
) -> None:
    w = build(rt)
    meeting_id = w.meeting["all"]
    proposal = {i.title: i for i in _propose(rt, meeting_id)}
    with unit_of_work(rt.sessions) as s:
        agenda.set_agenda(
            session=s,
            meeting_id=meeting_id,
            items=[
                proposal[B],
                AgendaEntry(title="Verschiedenes"),
                proposal["A0002 Maßnahme 2"],
                proposal[A],
            ],
            now=clock.now(),
        )
    assert _stored(rt, meeting_id) == [
        (1, "field_report", B, ""),
        (2, "other", "Verschiedenes", ""),
        (3, "drop_proposal", "A0002 Maßnahme 2", ""),
        (4, "field_report", A, ""),
    ]
    clock.set(datetime(2026, 3, 20, 18, 0, tzinfo=clock.now().tzinfo))
    with unit_of_work(rt.sessions) as s:
        items = queries.agenda_of(s, meeting_id)
        meeting = s.get(Meeting, meeting_id)
        assert meeting is not None
        record.set_minutes(
            session=s,
            meeting=meeting,
            today=date(2026, 3, 20),
            items={
                items[0].id: "Frau Leitung B berichtet.",
                items[1].id: "Nichts.",
                items[2].id: "Vertagt.",
            },
            notes="Eröffnung um 17 Uhr.",
        )
        # A decision under "A0002": that item stays even when it is not chosen again.
        s.add(
            Decision(
                organisation_id=w.organisation_id,
                meeting_id=meeting_id,
                agenda_item_id=items[2].id,
                kind="resolution",
                text="Die Maßnahme wird verworfen.",
                created_at=clock.now(),
                created_by="test",
            )
        )
        free_id = items[1].id
    with unit_of_work(rt.sessions) as s:
        agenda.set_agenda(
            session=s,
            meeting_id=meeting_id,
            items=[
                proposal[A],
                AgendaEntry(title="Verschiedenes und Termine", item_id=free_id),
                proposal["A0005 Maßnahme 5"],
            ],
            now=clock.now(),
        )
    assert _stored(rt, meeting_id) == [
        (1, "field_report", A, ""),
        (2, "other", "Verschiedenes und Termine", "Nichts."),  # renamed, minutes kept
        (3, "escalation", "A0005 Maßnahme 5", ""),
        (4, "drop_proposal", "A0002 Maßnahme 2", "Vertagt."),  # a decision is recorded under it
    ]  # field report B (with minutes, no decision) is gone
    with rt.sessions() as s:
        assert s.get(Meeting, meeting_id).notes == "Eröffnung um 17 Uhr."  # type: ignore[union-attr]
    # Setting it again in the same words changes nothing.
    again: list[AgendaLike] = [
        proposal[A],
        AgendaEntry(title="Verschiedenes und Termine", item_id=free_id),
        proposal["A0005 Maßnahme 5"],
    ]
    with unit_of_work(rt.sessions) as s:
        agenda.set_agenda(session=s, meeting_id=meeting_id, items=again, now=clock.now())
    assert [r[2] for r in _stored(rt, meeting_id)][:3] == [
        A,
        "Verschiedenes und Termine",
        "A0005 Maßnahme 5",
    ]


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        (AgendaEntry(kind="party", title="Feier"), "unknown_agenda_kind"),
        (AgendaEntry(kind="field_report", title="Ohne Feld"), "agenda_reference_missing"),
        (AgendaEntry(title="   "), "agenda_title_invalid"),
        (AgendaEntry(title="x" * 301), "agenda_title_invalid"),
        (AgendaEntry(title="Alt", item_id=2**31 - 1), "agenda_item_not_found"),
        (
            AgendaEntry(kind="open_decision", title="Fremd", decision_id=2**31 - 1),
            "decision_not_found",
        ),
    ],
)
def test_set_agenda_refuses_what_it_cannot_store(
    rt: Runtime, clock: FrozenClock, entry: AgendaEntry, code: str
) -> None:
    w = build(rt)
    with unit_of_work(rt.sessions) as s:
        agenda.set_agenda(
            session=s,
            meeting_id=w.meeting["all"],
            items=[AgendaEntry(title="Bleibt")],
            now=clock.now(),
        )
    with unit_of_work(rt.sessions) as s:
        _refused(
            code,
            lambda: agenda.set_agenda(
                session=s, meeting_id=w.meeting["all"], items=[entry], now=clock.now()
            ),
        )
    assert [r[2] for r in _stored(rt, w.meeting["all"])] == ["Bleibt"]


def test_set_agenda_refuses_another_organisation_s_rows_and_doubles(
    rt: Runtime, clock: FrozenClock
) -> None:
    w = build(rt)
    with unit_of_work(rt.sessions) as s:
        stranger = factories.organisation(s, "fremde")
        theirs = Field(organisation_id=stranger.id, code="Z", name="Fremdes Feld")
        s.add(theirs)
        s.flush()
        foreign = [
            AgendaEntry(kind="field_report", title="Fremd", field_id=theirs.id),
            AgendaEntry(kind="escalation", title="Fremd", measure_cycle_id=2**31 - 1),
            AgendaEntry(kind="indicator_off_track", title="Fremd", indicator_id=2**31 - 1),
        ]
        codes = ["field_not_found", "measure_cycle_not_found", "indicator_not_found"]
        for entry, code in zip(foreign, codes, strict=True):
            _refused(
                code,
                lambda e=entry: agenda.set_agenda(  # type: ignore[misc]
                    session=s, meeting_id=w.meeting["all"], items=[e], now=clock.now()
                ),
            )
        twice = AgendaEntry(kind="field_report", title=A, field_id=w.fields["A"])
        exc = _refused(
            "agenda_item_twice",
            lambda: agenda.set_agenda(
                session=s, meeting_id=w.meeting["all"], items=[twice, twice], now=clock.now()
            ),
        )
        assert error_status(exc) == 409
        _refused(
            "agenda_too_long",
            lambda: agenda.set_agenda(
                session=s,
                meeting_id=w.meeting["all"],
                items=[AgendaEntry(title=f"Punkt {n}") for n in range(101)],
                now=clock.now(),
            ),
        )


# --- the meeting ----------------------------------------------------------------------------


def test_add_meeting_checks_day_time_place_and_organisation(
    rt: Runtime, clock: FrozenClock
) -> None:
    w = build(rt)
    now = clock.now()
    with unit_of_work(rt.sessions) as s:
        meeting = service.add_meeting(
            session=s,
            body_id=w.bodies["all"],
            organisation_id=w.organisation_id,
            held_on=date(2026, 5, 6),
            starts_at="9.30",
            place="  Rathaus, Raum 101 ",
            title="Frühjahrssitzung",
            now=now,
        )
        assert (meeting.starts_at, meeting.place, meeting.notes) == (
            "09:30",
            "Rathaus, Raum 101",
            "",
        )
        exc = _refused(
            "meeting_day_taken",
            lambda: service.add_meeting(
                session=s, body_id=w.bodies["all"], held_on=date(2026, 5, 6), now=now
            ),
        )
        assert error_status(exc) == 409
        assert (
            error_text(exc, "de")
            == "Das Gremium „Steuerungsgruppe“ hat am 06.05.2026 bereits eine Sitzung."
        )
        assert error_text(exc, "en") == "The body “Steuerungsgruppe” already meets on 06/05/2026."
        # Another body may meet that day.
        service.add_meeting(
            session=s, body_id=w.bodies["fields"], held_on=date(2026, 5, 6), now=now
        )
        for time in ("25:00", "17", "abc", "17:60"):
            _refused(
                "invalid_time",
                lambda t=time: service.add_meeting(  # type: ignore[misc]
                    session=s,
                    body_id=w.bodies["all"],
                    held_on=date(2026, 5, 7),
                    starts_at=t,
                    now=now,
                ),
            )
        _refused(
            "meeting_place_invalid",
            lambda: service.add_meeting(
                session=s,
                body_id=w.bodies["all"],
                held_on=date(2026, 5, 7),
                place="x" * 301,
                now=now,
            ),
        )
        _refused(
            "meeting_date_out_of_range",
            lambda: service.add_meeting(
                session=s, body_id=w.bodies["all"], held_on=date(2062, 5, 7), now=now
            ),
        )
        stranger = factories.organisation(s, "fremde")
        exc = _refused(
            "body_not_found",
            lambda: service.add_meeting(
                session=s,
                body_id=w.bodies["all"],
                organisation_id=stranger.id,
                held_on=date(2026, 5, 7),
                now=now,
            ),
        )
        assert error_status(exc) == 404
        count = s.scalar(
            select(func.count()).select_from(Meeting).where(Meeting.held_on == date(2026, 5, 7))
        )
        assert count == 0


def test_update_meeting_moves_it_and_clears_the_time(rt: Runtime, clock: FrozenClock) -> None:
    w = build(rt)
    with unit_of_work(rt.sessions) as s:
        meeting = s.get(Meeting, w.meeting["all"])
        assert meeting is not None
        service.update_meeting(
            session=s, meeting=meeting, now=clock.now(), starts_at="17:00", place="Rathaus"
        )
        _refused(
            "meeting_day_taken",
            lambda: service.update_meeting(
                session=s, meeting=meeting, now=clock.now(), held_on=date(2026, 6, 10)
            ),
        )
        service.update_meeting(
            session=s, meeting=meeting, now=clock.now(), held_on=date(2026, 3, 27), starts_at=None
        )
        assert (meeting.held_on, meeting.starts_at, meeting.place) == (
            date(2026, 3, 27),
            None,
            "Rathaus",
        )


def test_queries_find_the_next_meeting_and_split_the_list(rt: Runtime) -> None:
    w = build(rt)
    with rt.sessions() as s:
        body_id = w.bodies["all"]
        nxt = queries.next_meeting(s, body_id=body_id, today=date(2026, 3, 2))
        assert nxt is not None and nxt.held_on == date(2026, 3, 20)
        assert queries.next_meeting(s, body_id=body_id, today=date(2026, 6, 11)) is None
        split = queries.body_meetings(s, body_id=body_id, today=date(2026, 3, 2))
        assert [r.meeting.held_on for r in split.upcoming] == [date(2026, 3, 20), date(2026, 6, 10)]
        assert [r.meeting.held_on for r in split.past] == [date(2026, 1, 15)]
        _refused(
            "meeting_not_found",
            lambda: queries.get_meeting(
                s, organisation_id=w.organisation_id + 1, meeting_id=nxt.id
            ),
        )


# --- guests, attendance, minutes ------------------------------------------------------------


def test_the_heads_of_the_reporting_fields_are_proposed_as_guests(
    rt: Runtime, clock: FrozenClock
) -> None:
    w = build(rt)
    meeting_id = w.meeting["all"]
    proposal = {i.title: i for i in _propose(rt, meeting_id)}
    with unit_of_work(rt.sessions) as s:
        meeting = s.get(Meeting, meeting_id)
        assert meeting is not None
        assert guests.proposed_guests(s, meeting=meeting) == []  # no field report on the agenda
        agenda.set_agenda(
            session=s, meeting_id=meeting_id, items=[proposal[A], proposal[B]], now=clock.now()
        )
        proposed = guests.proposed_guests(s, meeting=meeting)
        assert [(p.email, p.field_id, p.department) for p in proposed] == [
            (w.heads["A"], w.fields["A"], "A Amt für Schule"),
            (w.heads["B"], w.fields["B"], "B Amt für Schule"),
        ]
        first = proposed[0]
        guests.add_guest(
            session=s,
            meeting=meeting,
            name=first.name,
            email=first.email.upper(),
            field_id=first.field_id,
            contact_id=first.contact_id,
        )
        # Invited: no longer proposed; a second invitation of the address is refused.
        assert [p.email for p in guests.proposed_guests(s, meeting=meeting)] == [w.heads["B"]]
        exc = _refused(
            "guest_already_invited",
            lambda: guests.add_guest(session=s, meeting=meeting, name="X", email=w.heads["A"]),
        )
        assert error_status(exc) == 409
        _refused(
            "guest_is_member",
            lambda: guests.add_guest(
                session=s, meeting=meeting, name="Sommer", email="sommer@stadt.example.org"
            ),
        )
        _refused(
            "guest_email_invalid",
            lambda: guests.add_guest(session=s, meeting=meeting, name="X", email="kein-at"),
        )
        _refused(
            "unknown_language",
            lambda: guests.add_guest(
                session=s, meeting=meeting, name="X", email="x@y.org", language="fr"
            ),
        )
        _refused(
            "contact_not_found",
            lambda: guests.add_guest(
                session=s, meeting=meeting, name="X", email="x@y.org", contact_id=2**31 - 1
            ),
        )
        stored = queries.guests_of(s, meeting.id)
        assert [(g.email, g.field_id) for g in stored] == [(w.heads["A"], w.fields["A"])]
        guests.remove_guest(session=s, meeting=meeting, guest_id=stored[0].id)
        _refused(
            "guest_not_found",
            lambda: guests.remove_guest(session=s, meeting=meeting, guest_id=stored[0].id),
        )
        assert s.scalar(select(func.count()).select_from(MeetingGuest)) == 0


def test_attendance_and_minutes_wait_for_the_meeting_day(rt: Runtime, clock: FrozenClock) -> None:
    w = build(rt)
    with unit_of_work(rt.sessions) as s:
        meeting = s.get(Meeting, w.meeting["all"])
        assert meeting is not None
        agenda.set_agenda(
            session=s, meeting_id=meeting.id, items=[AgendaEntry(title="Bericht")], now=clock.now()
        )
        guest = guests.add_guest(
            session=s, meeting=meeting, name="Gast", email="gast@stadt.example.org"
        )
        member = s.scalars(select(BodyMember).where(BodyMember.body_id == w.bodies["all"])).one()
        before = date(2026, 3, 19)
        exc = _refused(
            "meeting_not_held_yet",
            lambda: record.set_attendance(
                session=s, meeting=meeting, today=before, members={member.id: True}
            ),
        )
        assert error_text(exc, "de").endswith("(20.03.2026) erfassen.")
        _refused(
            "meeting_not_held_yet",
            lambda: record.set_minutes(
                session=s, meeting=meeting, today=before, items={}, notes="x"
            ),
        )
        day = date(2026, 3, 20)
        record.set_attendance(
            session=s,
            meeting=meeting,
            today=day,
            members={member.id: True},
            guests={guest.id: False},
        )
        record.set_attendance(session=s, meeting=meeting, today=day, members={member.id: False})
        assert queries.attendance_of(s, meeting.id) == {member.id: False}
        assert guest.present is False
        # Someone else's membership is not this meeting's.
        other = s.get(Body, w.bodies["fields"])
        assert other is not None
        from workflow.bodies.members import add_member

        outsider = add_member(
            session=s, body=other, name="Fremd", email="fremd@stadt.example.org", today=day
        )
        _refused(
            "member_not_found",
            lambda: record.set_attendance(
                session=s, meeting=meeting, today=day, members={outsider.id: True}
            ),
        )
        item = queries.agenda_of(s, meeting.id)[0]
        _refused(
            "agenda_item_not_found",
            lambda: record.set_minutes(
                session=s, meeting=meeting, today=day, items={2**31 - 1: "x"}
            ),
        )
        _refused(
            "minutes_invalid",
            lambda: record.set_minutes(
                session=s, meeting=meeting, today=day, items={item.id: "x" * 20_001}
            ),
        )
        record.set_minutes(
            session=s, meeting=meeting, today=day, items={item.id: " Zur Kenntnis genommen. "}
        )
        assert (item.minutes, meeting.notes) == ("Zur Kenntnis genommen.", "")
        rows = s.scalar(select(func.count()).select_from(MeetingAttendance))
        assert rows == 1


def test_every_meeting_code_has_a_sentence_in_both_languages() -> None:
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "api" / "locales"
    codes = {
        "agenda_item_not_found", "agenda_item_twice", "agenda_reference_missing",
        "agenda_title_invalid", "agenda_too_long", "contact_not_found", "decision_not_found",
        "guest_already_invited", "guest_email_invalid", "guest_is_member", "guest_name_invalid",
        "guest_not_found", "indicator_not_found", "invalid_time", "measure_cycle_not_found",
        "meeting_date_out_of_range", "meeting_date_required", "meeting_day_taken",
        "meeting_not_found", "meeting_not_held_yet", "meeting_place_invalid",
        "meeting_title_invalid", "minutes_invalid", "proposal_gone", "unknown_agenda_kind",
    }  # fmt: skip
    for lang in ("de", "en"):
        catalogue: dict[str, str] = {}
        for path in root.glob(f"*.{lang}.json"):
            catalogue |= json.loads(path.read_text(encoding="utf-8"))
        missing = [c for c in codes if f"bodies.error.{c}" not in catalogue]
        assert missing == [], (lang, missing)
