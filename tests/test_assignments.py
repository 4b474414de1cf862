"""An Auftrag from opening to answer: its request, the sweep's reminders and escalations (each
once, however often and from however many processes the sweep runs), and the emailed form
where the contact answers, on SQLite and PostgreSQL.

Aufträge are made as the decisions register makes them: a Decision row of kind assignment,
then ``open_assignment``. In-progress answers keep the due-date reminders and the escalation
(the task is not done yet); a done answer ends them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.render import Renderer
from tests.conftest import BERLIN, make_runtime
from tests.form_support import Browser, build_world
from workflow import runtime
from workflow.bodies.models import Body, Meeting
from workflow.catalogue.models import Contact
from workflow.clock import FrozenClock
from workflow.cycles.models import AuditEvent
from workflow.db import unit_of_work
from workflow.decisions.assignments import (
    extend_assignment,
    open_assignment,
    reissue_assignment_link,
)
from workflow.decisions.errors import DecisionError
from workflow.decisions.models import Decision
from workflow.forms.tokens import FormToken, Phase
from workflow.runtime import Runtime
from workflow.sweep import run_sweep

LINK = re.compile(r"https?://[^\s\"'<>]+/f/([A-Za-z0-9_-]{43})")
DUE = date(2026, 4, 15)  # a Wednesday; reminders on 1, 12 and 15 April, escalations 22 April, 6 May


@dataclass
class World:
    org_id: int
    cycle_id: int
    body_id: int
    meeting_id: int
    contact_id: int
    other_contact_id: int
    head_email: str


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)


def build(rt: Runtime) -> World:
    """A cycle with two contacts of one department and its head, a steering group and its
    meeting of 26 February."""
    base = build_world(rt, measures=2)
    with unit_of_work(rt.sessions) as s:
        body = Body(organisation_id=base.org_id, name="Steuerungsgruppe Integration")
        s.add(body)
        s.flush()
        meeting = Meeting(body_id=body.id, held_on=date(2026, 2, 26))
        s.add(meeting)
        s.flush()
        head = s.scalars(select(Contact).where(Contact.is_head.is_(True))).one()
        return World(
            base.org_id, base.cycle_id, body.id, meeting.id, base.contact_id,
            base.other_contact_id, head.email,
        )  # fmt: skip


def give(
    rt: Runtime, world: World, *, contact_id: int | None = None, due: date = DUE, text: str = ""
) -> int:
    """Record an Auftrag as the register does, and open it."""
    with unit_of_work(rt.sessions) as s:
        decision = Decision(
            organisation_id=world.org_id,
            meeting_id=world.meeting_id,
            kind="assignment",
            status="open",
            text=text or "Bitte legen Sie einen Zeitplan für die Sprachkurse vor.",
            contact_id=contact_id or world.contact_id,
            due_on=due,
            created_at=rt.clock.now(),
            created_by="user:1",
        )
        s.add(decision)
        s.flush()
        open_assignment(session=s, decision=decision, now=rt.clock.now())
        return decision.id


def sweep_twice(rt: Runtime, clock: FrozenClock, moment: datetime) -> None:
    clock.set(moment)
    run_sweep(sessions=rt.sessions, clock=clock)
    run_sweep(sessions=rt.sessions, clock=clock)


def rows(rt: Runtime, kind: str | None = None) -> list[OutboxMessage]:
    """The Aufträge' messages (opening the cycle queued the measures' own)."""
    with rt.sessions() as s:
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.dedupe_key.like("as:%"))
            .order_by(OutboxMessage.id)
        )
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list(s.scalars(query))


def kinds(rt: Runtime) -> dict[str, int]:
    with rt.sessions() as s:
        return dict(
            s.execute(
                select(OutboxMessage.kind, func.count())
                .where(OutboxMessage.dedupe_key.like("as:%"))
                .group_by(OutboxMessage.kind)
            ).all()
        )


def link_of(rt: Runtime, row_id: int) -> str:
    """Render a queued message as the sender would; returns the raw token of its form link."""
    with unit_of_work(rt.sessions) as s:
        row = s.get(OutboxMessage, row_id)
        assert row is not None
        email = Renderer(s, rt.settings, rt.clock.now()).render([row])
    m = LINK.search(email.text)
    assert m is not None, email.text
    return m[1]


def decision(rt: Runtime, decision_id: int) -> Decision:
    with rt.sessions() as s:
        found = s.get(Decision, decision_id)
        assert found is not None
        s.expunge(found)
        return found


def answer(browser: Browser, raw: str, decision_id: int, text: str, status: str):  # type: ignore[no-untyped-def]
    return browser.post(
        raw,
        {
            f"a-{decision_id}-answer": text,
            f"a-{decision_id}-status": status,
            "action": f"submit:{decision_id}",
        },
    )


def test_opening_queues_the_request_once_with_what_the_digest_and_links_need(
    rt: Runtime,
) -> None:
    world = build(rt)
    auftrag = give(rt, world)
    with unit_of_work(rt.sessions) as s:  # opening again changes nothing
        again = s.get(Decision, auftrag)
        assert again is not None
        open_assignment(session=s, decision=again, now=rt.clock.now())
    (request,) = rows(rt)
    assert request.kind == "assignment_request"
    assert request.dedupe_key == f"as:{auftrag}:1:request:0"
    assert request.context["decision_id"] == auftrag
    assert request.context["cycle_id"] == world.cycle_id
    assert request.context["phase"] == Phase.ASSIGNMENT.value
    assert decision(rt, auftrag).next_action_at == at(date(2026, 4, 1), 8)
    with rt.sessions() as s:
        contact = s.get(Contact, world.contact_id)
        assert contact is not None and request.recipient_email == contact.email


def test_opening_refuses_what_cannot_be_reminded(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as s:
        row = Decision(
            organisation_id=world.org_id, meeting_id=world.meeting_id, kind="assignment",
            text="Ohne Frist", contact_id=world.contact_id, due_on=None,
            created_at=rt_sqlite.clock.now(), created_by="user:1",
        )  # fmt: skip
        s.add(row)
        s.flush()
        with pytest.raises(DecisionError) as refused:
            open_assignment(session=s, decision=row, now=rt_sqlite.clock.now())
        assert refused.value.code == "assignment_due_required"
        row.due_on, row.contact_id = DUE, None
        with pytest.raises(DecisionError) as refused:
            open_assignment(session=s, decision=row, now=rt_sqlite.clock.now())
        assert refused.value.code == "assignment_contact_required"
        row.kind = "recommendation"
        with pytest.raises(DecisionError) as refused:
            open_assignment(session=s, decision=row, now=rt_sqlite.clock.now())
        assert refused.value.code == "decision_not_assignment"


def test_the_sweep_reminds_at_each_step_once_however_often_it_runs(
    rt: Runtime, clock: FrozenClock
) -> None:
    world = build(rt)
    auftrag = give(rt, world)
    sweep_twice(rt, clock, at(date(2026, 3, 31)))  # before the first reminder
    assert kinds(rt) == {"assignment_request": 1}
    for day in (date(2026, 4, 1), date(2026, 4, 12), date(2026, 4, 15)):
        sweep_twice(rt, clock, at(day))
    assert kinds(rt) == {
        "assignment_request": 1,
        "assignment_reminder": 2,
        "assignment_final_reminder": 1,
    }
    keys = [r.dedupe_key for r in rows(rt) if "reminder" in r.kind]
    assert keys == [f"as:{auftrag}:1:reminder:{i}" for i in range(3)]
    assert decision(rt, auftrag).action_step == 3  # next: the head


def test_escalation_reaches_the_head_and_then_the_bodys_digest_once(
    rt: Runtime, clock: FrozenClock
) -> None:
    world = build(rt)
    auftrag = give(rt, world)
    sweep_twice(rt, clock, at(date(2026, 4, 22)))  # late: the last reminder, and the head
    assert kinds(rt) == {
        "assignment_request": 1,
        "assignment_final_reminder": 1,
        "assignment_escalation_head": 1,
    }
    (to_head,) = rows(rt, "assignment_escalation_head")
    assert to_head.recipient_email == world.head_email
    sweep_twice(rt, clock, at(date(2026, 5, 6)))
    (item,) = rows(rt, "digest_item")
    assert item.channel == "digest" and item.recipient_email == ""
    assert item.measure_cycle_id is None
    assert item.context["decision_id"] == auftrag
    assert item.context["body_id"] == world.body_id
    assert item.context["meeting_id"] == world.meeting_id
    assert (item.context["level"], item.context["stay"]) == (2, 1)
    done = decision(rt, auftrag)
    assert (done.escalation_level, done.next_action_at) == (2, None)
    sweep_twice(rt, clock, at(date(2026, 6, 1)))
    assert len(rows(rt)) == 4


def test_the_head_email_names_the_contact_and_the_meeting(rt: Runtime, clock: FrozenClock) -> None:
    world = build(rt)
    give(rt, world, text="Bericht über die Lotsenstelle & ihre Wartezeiten")
    sweep_twice(rt, clock, at(date(2026, 4, 22)))
    (to_head,) = rows(rt, "assignment_escalation_head")
    with unit_of_work(rt.sessions) as s:
        row = s.get(OutboxMessage, to_head.id)
        assert row is not None
        email = Renderer(s, rt.settings, clock.now()).render([row])
        contact = s.get(Contact, world.contact_id)
        assert contact is not None
    assert contact.name in email.subject and contact.email in email.text
    assert "Steuerungsgruppe Integration, Sitzung am 26.02.2026" in email.text
    assert "Bericht über die Lotsenstelle & ihre Wartezeiten" in email.text
    assert "seit 7 Tagen überfällig · noch keine Erinnerung" in email.text
    assert LINK.search(email.text) is None  # the head answers nothing


def test_two_concurrent_sweep_processes_remind_and_escalate_once(
    database_url: str, clock: FrozenClock, tmp_path: Path
) -> None:
    rt = make_runtime(database_url, clock, tmp_path)
    world = build(rt)
    for i in range(12):
        give(rt, world, text=f"Auftrag {i}", due=DUE + timedelta(days=i % 3))
    url = rt.engine.url.render_as_string(hide_password=False)
    moment = at(date(2026, 4, 23))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.sweep_process", url, moment.isoformat(), "5"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    clock.set(moment)
    run_sweep(sessions=rt.sessions, clock=clock)  # and a third, late one
    # Due 15, 16 and 17 April: each owes its last reminder; only those due by 16 April the head.
    assert kinds(rt) == {
        "assignment_request": 12,
        "assignment_final_reminder": 12,
        "assignment_escalation_head": 8,
    }
    rt.dispose()
    runtime.install(None)


def test_a_done_answer_stops_the_reminders_confirms_and_is_audited(
    rt: Runtime, clock: FrozenClock
) -> None:
    world = build(rt)
    auftrag = give(rt, world)
    raw = link_of(rt, rows(rt, "assignment_request")[0].id)
    browser = Browser(TestClient(create_app()))
    page = browser.open(raw)
    assert page.status_code == 200
    assert "Bitte legen Sie einen Zeitplan für die Sprachkurse vor." in page.text
    assert "Steuerungsgruppe Integration" in page.text and "15.04.2026" in page.text
    clock.set(at(date(2026, 4, 2)))
    response = answer(
        browser, raw, auftrag, "  Zeitplan liegt vor.\r\nVersand am 1. April.  ", "done"
    )
    assert response.status_code == 303
    assert "notice=answered_done" in response.headers["location"]
    stored = decision(rt, auftrag)
    assert stored.status == "done"
    assert stored.answer == "Zeitplan liegt vor.\r\nVersand am 1. April."
    assert stored.answered_by == f"contact:{world.contact_id}"
    assert stored.answered_at == clock.now() and stored.next_action_at is None
    with rt.sessions() as s:
        (audit,) = s.scalars(select(AuditEvent).where(AuditEvent.event == "assignment_answered"))
        assert audit.payload["decision_id"] == auftrag
        assert (audit.payload["status"], audit.payload["previous_status"]) == ("done", "open")
        assert audit.actor == f"contact:{world.contact_id}"
    (receipt,) = rows(rt, "assignment_confirmation")
    with unit_of_work(rt.sessions) as s:
        row = s.get(OutboxMessage, receipt.id)
        assert row is not None
        email = Renderer(s, rt.settings, clock.now()).render([row])
    assert "Zeitplan liegt vor." in email.text and "erledigt" in email.text
    assert "Kontakt 0" in email.text  # entered by: the contact's name, not an actor id
    shown = browser.open(raw, lang="de").text
    assert "Als erledigt gemeldet am 02.04.2026" in shown and "Korrektur senden" in shown
    for day in (date(2026, 4, 12), date(2026, 4, 15), date(2026, 5, 30)):
        sweep_twice(rt, clock, at(day))
    assert kinds(rt) == {"assignment_request": 1, "assignment_confirmation": 1}


def test_an_answer_in_progress_keeps_the_due_date_reminders_and_escalation(
    rt: Runtime, clock: FrozenClock
) -> None:
    world = build(rt)
    auftrag = give(rt, world)
    raw = link_of(rt, rows(rt, "assignment_request")[0].id)
    browser = Browser(TestClient(create_app()))
    response = answer(browser, raw, auftrag, "Abstimmung mit dem Schulamt läuft.", "in_progress")
    assert "notice=answered_in_progress" in response.headers["location"]
    assert decision(rt, auftrag).status == "in_progress"
    for day in (date(2026, 4, 12), date(2026, 4, 15), date(2026, 4, 22)):
        sweep_twice(rt, clock, at(day))
    counts = kinds(rt)
    assert counts["assignment_final_reminder"] == 1 and counts["assignment_escalation_head"] == 1
    assert counts["assignment_confirmation"] == 1
    # Then done, through the same link: a second confirmation, and nothing more after it.
    answer(browser, raw, auftrag, "Zeitplan ist verschickt.", "done")
    sweep_twice(rt, clock, at(date(2026, 5, 6)))
    counts = kinds(rt)
    assert counts["assignment_confirmation"] == 2 and "digest_item" not in counts


def test_bad_input_comes_back_with_what_was_typed_and_an_error_at_the_field(
    rt_sqlite: Runtime,
) -> None:
    world = build(rt_sqlite)
    auftrag = give(rt_sqlite, world)
    raw = link_of(rt_sqlite, rows(rt_sqlite, "assignment_request")[0].id)
    browser = Browser(TestClient(create_app()))
    response = answer(browser, raw, auftrag, "Noch <nichts> & so", "")
    assert response.status_code == 422
    assert (
        "Bitte wählen Sie, ob der Auftrag erledigt oder noch in Bearbeitung ist." in response.text
    )
    assert "Noch &lt;nichts&gt; &amp; so</textarea>" in response.text
    assert f'href="#a-{auftrag}-status-done"' in response.text
    response = answer(browser, raw, auftrag, "   ", "done")
    assert response.status_code == 422
    assert "Bitte beschreiben Sie kurz, was geschehen ist." in response.text
    assert f'id="a-{auftrag}-status-done" name="a-{auftrag}-status" value="done" checked' in (
        response.text
    )
    response = answer(browser, raw, auftrag, "x" * 5001, "done")
    assert response.status_code == 422
    assert "Bitte kürzen Sie den Text auf höchstens 5000 Zeichen." in response.text
    english = browser.post(
        raw,
        {f"a-{auftrag}-answer": "", f"a-{auftrag}-status": "done",
         "action": f"submit:{auftrag}", "lang": "en"},
    )  # fmt: skip
    assert (
        english.status_code == 422 and "Please describe briefly what has been done." in english.text
    )
    assert decision(rt_sqlite, auftrag).status == "open"
    assert kinds(rt_sqlite) == {"assignment_request": 1}
    # Without the CSRF token nothing is stored either.
    refused = browser.client.post(
        f"/f/{raw}", data={f"a-{auftrag}-answer": "Fertig", f"a-{auftrag}-status": "done",
                           "action": f"submit:{auftrag}"},
    )  # fmt: skip
    assert refused.status_code == 403 and decision(rt_sqlite, auftrag).status == "open"


def test_a_link_opens_only_its_own_contacts_aufträge(rt: Runtime) -> None:
    world = build(rt)
    mine = give(rt, world, text="Mein Auftrag")
    theirs = give(rt, world, contact_id=world.other_contact_id, text="Auftrag der Kollegin")
    first = rows(rt, "assignment_request")[0]
    assert first.context["decision_id"] == mine
    raw = link_of(rt, first.id)
    browser = Browser(TestClient(create_app()))
    page = browser.open(raw).text
    assert "Mein Auftrag" in page and "Auftrag der Kollegin" not in page
    response = answer(browser, raw, theirs, "Übernommen", "done")
    assert response.status_code == 303
    assert decision(rt, theirs).status == "open" and decision(rt, theirs).answer == ""
    assert "assignment_confirmation" not in kinds(rt)
    with rt.sessions() as s:
        token = s.scalars(select(FormToken).where(FormToken.phase == "assignment")).one()
        assert (token.contact_id, token.cycle_id) == (world.contact_id, world.cycle_id)


def test_revoked_and_expired_links_are_refused(rt: Runtime, clock: FrozenClock) -> None:
    world = build(rt)
    auftrag = give(rt, world)
    old = link_of(rt, rows(rt, "assignment_request")[0].id)
    client = TestClient(create_app())
    assert client.get(f"/f/{old}").status_code == 200
    clock.advance(timedelta(hours=1))
    with unit_of_work(rt.sessions) as s:
        assert reissue_assignment_link(session=s, decision_id=auftrag, now=clock.now()) == 1
        assert reissue_assignment_link(session=s, decision_id=auftrag, now=clock.now()) == 0
    reissued = [r for r in rows(rt, "assignment_request") if r.context["notice"] == "reissued"]
    new = link_of(rt, reissued[0].id)
    gone = client.get(f"/f/{old}")
    assert gone.status_code == 410 and "durch einen neueren ersetzt" in gone.text
    assert "Zeitplan" not in gone.text
    assert client.get(f"/f/{new}").status_code == 200
    # The link lives until 30 days after the due date, to the end of that local day.
    clock.set(at(date(2026, 5, 15), 23))
    assert "Zeitplan" in client.get(f"/f/{new}").text
    clock.set(at(date(2026, 5, 16), 0) + timedelta(minutes=1))
    expired = client.get(f"/f/{new}")
    assert expired.status_code == 410
    assert "Zeitplan" not in expired.text and "abgelaufen" in expired.text


def test_a_correction_is_allowed_until_the_coordinator_closes_the_auftrag(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    rt = rt_sqlite
    world = build(rt)
    auftrag = give(rt, world)
    raw = link_of(rt, rows(rt, "assignment_request")[0].id)
    browser = Browser(TestClient(create_app()))
    answer(browser, raw, auftrag, "Erste Fassung", "done")
    clock.advance(timedelta(minutes=5))
    assert answer(browser, raw, auftrag, "Korrigierte Fassung", "done").status_code == 303
    assert decision(rt, auftrag).answer == "Korrigierte Fassung"
    assert kinds(rt)["assignment_confirmation"] == 2
    with rt.sessions() as s:
        audits = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.event == "assignment_answered")
            .order_by(AuditEvent.id)
        ).all()
        assert [a.payload["correction"] for a in audits] == [False, True]
    with unit_of_work(rt.sessions) as s:  # the coordinator closes it (as the register does)
        closed = s.get(Decision, auftrag)
        assert closed is not None
        closed.status_changed_by, closed.status_changed_at = "user:1", clock.now()
    assert "Korrigierte Fassung" not in browser.open(raw).text
    answer(browser, raw, auftrag, "Dritte Fassung", "done")
    assert decision(rt, auftrag).answer == "Korrigierte Fassung"


def test_a_new_due_date_starts_a_new_ladder_and_tells_the_contact(
    rt: Runtime, clock: FrozenClock
) -> None:
    world = build(rt)
    auftrag = give(rt, world)
    sweep_twice(rt, clock, at(date(2026, 4, 22)))  # the head heard of it
    with unit_of_work(rt.sessions) as s:
        extend_assignment(
            session=s, decision_id=auftrag, due_on=date(2026, 6, 15), now=clock.now(),
            actor="user:1",
        )  # fmt: skip
        with pytest.raises(DecisionError) as refused:
            extend_assignment(
                session=s, decision_id=auftrag, due_on=date(2026, 4, 1), now=clock.now(),
                actor="user:1",
            )  # fmt: skip
        assert refused.value.code == "due_not_in_future"
    extended = decision(rt, auftrag)
    assert (extended.stay, extended.escalation_level, extended.due_on) == (2, 0, date(2026, 6, 15))
    with rt.sessions() as s:
        (audit,) = s.scalars(select(AuditEvent).where(AuditEvent.event == "assignment_extended"))
        assert audit.payload == {
            "decision_id": auftrag, "from": "2026-04-15", "to": "2026-06-15", "stay": 2
        }  # fmt: skip
    notice = [r for r in rows(rt, "assignment_request") if r.context["notice"] == "extended"]
    assert [r.dedupe_key for r in notice] == [f"as:{auftrag}:2:request:0"]
    with unit_of_work(rt.sessions) as s:
        row = s.get(OutboxMessage, notice[0].id)
        assert row is not None
        email = Renderer(s, rt.settings, clock.now()).render([row])
    assert "Neue Frist" in email.subject and "15.06.2026" in email.subject
    for day in (date(2026, 6, 1), date(2026, 6, 12), date(2026, 6, 15), date(2026, 6, 22)):
        sweep_twice(rt, clock, at(day))
    counts = kinds(rt)
    assert counts["assignment_reminder"] == 2 and counts["assignment_final_reminder"] == 2
    assert counts["assignment_escalation_head"] == 2


def test_an_archived_organisation_is_not_reminded_until_it_returns(
    rt: Runtime, clock: FrozenClock
) -> None:
    from tests.form_support import set_archived

    world = build(rt)
    give(rt, world)
    sweep_twice(rt, clock, at(date(2026, 3, 31)))
    set_archived(rt, world.org_id, clock.now())
    sweep_twice(rt, clock, at(date(2026, 4, 1)))
    assert kinds(rt) == {"assignment_request": 1}
    set_archived(rt, world.org_id, None)
    sweep_twice(rt, clock, at(date(2026, 4, 2)))
    assert kinds(rt) == {"assignment_request": 1, "assignment_reminder": 1}
