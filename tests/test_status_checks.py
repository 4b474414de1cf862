"""A Sachstandsabfrage from selection to invitation: which measures it asks, which dates it
refuses, one part per contact with all of their measures, the schedule and the emailed link,
and closing it (on SQLite, and on PostgreSQL where the database's inserts are the subject).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.outbox import enqueue
from notifications.render import Renderer
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests import factories
from tests.conftest import BERLIN, make_runtime
from tests.form_support import build_world
from workflow import runtime
from workflow.catalogue.models import Measure, MeasureStatus
from workflow.clock import FrozenClock
from workflow.cycles.models import AuditEvent, MeasureCycle
from workflow.db import unit_of_work
from workflow.forms.tokens import Phase, TokenState, look_up
from workflow.runtime import Runtime
from workflow.status_checks import mail
from workflow.status_checks.errors import StatusCheckRefused
from workflow.status_checks.models import StatusCheck, StatusCheckItem, StatusCheckRequest
from workflow.status_checks.selection import Selection, measures_for
from workflow.status_checks.service import close_status_check, open_status_check

LINK = re.compile(r"https?://[^\s\"'<>]+/f/([A-Za-z0-9_-]{43})")
DUE = date(2026, 4, 15)  # a Wednesday; the clock stands on Monday 2 March 2026


@dataclass
class World:
    org_id: int
    cycle_id: int
    contact_id: int  # owns M0001 and M0003
    other_contact_id: int  # owns M0002 and M0004
    extra_codes: list[str]  # N0001, N0002: field NF, goal NG1, "N Amt für Schule"; no stay


def build(rt: Runtime) -> World:
    """Four measures of field MF in the open cycle 2026 (two contacts), and two measures of
    a second field, department and contact that joined the catalogue after the cycle opened."""
    base = build_world(rt, measures=4)
    with unit_of_work(rt.sessions) as s:
        org = s.get(factories.Organisation, base.org_id)
        assert org is not None
        extra = factories.measures(s, org, 2, prefix="N")
        return World(
            base.org_id, base.cycle_id, base.contact_id, base.other_contact_id,
            [m.code for m in extra],
        )  # fmt: skip


def codes(rt: Runtime, world: World, selection: Selection) -> list[str]:
    with rt.sessions() as s:
        return [m.code for m in measures_for(s, organisation_id=world.org_id, selection=selection)]


def open_check(rt: Runtime, world: World, selection: Selection, **kw: Any) -> int:
    with unit_of_work(rt.sessions) as s:
        check = open_status_check(
            s, clock=rt.clock, organisation_id=world.org_id, selection=selection,
            due_on=kw.pop("due_on", DUE), actor="user:1", **kw,
        )  # fmt: skip
        return check.id


def refused(rt: Runtime, world: World, selection: Selection, **kw: Any) -> StatusCheckRefused:
    with pytest.raises(StatusCheckRefused) as caught, unit_of_work(rt.sessions) as s:
        open_status_check(
            s, clock=rt.clock, organisation_id=world.org_id, selection=selection,
            due_on=kw.pop("due_on", DUE), actor="user:1", **kw,
        )  # fmt: skip
    return caught.value


def test_selection_by_field_goal_department_and_by_hand(rt_sqlite: Runtime) -> None:
    rt = rt_sqlite
    world = build(rt)
    mine = ["M0001", "M0002", "M0003", "M0004"]
    assert codes(rt, world, Selection()) == mine + world.extra_codes
    assert codes(rt, world, Selection(field="MF")) == mine
    assert codes(rt, world, Selection(goal="NG1")) == world.extra_codes
    assert codes(rt, world, Selection(department="N Amt für Schule")) == world.extra_codes
    assert codes(rt, world, Selection(field="MF", department="N Amt für Schule")) == []
    with rt.sessions() as s:
        m3 = s.scalars(select(Measure.id).where(Measure.code == "M0003")).one()
    picked = Selection(measure_codes=("N0002", "M0001"), measure_ids=(m3,))
    assert codes(rt, world, picked) == ["M0001", "M0003", "N0002"]
    with unit_of_work(rt.sessions) as s:  # an archived measure, and one without a contact
        for m in s.scalars(select(Measure).where(Measure.code.in_(["M0001", "M0002"]))):
            if m.code == "M0001":
                m.status = MeasureStatus.ARCHIVED.value
            else:
                m.contact_id = None
    assert codes(rt, world, Selection(field="MF")) == ["M0003", "M0004"]
    assert Selection(field="MF", measure_ids=(3,)).as_json() == {"field": "MF", "measure_ids": [3]}


def test_refusals_name_their_code_and_value(rt_sqlite: Runtime) -> None:
    rt = rt_sqlite
    world = build(rt)
    today = date(2026, 3, 2)
    cases: list[tuple[Selection, dict[str, Any], str]] = [
        (Selection(), {"due_on": today - timedelta(days=1)}, "due_in_past"),
        (Selection(), {"due_on": today + timedelta(days=366)}, "due_too_far"),
        (Selection(field="X9"), {}, "unknown_field"),
        (Selection(goal="X9"), {}, "unknown_goal"),
        (Selection(department="Bauamt"), {}, "unknown_department"),
        (Selection(measure_codes=("M0001", "Z0404")), {}, "unknown_measure"),
        (Selection(measure_ids=(999_999,)), {}, "unknown_measure"),
        (Selection(), {"cycle_year": 2031}, "no_cycle"),
    ]
    for selection, kw, code in cases:
        assert refused(rt, world, selection, **kw).code == code, (selection, kw)
    assert refused(rt, world, Selection(field="X9")).params == {"value": "X9"}
    assert refused(rt, world, Selection(measure_codes=("Z0404",))).params == {"value": "Z0404"}
    with unit_of_work(rt.sessions) as s:
        for m in s.scalars(select(Measure).where(Measure.code.like("N%"))):
            m.contact_id = None
    assert refused(rt, world, Selection(goal="NG1")).code == "no_measures"
    # Today and a year ahead are both fine.
    assert open_check(rt, world, Selection(field="MF"), due_on=today)
    assert open_check(rt, world, Selection(field="MF"), due_on=today + timedelta(days=365))
    with rt.sessions() as s:
        assert len(s.scalars(select(StatusCheck)).all()) == 2


def test_one_part_per_contact_with_all_their_measures_scheduled_and_invited(rt: Runtime) -> None:
    world = build(rt)
    with unit_of_work(rt.sessions) as s:  # N0002 has no contact: left out and counted
        m = s.scalars(select(Measure).where(Measure.code == "N0002")).one()
        m.contact_id = None
    check_id = open_check(rt, world, Selection(), due_on=date(2026, 4, 18), title="Frühjahr")
    with rt.sessions() as s:
        check = s.get(StatusCheck, check_id)
        assert check is not None
        assert check.due_on == date(2026, 4, 20)  # Saturday 18 April rolls to Monday
        assert check.origin == "manual" and check.dedupe_key.startswith("manual:")
        assert check.cycle_id == world.cycle_id and check.title == "Frühjahr"
        assert check.selection == {"skipped_without_contact": 1}
        parts = s.scalars(
            select(StatusCheckRequest).where(StatusCheckRequest.status_check_id == check_id)
        ).all()
        asked = {
            p.contact_id: [
                (i.measure.code, i.measure_cycle_id is not None)
                for i in s.scalars(
                    select(StatusCheckItem)
                    .where(StatusCheckItem.request_id == p.id)
                    .order_by(StatusCheckItem.id)
                )
            ]
            for p in parts
        }
        n_contact = s.scalars(select(Measure.contact_id).where(Measure.code == "N0001")).one()
        assert asked == {
            world.contact_id: [("M0001", True), ("M0003", True)],
            world.other_contact_id: [("M0002", True), ("M0004", True)],
            n_contact: [("N0001", False)],
        }
        for part in parts:
            assert part.due_on == date(2026, 4, 20) and part.stay == 1
            assert part.opened_at == rt.clock.now()
            # 14 days before the due date, at the policy's send hour.
            assert part.next_action_at == datetime(2026, 4, 6, 8, tzinfo=BERLIN)
        invitations = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "status_check_request")
        ).all()
        assert sorted(r.dedupe_key for r in invitations) == sorted(
            f"sc:{p.id}:1:request:0" for p in parts
        )
        for row in invitations:
            assert row.context["phase"] == Phase.STATUS_CHECK.value
            assert row.context["cycle_id"] == world.cycle_id
        timeline = s.scalars(
            select(AuditEvent).where(AuditEvent.event == "status_check_requested")
        ).all()
        stays = s.scalars(select(MeasureCycle.id).where(MeasureCycle.cycle_id == world.cycle_id))
        assert sorted(e.measure_cycle_id or 0 for e in timeline) == sorted(stays)
        assert {e.payload["due_on"] for e in timeline} == {"2026-04-20"}
        assert {e.payload["status_check_id"] for e in timeline} == {check_id}


def test_closing_takes_every_part_off_the_schedule_once(rt_sqlite: Runtime) -> None:
    rt = rt_sqlite
    world = build(rt)
    check_id = open_check(rt, world, Selection(field="MF"))
    with unit_of_work(rt.sessions) as s:
        closed = close_status_check(
            s, clock=rt.clock, organisation_id=world.org_id, status_check_id=check_id,
            actor="user:1",
        )  # fmt: skip
        assert closed.closed_at == rt.clock.now() and closed.closed_by == "user:1"
    with rt.sessions() as s:
        parts = s.scalars(select(StatusCheckRequest)).all()
        assert len(parts) == 2 and all(p.next_action_at is None for p in parts)
    for org_id, ident, code in (
        (world.org_id, check_id, "closed"),
        (world.org_id + 1, check_id, "not_found"),  # another organisation's id
        (world.org_id, 999_999, "not_found"),
    ):
        with pytest.raises(StatusCheckRefused) as caught, unit_of_work(rt.sessions) as s:
            close_status_check(
                s, clock=rt.clock, organisation_id=org_id, status_check_id=ident, actor="u"
            )
        assert caught.value.code == code


@pytest.fixture
def mailing_rt(
    sqlite_url: str, clock: FrozenClock, tmp_path: Path, smtp_sink: tuple[int, CapturingHandler]
) -> Any:
    port, _ = smtp_sink
    yield make_runtime(sqlite_url, clock, tmp_path, smtp_host="127.0.0.1", smtp_port=port)
    runtime.install(None)


def _plain(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_each_contact_gets_one_email_whose_link_opens_only_their_part(
    mailing_rt: Runtime, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    rt = mailing_rt
    _, sink = smtp_sink
    world = build(rt)
    check_id = open_check(rt, world, Selection(field="MF"))
    send_pending(rt)
    sent = [m for m in sink.messages if m["X-Zielflow-Kind"] == "status_check_request"]
    assert len(sent) == 2
    links: dict[int, str] = {}
    with rt.sessions() as s:
        parts = {
            p.contact.email: p
            for p in s.scalars(
                select(StatusCheckRequest).where(StatusCheckRequest.status_check_id == check_id)
            )
        }
        for message in sent:
            part = parts[str(message["To"]).split("<")[-1].rstrip(">")]
            assert str(message["Subject"]) == "Bitte um den aktuellen Sachstand – Antwort bis 15.04.2026"
            text = _plain(message)
            own = ["M0001", "M0003"] if part.contact_id == world.contact_id else ["M0002", "M0004"]
            others = {"M0001", "M0002", "M0003", "M0004"} - set(own)
            assert all(code in text for code in own) and not any(c in text for c in others)
            assert "Der Link gilt bis zum 15.05.2026" in text
            found = LINK.search(text)
            assert found is not None, text
            state, token = look_up(s, found[1], rt.clock.now())
            assert state is TokenState.VALID and token is not None
            assert token.phase == Phase.STATUS_CHECK.value
            assert token.status_check_request_id == part.id
            assert token.contact_id == part.contact_id
            assert token.cycle_id == world.cycle_id
            # The end of the 30th day after the due date, local time.
            assert token.expires_at == datetime(2026, 5, 16, tzinfo=BERLIN)
            links[part.contact_id] = found[1]
    # The link opens the contact's form with their measures only.
    client = TestClient(create_app())
    page = client.get(f"/f/{links[world.contact_id]}")
    assert page.status_code == 200
    assert "M0001" in page.text and "M0003" in page.text and "M0002" not in page.text
    # The renderer names the part in English for an English-speaking contact, too.
    with unit_of_work(rt.sessions) as s:
        row = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "status_check_request")
        ).first()
        assert row is not None
        row.language = "en"
        email = Renderer(s, rt.settings, rt.clock.now()).render([row])
        assert email.subject == "Status check: please answer by 15 April 2026"


def test_the_receipt_copies_the_answer_and_links_to_the_part(rt_sqlite: Runtime) -> None:
    rt = rt_sqlite
    world = build(rt)
    open_check(rt, world, Selection(field="MF"))
    with unit_of_work(rt.sessions) as s:
        part = s.scalars(
            select(StatusCheckRequest).where(StatusCheckRequest.contact_id == world.contact_id)
        ).one()
        first, _unanswered = s.scalars(
            select(StatusCheckItem)
            .where(StatusCheckItem.request_id == part.id)
            .order_by(StatusCheckItem.id)
        ).all()
        first.stand, first.note = "delayed", "Raumnot & Personalwechsel\nneuer Termin im Mai"
        first.indicator_values = {"K1": "12"}
        first.answered_at, first.answered_by, first.revision = rt.clock.now(), "contact:1", 1
        draft = mail.confirmation(part, revision=1, by=f"contact:{world.contact_id}")
        assert draft.dedupe_key == f"sc:{part.id}:confirmation:1"
        enqueue(s, [draft], now=rt.clock.now())
        row = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "status_check_confirmation")
        ).one()
        email = Renderer(s, rt.settings, rt.clock.now()).render([row])
        raw = LINK.search(email.text)
        assert raw is not None
        _, token = look_up(s, raw[1], rt.clock.now())
        assert token is not None and token.status_check_request_id == part.id
    assert email.subject == "Eingangsbestätigung: Ihr Sachstand zu 2 Maßnahmen ist eingegangen"
    assert "Eingetragen von: Kontakt 0" in email.text
    assert "  Stand: verzögert\n" in email.text
    assert "  Kennzahl K1: 12\n" in email.text
    assert "  Anmerkung:\n    Raumnot & Personalwechsel\n    neuer Termin im Mai\n" in email.text
    assert "(noch keine Angaben)" in email.text  # M0003 is not answered yet


def test_two_checks_to_one_contact_are_two_emails_with_their_own_links(
    mailing_rt: Runtime, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    rt = mailing_rt
    _, sink = smtp_sink
    world = build(rt)
    first = open_check(rt, world, Selection(measure_codes=("M0001",)))
    second = open_check(rt, world, Selection(measure_codes=("M0003",)))
    send_pending(rt)
    sent = [m for m in sink.messages if m["X-Zielflow-Kind"] == "status_check_request"]
    assert len(sent) == 2
    with rt.sessions() as s:
        opened = set()
        for message in sent:
            found = LINK.search(_plain(message))
            assert found is not None
            _, token = look_up(s, found[1], rt.clock.now())
            assert token is not None and token.status_check_request_id is not None
            part = s.get(StatusCheckRequest, token.status_check_request_id)
            assert part is not None
            opened.add(part.status_check_id)
    assert opened == {first, second}
