"""Meeting invitations (issue 11, item 3): queued on the policy's day and once, to members on
the meeting day and guests, in their language, with a calendar file; a moved meeting gets one
change email. On SQLite and PostgreSQL, with a real SMTP sink where mail is the subject."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from icalendar import Calendar
from pydantic import ValidationError
from sqlalchemy import select

from notifications.models import OutboxMessage
from notifications.render import RenderedEmail, Renderer
from notifications.sink import CapturingHandler
from tests.conftest import BERLIN, make_runtime
from tests.dashboard_seed import EMAILS
from tests.meeting_support import HEAD_EMAIL, MEETING_DAY, MeetingWorld, build_world
from workflow import runtime
from workflow.accounts import Role
from workflow.bodies.models import Meeting
from workflow.clock import FrozenClock
from workflow.cycles.models import Cycle
from workflow.db import unit_of_work
from workflow.deadlines import DeadlinePolicy
from workflow.meetings.invitations import queue_invitations
from workflow.runtime import Runtime
from workflow.tasks import send_all, sweep_once

FIRST_MOMENT = datetime(2026, 3, 4, 8, 0, tzinfo=BERLIN)  # 14 days before, at the send hour
BASE_URL = "https://zielflow.stadt.example.org"


@pytest.fixture
def mail_rt(
    database_url: str, clock: FrozenClock, tmp_path: Path, smtp_sink: tuple[int, CapturingHandler]
) -> Iterator[Runtime]:
    port, _ = smtp_sink
    rt = make_runtime(
        database_url,
        clock,
        tmp_path,
        smtp_port=port,
        smtp_timeout_seconds=2.0,
        base_url=BASE_URL,
        mail_from="zielflow@stadt.example.org",
    )
    yield rt
    runtime.install(None)
    rt.dispose()


def _queue(rt: Runtime) -> int:
    return queue_invitations(sessions=rt.sessions, clock=rt.clock)


def _rows(rt: Runtime, kind: str | None = None) -> list[OutboxMessage]:
    with rt.sessions() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        else:
            query = query.where(OutboxMessage.kind.in_(("meeting_invitation", "meeting_changed")))
        return list(session.scalars(query))


def _render(rt: Runtime, row_id: int) -> RenderedEmail:
    with unit_of_work(rt.sessions) as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        return Renderer(session, rt.settings, rt.clock.now()).render([row])


def _move(rt: Runtime, world: MeetingWorld, day: date, starts_at: str | None) -> None:
    with unit_of_work(rt.sessions) as session:
        meeting = session.get(Meeting, world.meeting_id)
        assert meeting is not None
        meeting.held_on, meeting.starts_at = day, starts_at


# --- when, to whom, once --------------------------------------------------------------------


def test_invitations_are_queued_on_the_policy_day_and_once(rt: Runtime, clock: FrozenClock) -> None:
    world = build_world(rt)
    assert _queue(rt) == 0  # 2 March: 16 days before the meeting
    clock.set(datetime(2026, 3, 4, 7, 59, tzinfo=BERLIN))
    assert _queue(rt) == 0  # the right day, before the send hour
    clock.set(FIRST_MOMENT)
    report, _ = sweep_once(rt)  # the sweep queues them
    assert report.by_kind["meeting_invitation"] == 4
    rows = _rows(rt)
    assert {r.recipient_email: r.language for r in rows} == world.members
    assert {r.kind for r in rows} == {"meeting_invitation"}
    assert {r.dedupe_key for r in rows} == {
        f"invitation:{world.meeting_id}:{email}" for email in world.members
    }
    assert _queue(rt) == 0 and sweep_once(rt)[0].by_kind.get("meeting_invitation", 0) == 0
    clock.set(datetime(2026, 3, 17, 12, 0, tzinfo=BERLIN))
    assert _queue(rt) == 0 and len(_rows(rt)) == 4  # later runs add nothing


def test_two_processes_queue_each_invitation_once(rt: Runtime, clock: FrozenClock) -> None:
    build_world(rt)
    clock.set(FIRST_MOMENT)
    other = runtime.build(rt.settings, clock)  # a second engine, as a second process has
    start = threading.Barrier(2)
    counts: list[int] = []

    def run(target: Runtime) -> None:
        start.wait()
        counts.append(_queue(target))

    threads = [threading.Thread(target=run, args=(r,)) for r in (rt, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    other.dispose()
    assert len(counts) == 2 and sum(counts) == 4, counts
    assert len(_rows(rt)) == 4


def test_a_shorter_policy_invites_later(rt: Runtime, clock: FrozenClock) -> None:
    build_world(rt)
    with unit_of_work(rt.sessions) as session:
        cycle = session.scalars(select(Cycle)).one()
        cycle.policy = {**cycle.policy, "meeting_invitation_days": 3}
    clock.set(FIRST_MOMENT)
    assert _queue(rt) == 0
    clock.set(datetime(2026, 3, 15, 8, 0, tzinfo=BERLIN))
    assert _queue(rt) == 4


def test_the_policy_field_is_checked_and_old_policies_still_load() -> None:
    assert DeadlinePolicy().meeting_invitation_days == 14
    stored = DeadlinePolicy().model_dump()
    del stored["meeting_invitation_days"]  # a policy saved before the field existed
    assert DeadlinePolicy.model_validate(stored).meeting_invitation_days == 14
    for wrong in (0, 91):
        with pytest.raises(ValidationError):
            DeadlinePolicy(meeting_invitation_days=wrong)
    assert DeadlinePolicy(meeting_invitation_days=90).meeting_invitation_days == 90


def test_nothing_for_meetings_that_are_over_or_have_begun(rt: Runtime, clock: FrozenClock) -> None:
    world = build_world(rt)
    clock.set(datetime(2026, 3, 18, 17, 5, tzinfo=BERLIN))  # it began at 17:00
    assert _queue(rt) == 0
    clock.set(datetime(2026, 3, 19, 9, 0, tzinfo=BERLIN))
    assert _queue(rt) == 0
    _move(rt, world, MEETING_DAY, "18:00")
    clock.set(datetime(2026, 3, 18, 17, 5, tzinfo=BERLIN))  # the same day, before it begins
    assert _queue(rt) == 4


# --- what each recipient reads -------------------------------------------------------------


def test_each_recipient_reads_it_in_their_language(rt: Runtime, clock: FrozenClock) -> None:
    world = build_world(rt)
    clock.set(FIRST_MOMENT)
    _queue(rt)
    mails = {r.recipient_email: _render(rt, r.id) for r in _rows(rt)}
    pack = f"/sitzungen/{world.meeting_id}/unterlage"
    chair = mails[EMAILS[Role.STEERING]]
    assert chair.subject == "Einladung zur Sitzung: Steuerungsgruppe Integration am 18.03.2026"
    for fact in ("18.03.2026", "17:00 Uhr", "Rathaus, Sitzungssaal 2", "TOP 1  Bericht"):
        assert fact in chair.text
    assert chair.text.index("Streichungsvorschlag") < chair.text.index("Verschiedenes")
    assert pack in chair.text and pack in chair.html  # a member with an account
    english = mails["john.miller@verein.example.org"]
    assert english.subject.startswith("Invitation to the meeting: Steuerungsgruppe Integration")
    assert "18 March 2026" in english.text and pack not in english.text  # no account
    assert pack not in mails["gabi.gast@example.org"].text
    for mail in mails.values():
        (ics,) = mail.attachments
        assert ics.filename.endswith(".ics") and ics.subtype == "calendar"


def test_a_reporting_guest_gets_their_measures_current_answers(
    rt: Runtime, clock: FrozenClock
) -> None:
    build_world(rt)
    clock.set(FIRST_MOMENT)
    _queue(rt)
    rows = {r.recipient_email: r.id for r in _rows(rt)}
    head = _render(rt, rows[HEAD_EMAIL])  # the department head, reporting on field A, in English
    assert "you will report on the field of action A" in head.text
    for fact in ("A1.1", "A1.2", "Drei Sprachkurse für Eltern", "partly achieved", "Phase:"):
        assert fact in head.text
    assert "A2.1" not in head.text  # another department's measure in the same field
    plain = _render(rt, rows["gabi.gast@example.org"])
    assert "Sie berichten" not in plain.text and "A1.1 " not in plain.text


# --- sent, and changed ---------------------------------------------------------------------


def _calendar(message: EmailMessage) -> Calendar:
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST"
    assert str(part.get_filename()).endswith(".ics")
    return Calendar.from_ical(part.get_content())


def _by_kind(sink: CapturingHandler, kind: str) -> dict[str, EmailMessage]:
    return {
        m["To"].addresses[0].addr_spec: m for m in sink.messages if m["X-Zielflow-Kind"] == kind
    }


def test_the_sent_invitation_carries_a_valid_calendar_file(
    mail_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    world = build_world(mail_rt)
    clock.set(FIRST_MOMENT)
    _queue(mail_rt)
    send_all(mail_rt)
    sent = _by_kind(sink, "meeting_invitation")
    assert set(sent) == set(world.members)  # one email each
    message = sent[EMAILS[Role.STEERING]]
    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert f"{BASE_URL}/sitzungen/{world.meeting_id}/unterlage" in text
    cal = _calendar(message)
    assert cal["METHOD"] == "REQUEST"
    (event,) = cal.walk("VEVENT")
    assert event.decoded("DTSTART") == datetime(2026, 3, 18, 17, 0, tzinfo=BERLIN)
    assert str(event.decoded("DTSTART").tzinfo) == "Europe/Berlin"
    assert str(event["LOCATION"]) == "Rathaus, Sitzungssaal 2"
    assert str(event["UID"]) == f"zielflow-meeting-{world.meeting_id}@stadt.example.org"
    assert event.decoded("SEQUENCE") == 0
    assert str(event["ATTENDEE"]).lower() == f"mailto:{EMAILS[Role.STEERING]}"
    assert cal.walk("VTIMEZONE"), "the zone is defined in the file"
    uids = {str(_calendar(m).walk("VEVENT")[0]["UID"]) for m in sent.values()}
    assert len(uids) == 1  # one calendar entry per meeting, whoever gets it
    with mail_rt.sessions() as session:
        statuses = {r.status for r in session.scalars(select(OutboxMessage))}
    assert "dead" not in statuses and "pending" not in statuses


def test_a_moved_meeting_gets_one_change_email_that_updates_the_entry(
    mail_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    world = build_world(mail_rt)
    clock.set(FIRST_MOMENT)
    _queue(mail_rt)
    send_all(mail_rt)
    assert _queue(mail_rt) == 0  # sent as planned: nothing to change
    _move(mail_rt, world, date(2026, 3, 19), "18:30")
    assert _queue(mail_rt) == 4
    assert _queue(mail_rt) == 0  # once per recipient and new date
    send_all(mail_rt)
    changed = _by_kind(sink, "meeting_changed")
    assert set(changed) == set(world.members)
    message = changed[EMAILS[Role.STEERING]]
    assert "19.03.2026" in message["Subject"] and "18:30" in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Bisher: 18.03.2026, 17:00 Uhr" in text and "Neu:    19.03.2026, 18:30 Uhr" in text
    (event,) = _calendar(message).walk("VEVENT")
    first = _calendar(_by_kind(sink, "meeting_invitation")[EMAILS[Role.STEERING]])
    assert str(event["UID"]) == str(first.walk("VEVENT")[0]["UID"])
    assert event.decoded("SEQUENCE") == 1
    assert event.decoded("DTSTART") == datetime(2026, 3, 19, 18, 30, tzinfo=BERLIN)
    assert _queue(mail_rt) == 0  # the change went out: nothing more
    _move(mail_rt, world, date(2026, 3, 19), "17:00")  # moved again: one more, a higher sequence
    assert _queue(mail_rt) == 4
    send_all(mail_rt)
    again = [m for m in sink.messages if m["X-Zielflow-Kind"] == "meeting_changed"]
    latest = [m for m in again if m["To"].addresses[0].addr_spec == EMAILS[Role.STEERING]][-1]
    assert _calendar(latest).walk("VEVENT")[0].decoded("SEQUENCE") == 2


def test_a_move_before_the_invitation_went_out_needs_no_change_email(
    rt: Runtime, clock: FrozenClock
) -> None:
    world = build_world(rt)
    clock.set(FIRST_MOMENT)
    _queue(rt)
    _move(rt, world, date(2026, 3, 20), None)  # still waiting in the outbox: it shows the news
    assert _queue(rt) == 0
    row = _rows(rt)[0]
    mail = _render(rt, row.id)
    assert "20.03.2026" in mail.text or "20 March 2026" in mail.text
    assert "18.03.2026" not in mail.text and "18 March 2026" not in mail.text
    (ics,) = mail.attachments
    (event,) = Calendar.from_ical(ics.content).walk("VEVENT")
    assert event.decoded("DTSTART") == date(2026, 3, 20)  # no start yet: a whole-day entry


def test_an_archived_organisation_invites_nobody_until_it_returns(
    rt: Runtime, clock: FrozenClock
) -> None:
    from tests.form_support import set_archived

    world = build_world(rt)
    clock.set(FIRST_MOMENT)
    set_archived(rt, world.seed.organisation_id, clock.now())
    assert _queue(rt) == 0
    set_archived(rt, world.seed.organisation_id, None)
    assert _queue(rt) == 4
