"""Milestones of a target agreement (issue 12, item 3): rows from the agreement, one
"Meilenstein erreicht?" email on the day, and the answer page behind its links.

Rows and the sweep are database rules and run on SQLite and PostgreSQL; the pages run on
SQLite. Agreements enter Umsetzung as the form does it (``TargetAgreement`` + the
``submit_agreement`` move), once through the real form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.render import Renderer
from notifications.sender import SendReport, send_pending
from notifications.sink import CapturingHandler
from tests.conftest import BERLIN, OUTPUT, make_runtime
from tests.dashboard_seed import csrf_headers
from tests.form_support import Browser, World, agreement, build_world, link
from tests.live import LiveServer, start_live_server
from workflow import runtime
from workflow.accounts import User, hash_password
from workflow.clock import FrozenClock
from workflow.cycles.models import AuditEvent, Cycle, MeasureCycle, TargetAgreement
from workflow.db import unit_of_work
from workflow.forms.tokens import Phase, issue_token
from workflow.milestones.answers import confirm
from workflow.milestones.models import Milestone
from workflow.milestones.queries import missed, open_milestones
from workflow.milestones.sync import backfill, sync_from_agreement
from workflow.runtime import Runtime
from workflow.sweep import run_sweep
from workflow.transitions import apply_event

ANSWER_LINK = re.compile(r"https?://[^\s\"'<>]+/f/([A-Za-z0-9_-]{43})\?antwort=(ja|neu)")
DUE = date(2026, 6, 30)  # a Tuesday: asked at 08:00 that day


def at(day: date, hour: int = 8, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def implement(rt: Runtime, mc_id: int, items: list[dict[str, str]], *, sync: bool = True) -> None:
    """The agreement is submitted and the stay enters Umsetzung, as the form does it."""
    with unit_of_work(rt.sessions) as s:
        answer = TargetAgreement(
            measure_cycle_id=mc_id,
            decision="implement",
            targets="20 Lesepaten",
            responsible="Frau A",
            milestones=items,
            submitted_at=rt.clock.now(),
            submitted_by="contact:1",
        )
        s.add(answer)
        mc = apply_event(
            session=s, clock=rt.clock, measure_cycle_id=mc_id, event="submit_agreement",
            expected_version=None, actor="test",
        )  # fmt: skip
        if sync:
            sync_from_agreement(s, measure_cycle=mc, agreement=answer, now=rt.clock.now())


def correct(rt: Runtime, mc_id: int, items: list[dict[str, str]]) -> None:
    with unit_of_work(rt.sessions) as s:
        answer = s.scalars(
            select(TargetAgreement).where(TargetAgreement.measure_cycle_id == mc_id)
        ).one()
        answer.milestones = items
        mc = s.get(MeasureCycle, mc_id)
        assert mc is not None
        sync_from_agreement(s, measure_cycle=mc, agreement=answer, now=rt.clock.now())


def rows(rt: Runtime, mc_id: int) -> list[dict[str, Any]]:
    with rt.sessions() as s:
        found = s.scalars(
            select(Milestone)
            .where(Milestone.measure_cycle_id == mc_id)
            .order_by(Milestone.position)
        )
        return [
            {c: getattr(m, c) for c in ("id", "position", "text", "planned_on", "due_on",
                                         "status", "moves", "next_action_at")}
            for m in found
        ]  # fmt: skip


def asked(rt: Runtime) -> list[str]:
    with rt.sessions() as s:
        return list(
            s.scalars(
                select(OutboxMessage.dedupe_key)
                .where(OutboxMessage.kind == "milestone_due")
                .order_by(OutboxMessage.id)
            )
        )


def events(rt: Runtime, mc_id: int) -> list[tuple[str, dict[str, Any]]]:
    with rt.sessions() as s:
        return [
            (e.event, e.payload)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.measure_cycle_id == mc_id, AuditEvent.event.like("milestone_%"))
                .order_by(AuditEvent.id)
            )
        ]


def sweep_at(rt: Runtime, clock: FrozenClock, moment: datetime) -> None:
    clock.set(moment)
    run_sweep(sessions=rt.sessions, clock=clock)


# -- rows from the agreement (both databases) ------------------------------------------------


def test_sync_creates_corrects_withdraws_and_keeps_reached_rows(rt: Runtime) -> None:
    world = build_world(rt, measures=2)
    mc_id = world.mine[0]
    agreed = [
        {"text": "Konzept fertig", "date": "2026-06-30"},
        {"text": "ohne Datum", "date": ""},
        {"text": "Auftakt", "date": "2026-09-15"},
        {"text": "Bilanz", "date": "2026-11-30"},
    ]
    implement(rt, mc_id, agreed)
    first = rows(rt, mc_id)
    assert [(r["position"], r["text"], r["due_on"], r["status"]) for r in first] == [
        (0, "Konzept fertig", DUE, "open"),
        (2, "Auftakt", date(2026, 9, 15), "open"),
        (3, "Bilanz", date(2026, 11, 30), "open"),
    ]
    assert first[0]["next_action_at"] == at(DUE)
    correct(rt, mc_id, agreed)  # the same agreement again changes nothing
    assert rows(rt, mc_id) == first

    with unit_of_work(rt.sessions) as s:
        confirm(s, clock=rt.clock, milestone_id=first[2]["id"], by="contact:1")
    # Corrected: a new text, a date on Saturday 3 October (a holiday), "Bilanz" dropped.
    correct(rt, mc_id, [
        {"text": "Konzept abgestimmt", "date": "2026-06-30"},
        {"text": "ohne Datum", "date": ""},
        {"text": "Auftakt", "date": "03.10.2026"},
    ])  # fmt: skip
    after = {r["position"]: r for r in rows(rt, mc_id)}
    assert after[0]["text"] == "Konzept abgestimmt" and after[0]["due_on"] == DUE
    assert after[2]["planned_on"] == after[2]["due_on"] == date(2026, 10, 3)
    assert after[2]["next_action_at"] == at(date(2026, 10, 5))  # the next working day
    # "Bilanz" was reached before the correction: it stays as it was.
    assert after[3]["status"] == "reached" and after[3]["text"] == "Bilanz"

    correct(rt, mc_id, [{"text": "Konzept abgestimmt", "date": "2026-06-30"}])
    after = {r["position"]: r for r in rows(rt, mc_id)}
    assert after[2]["status"] == "withdrawn" and after[2]["next_action_at"] is None
    assert [r["id"] for r in after.values()] == [r["id"] for r in first]
    with rt.sessions() as s:
        shown = open_milestones(s, measure_cycle_ids=[mc_id, world.mine[-1]])
        assert [m.text for m in shown[mc_id]] == ["Konzept abgestimmt"]


def test_asked_once_on_the_day_across_two_sweeps_and_stays_are_caught_up(
    rt: Runtime, clock: FrozenClock
) -> None:
    world = build_world(rt, measures=2)
    mc_id = world.mine[0]
    # Entered Umsetzung without rows (as before this code existed): the sweep catches up.
    implement(rt, mc_id, [{"text": "Konzept fertig", "date": "2026-06-30"}], sync=False)
    assert rows(rt, mc_id) == []
    sweep_at(rt, clock, at(DUE, 7, 59))
    [row] = rows(rt, mc_id)
    assert row["next_action_at"] == at(DUE) and asked(rt) == []
    sweep_at(rt, clock, at(DUE))
    sweep_at(rt, clock, at(DUE, 8, 5))
    assert asked(rt) == [f"ms:{row['id']}:2026-06-30:ask"]
    assert rows(rt, mc_id)[0]["next_action_at"] is None
    sweep_at(rt, clock, at(DUE + timedelta(days=3)))
    assert len(asked(rt)) == 1


def test_the_catch_up_pages_through_agreements_one_by_one(rt: Runtime) -> None:
    world = build_world(rt, measures=2)
    stays = [world.mine[0], world.theirs[0]]
    for mc_id in stays:
        implement(rt, mc_id, [{"text": "Konzept fertig", "date": "2026-06-30"}], sync=False)
    with unit_of_work(rt.sessions) as s:
        assert backfill(s, now=rt.clock.now(), batch_size=1) == 2
    with unit_of_work(rt.sessions) as s:
        assert backfill(s, now=rt.clock.now(), batch_size=1) == 0  # each stay once
    assert [len(rows(rt, mc_id)) for mc_id in stays] == [1, 1]


def synced(rt: Runtime, mc_id: int) -> bool:
    with rt.sessions() as s:
        return bool(
            s.scalar(
                select(TargetAgreement.milestones_synced).where(
                    TargetAgreement.measure_cycle_id == mc_id
                )
            )
        )


def test_an_agreement_without_a_readable_date_is_looked_at_once(rt: Runtime) -> None:
    world = build_world(rt, measures=2)
    mc_id = world.mine[0]
    implement(rt, mc_id, [{"text": "Konzept fertig", "date": "im Sommer"}], sync=False)
    assert not synced(rt, mc_id)
    with unit_of_work(rt.sessions) as s:
        assert backfill(s, now=rt.clock.now()) == 1
    assert synced(rt, mc_id) and rows(rt, mc_id) == []
    with unit_of_work(rt.sessions) as s:
        assert backfill(s, now=rt.clock.now()) == 0


def test_an_agreement_whose_stay_is_past_implementation_is_marked_without_rows(
    rt: Runtime,
) -> None:
    world = build_world(rt, measures=2)
    past, waiting = world.mine[0], world.theirs[0]
    implement(rt, past, [{"text": "Konzept fertig", "date": "2026-06-30"}], sync=False)
    with unit_of_work(rt.sessions) as s:
        apply_event(
            session=s, clock=rt.clock, measure_cycle_id=past, event="start_review",
            expected_version=None, actor="test",
        )  # fmt: skip
        # An agreement written while its stay is still in Zielvereinbarung: owed later.
        s.add(TargetAgreement(measure_cycle_id=waiting, decision="implement", milestones=[]))
    with unit_of_work(rt.sessions) as s:
        assert backfill(s, now=rt.clock.now()) == 0
    assert synced(rt, past) and rows(rt, past) == []
    assert not synced(rt, waiting)


def test_a_list_written_without_the_sync_is_caught_up_by_the_next_pass(rt: Runtime) -> None:
    world = build_world(rt, measures=2)
    mc_id = world.mine[0]
    implement(rt, mc_id, [{"text": "Konzept fertig", "date": "2026-06-30"}])
    assert synced(rt, mc_id)
    with unit_of_work(rt.sessions) as s:
        assert backfill(s, now=rt.clock.now()) == 0
        answer = s.scalars(
            select(TargetAgreement).where(TargetAgreement.measure_cycle_id == mc_id)
        ).one()
        answer.milestones = [
            {"text": "Konzept fertig", "date": "2026-07-15"},
            {"text": "Start", "date": "2026-09-01"},
        ]
    assert not synced(rt, mc_id)
    with unit_of_work(rt.sessions) as s:
        assert backfill(s, now=rt.clock.now()) == 1
    assert [(r["planned_on"], r["status"]) for r in rows(rt, mc_id)] == [
        (date(2026, 7, 15), "open"),
        (date(2026, 9, 1), "open"),
    ]
    assert synced(rt, mc_id)


def test_missed_after_the_grace_days_and_not_once_reached(rt: Runtime) -> None:
    world = build_world(rt, measures=2)
    mc_id = world.mine[0]
    implement(rt, mc_id, [{"text": "Konzept fertig", "date": "2026-06-30"},
                          {"text": "Auftakt", "date": "2026-07-10"}])  # fmt: skip
    with rt.sessions() as s:
        measure_id = s.get(MeasureCycle, mc_id).measure_id  # type: ignore[union-attr]
        assert missed(s, organisation_id=world.org_id, today=date(2026, 7, 14)) == {}
        late = missed(s, organisation_id=world.org_id, today=date(2026, 7, 15))
        assert [(k, m.text) for k, m in late.items()] == [(measure_id, "Konzept fertig")]
    first = rows(rt, mc_id)[0]["id"]
    with unit_of_work(rt.sessions) as s:
        confirm(s, clock=rt.clock, milestone_id=first, by="contact:1")
    with rt.sessions() as s:
        assert missed(s, organisation_id=world.org_id, today=date(2026, 7, 15)) == {}
        assert [m.text for m in missed(s, organisation_id=world.org_id,
                                       today=date(2026, 7, 25)).values()] == ["Auftakt"]  # fmt: skip


# -- the form and the page (SQLite) ----------------------------------------------------------


def test_the_agreement_form_creates_rows_and_its_correction_moves_them(rt_sqlite: Runtime) -> None:
    rt = rt_sqlite
    world = build_world(rt, measures=2)
    mc_id = world.mine[0]
    browser = Browser(TestClient(create_app()))
    raw = link(rt, world)
    data = agreement(mc_id)  # one milestone: "Konzept fertig" on 30 June 2026
    assert browser.post(raw, {**data, "action": f"submit:{mc_id}"}).status_code == 303
    [row] = rows(rt, mc_id)
    assert (row["text"], row["due_on"], row["status"]) == ("Konzept fertig", DUE, "open")
    data[f"m-{mc_id}-ms-0-due"] = "2026-07-31"
    assert browser.post(raw, {**data, "action": f"submit:{mc_id}"}).status_code == 303
    [row] = rows(rt, mc_id)
    assert row["planned_on"] == row["due_on"] == date(2026, 7, 31)


def _asked_today(rt: Runtime, clock: FrozenClock, world: World) -> tuple[int, dict[str, str]]:
    """The first of ``world.mine`` in Umsetzung with one milestone, asked on its day; returns the
    milestone and the email's two answer tokens."""
    implement(rt, world.mine[0], [{"text": "Konzept & Zeitplan fertig", "date": "2026-06-30"}])
    sweep_at(rt, clock, at(DUE))
    with unit_of_work(rt.sessions) as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "milestone_due")).one()
        email = Renderer(s, rt.settings, clock.now()).render([row])
    assert email.subject == "Meilenstein erreicht? Konzept & Zeitplan fertig"
    assert "Maßnahme 1" in email.text and "vereinbart für den 30.06.2026" in email.text
    assert "Ja, erreicht" in email.html and "Noch nicht erreicht? Neues Datum angeben" in email.html
    links = {answer: raw for raw, answer in ANSWER_LINK.findall(email.text)}
    assert set(links) == {"ja", "neu"}
    return rows(rt, world.mine[0])[0]["id"], links


def test_opening_the_link_changes_nothing_and_the_button_records_reached(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    rt = rt_sqlite
    world = build_world(rt, measures=2)
    mc_id = world.mine[0]
    milestone_id, links = _asked_today(rt, clock, world)
    browser = Browser(TestClient(create_app()))
    clock.set(at(DUE, 9))
    for answer in ("ja", "neu", "ja"):  # a mail scanner, then the person
        page = browser.open(links[answer], antwort=answer)
        assert page.status_code == 200
    assert 'name="antwort" value="ja"' in page.text and "Konzept &amp; Zeitplan fertig" in page.text
    assert rows(rt, mc_id)[0]["status"] == "open" and events(rt, mc_id) == []

    response = browser.post(links["ja"], {"antwort": "ja", "lang": "de"})
    assert response.status_code == 303 and "notice=reached" in response.headers["location"]
    assert browser.post(links["neu"], {"antwort": "ja", "lang": "de"}).status_code == 303
    [row] = rows(rt, mc_id)
    assert row["status"] == "reached" and row["next_action_at"] is None
    assert events(rt, mc_id) == [
        ("milestone_reached", {"milestone_id": milestone_id, "text": "Konzept & Zeitplan fertig",
                               "from": "2026-06-30", "to": "2026-06-30"}),
    ]  # fmt: skip
    shown = browser.open(links["ja"], notice="reached").text
    assert "Gespeichert: Der Meilenstein ist erreicht (gemeldet am 30.06.2026)" in shown
    assert 'value="ja"' not in shown  # reached: nothing left to answer

    # The coordinator reads it on the measure's timeline, in words.
    with unit_of_work(rt.sessions) as s:
        user = s.scalars(select(User)).one()
        user.password_hash = hash_password("ein langes Passwort 123")
    coordinator = TestClient(create_app())
    coordinator.post(
        "/login", data={"email": user.email, "password": "ein langes Passwort 123"},
        headers=csrf_headers(coordinator),
    )  # fmt: skip
    timeline = coordinator.get(f"/massnahmen/{mc_id}").text
    assert "<strong>Meilenstein erreicht?</strong>" in timeline  # the email, named
    assert (
        "„Konzept &amp; Zeitplan fertig“ (vereinbart für den 30.06.2026) wurde am 30.06.2026 "
        "als erreicht gemeldet." in timeline
    )
    assert "<small>(Kontakt 0)</small>" in timeline  # who answered, by name


def test_not_yet_refuses_a_past_date_and_a_move_asks_again_on_the_new_day(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    rt = rt_sqlite
    world = build_world(rt, measures=2)
    mc_id = world.mine[0]
    milestone_id, links = _asked_today(rt, clock, world)
    browser = Browser(TestClient(create_app()))
    clock.set(at(DUE, 9))
    browser.open(links["neu"], antwort="neu")
    for typed, message in (
        ("2026-06-01", "nicht in der Vergangenheit liegen (frühestens 30.06.2026)"),
        ("2029-07-01", "höchstens drei Jahre in der Zukunft liegen (spätestens 30.06.2029)"),
        ("31.02.2026", "Datum im Format TT.MM.JJJJ"),
    ):
        refused = browser.post(links["neu"], {"antwort": "neu", "datum": typed, "lang": "de"})
        assert refused.status_code == 422
        assert message in refused.text and f'value="{typed}"' in refused.text
    assert rows(rt, mc_id)[0]["moves"] == 0 and events(rt, mc_id) == []

    for _ in range(2):  # the same answer twice is recorded once
        moved = browser.post(links["neu"], {"antwort": "neu", "datum": "2026-07-20", "lang": "de"})
        assert moved.status_code == 303 and "notice=moved" in moved.headers["location"]
    [row] = rows(rt, mc_id)
    assert (row["planned_on"], row["due_on"], row["moves"]) == (DUE, date(2026, 7, 20), 1)
    assert events(rt, mc_id) == [
        ("milestone_moved", {"milestone_id": milestone_id, "text": "Konzept & Zeitplan fertig",
                             "from": "2026-06-30", "to": "2026-07-20"}),
    ]  # fmt: skip
    page = browser.open(links["neu"], notice="moved").text
    assert "Neues Datum ist der 20.07.2026" in page and 'value="ja"' in page  # may change it

    sweep_at(rt, clock, at(date(2026, 7, 17)))
    assert len(asked(rt)) == 1
    sweep_at(rt, clock, at(date(2026, 7, 20)))
    sweep_at(rt, clock, at(date(2026, 7, 20), 9))
    assert asked(rt) == [f"ms:{milestone_id}:2026-06-30:ask", f"ms:{milestone_id}:2026-07-20:ask"]


def test_a_token_of_another_milestone_cycle_or_phase_answers_nothing(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    rt = rt_sqlite
    world = build_world(rt, measures=4)
    first, second = world.mine[0], world.mine[1]
    implement(rt, first, [{"text": "Erster", "date": "2026-06-30"}])
    implement(rt, second, [{"text": "Zweiter", "date": "2026-06-30"}])
    mine, theirs = rows(rt, first)[0]["id"], rows(rt, second)[0]["id"]
    now = clock.now()
    with unit_of_work(rt.sessions) as s:
        other_cycle = Cycle(
            organisation_id=world.org_id, year=2027, starts_on=date(2027, 1, 1),
            ends_on=date(2027, 12, 31), opened_at=now, policy={},
        )  # fmt: skip
        s.add(other_cycle)
        s.flush()
        common = {"session": s, "organisation_id": world.org_id, "contact_id": world.contact_id,
                  "expires_at": now + timedelta(days=60), "now": now, "issued_by": "test"}  # fmt: skip
        own = issue_token(
            cycle_id=world.cycle_id, phase=Phase.MILESTONE, milestone_id=mine, **common
        )
        wrong_cycle = issue_token(
            cycle_id=other_cycle.id, phase=Phase.MILESTONE, milestone_id=theirs, **common
        )
        no_milestone = issue_token(cycle_id=world.cycle_id, phase=Phase.MILESTONE, **common)
    agreement_link = link(rt, world)
    browser = Browser(TestClient(create_app()))
    browser.open(own)
    for raw in (wrong_cycle, no_milestone):
        assert browser.open(raw, antwort="ja").status_code == 404
        assert browser.post(raw, {"antwort": "ja"}).status_code == 303
    assert browser.post(agreement_link, {"antwort": "ja"}).status_code == 303
    # The token names the milestone; a posted id of another one is not looked at.
    assert browser.post(own, {"antwort": "ja", "milestone_id": str(theirs)}).status_code == 303
    assert rows(rt, first)[0]["status"] == "reached"
    assert rows(rt, second)[0]["status"] == "open" and events(rt, second) == []


# -- in real Chromium: the email through the sink, the page, axe-core --------------------------


@pytest.fixture
def live(
    sqlite_url: str, clock: FrozenClock, tmp_path: Path, smtp_sink: tuple[int, CapturingHandler]
) -> Iterator[tuple[Runtime, LiveServer, CapturingHandler]]:
    port, handler = smtp_sink
    rt = make_runtime(sqlite_url, clock, tmp_path, smtp_host="127.0.0.1", smtp_port=port)
    server = start_live_server()
    rt.settings.base_url = server.url  # links must point at the server the browser can reach
    yield rt, server, handler
    server.stop()
    runtime.install(None)
    rt.dispose()


def _send(rt: Runtime) -> SendReport:
    """The sender runs its own event loop; Playwright's sync API already has one in this thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(send_pending, rt).result(timeout=120)


def _axe(page: Any, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert bad == [], f"{name}: {bad}"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"milestone_{name}.png"), full_page=True)


@pytest.mark.browser
def test_a_milestone_is_moved_then_confirmed_from_its_email_in_chromium(
    live: tuple[Runtime, LiveServer, CapturingHandler], browser: Any, clock: FrozenClock
) -> None:
    rt, _server, handler = live
    world = build_world(rt, measures=2)
    mc_id = world.mine[0]
    implement(rt, mc_id, [{"text": "Konzept fertig", "date": "2026-06-30"}])
    _send(rt)  # the cycle's invitations
    handler.messages.clear()
    for _ in range(2):
        sweep_at(rt, clock, at(DUE))
    assert _send(rt).by_kind.get("milestone_due") == 1  # the other measures have their own
    (email,) = [m for m in handler.messages if m["X-Zielflow-Kind"] == "milestone_due"]
    assert str(email["Subject"]) == "Meilenstein erreicht? Konzept fertig"
    text = email.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    found = re.finditer(r"https?://\S+/f/[A-Za-z0-9_-]{43}\?antwort=(ja|neu)", text)
    urls = {m[1]: m[0] for m in found}
    assert set(urls) == {"ja", "neu"}

    clock.set(at(DUE, 10))
    page = browser.new_context(viewport={"width": 900, "height": 900}, locale="de-DE").new_page()
    response = page.goto(urls["neu"])
    assert response.status == 200 and response.headers["referrer-policy"] == "no-referrer"
    assert page.locator("h1").inner_text() == "Meilenstein erreicht?"
    _axe(page, "not_yet")
    date_field = page.get_by_label("Noch nicht erreicht – neues Datum")
    date_field.fill("2026-06-01")
    page.get_by_role("button", name="Neues Datum speichern").click()
    page.locator("#error-summary").wait_for()
    assert "nicht in der Vergangenheit" in page.locator("#error-summary").inner_text()
    assert page.get_by_label("Noch nicht erreicht – neues Datum").input_value() == "2026-06-01"
    _axe(page, "not_yet_error")
    page.get_by_label("Noch nicht erreicht – neues Datum").fill("2026-07-20")
    page.get_by_role("button", name="Neues Datum speichern").click()
    page.locator(".notice").wait_for()
    assert "20.07.2026" in page.locator(".notice").inner_text()
    _axe(page, "moved")
    page.get_by_role("button", name="Ja, erreicht").click()
    page.locator(".notice").wait_for()
    assert "Der Meilenstein ist erreicht" in page.locator(".notice").inner_text()
    _axe(page, "reached")
    page.context.close()
    assert [e for e, _ in events(rt, mc_id)] == ["milestone_moved", "milestone_reached"]
    assert rows(rt, mc_id)[0]["status"] == "reached"


def test_an_archived_organisation_is_asked_nothing_until_it_returns(
    rt: Runtime, clock: FrozenClock
) -> None:
    from tests.form_support import set_archived

    world = build_world(rt, measures=2)
    mc_id = world.mine[0]
    implement(rt, mc_id, [{"text": "Konzept fertig", "date": "2026-06-30"}])

    set_archived(rt, world.org_id, clock.now())
    sweep_at(rt, clock, at(DUE, 8, 5))
    assert asked(rt) == []
    [row] = rows(rt, mc_id)
    assert row["next_action_at"] == at(DUE)  # the date waits
    set_archived(rt, world.org_id, None)
    sweep_at(rt, clock, at(DUE + timedelta(days=1)))
    assert asked(rt) == [f"ms:{row['id']}:2026-06-30:ask"]
