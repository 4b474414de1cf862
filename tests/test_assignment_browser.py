"""An Auftrag in real headless Chromium: the sweep reminds it past its reminder date, the SMTP
sink catches the reminder, the contact follows its link, makes a mistake, answers; the
register shows it done; axe-core finds nothing serious on the form; screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from notifications.sender import SendReport, send_pending
from notifications.sink import CapturingHandler
from tests.conftest import OUTPUT, make_runtime
from tests.dashboard_seed import EMAILS, PASSWORD
from tests.live import LiveServer, start_live_server
from tests.test_assignments import DUE, at, build, give
from workflow import runtime
from workflow.accounts import Role, add_or_update_user
from workflow.clock import FrozenClock
from workflow.cycles.models import AuditEvent
from workflow.db import unit_of_work
from workflow.decisions.models import Decision
from workflow.runtime import Runtime
from workflow.sweep import run_sweep

pytestmark = pytest.mark.browser
LINK = re.compile(r"https?://\S+/f/[A-Za-z0-9_-]{43}")


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


def _shot(page: Any, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


def test_an_auftrag_is_reminded_and_answered_through_its_emailed_form(
    live: tuple[Runtime, LiveServer, CapturingHandler], browser: Any, clock: FrozenClock
) -> None:
    rt, server, handler = live
    world = build(rt)
    auftrag = give(rt, world, text="Bitte legen Sie einen Zeitplan für die Sprachkurse vor.")
    with unit_of_work(rt.sessions) as s:
        add_or_update_user(
            session=s, organisation_id=world.org_id, email=EMAILS[Role.COORDINATOR],
            role=Role.COORDINATOR, password=PASSWORD, now=clock.now(),
        )  # fmt: skip
    _send(rt)  # the request, and the measures' invitations of the cycle
    handler.messages.clear()

    # Past the first reminder date (14 days before the due date): one reminder, once.
    clock.set(at(date(2026, 4, 2)))
    run_sweep(sessions=rt.sessions, clock=clock)
    run_sweep(sessions=rt.sessions, clock=clock)
    assert _send(rt).by_kind.get("assignment_reminder") == 1  # the measures have their own
    (reminder,) = [m for m in handler.messages if m["X-Zielflow-Kind"] == "assignment_reminder"]
    assert "15.04.2026" in str(reminder["Subject"])
    text = reminder.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    url = LINK.search(text)
    assert url is not None

    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="de-DE")
    page = context.new_page()
    response = page.goto(url[0])
    assert response.status == 200 and response.headers["referrer-policy"] == "no-referrer"
    assert page.locator("h1").inner_text() == "Rückmeldung zu Aufträgen"
    section = page.locator(f"#assignment-{auftrag}")
    assert "Bitte legen Sie einen Zeitplan für die Sprachkurse vor." in section.inner_text()
    assert "Steuerungsgruppe Integration" in section.inner_text()
    assert DUE.strftime("%d.%m.%Y") in section.inner_text()
    _axe(page, "assignment form")
    _shot(page, "assignment_form")

    # Forgot to say whether it is done: the error at the field, the text still there.
    section.get_by_label("Ihre Antwort").fill("Der Zeitplan ist an alle Schulen verschickt.")
    section.get_by_role("button", name="Antwort senden").click()
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert "Bitte wählen Sie, ob der Auftrag erledigt" in summary.inner_text()
    assert (
        section.get_by_label("Ihre Antwort").input_value()
        == "Der Zeitplan ist an alle Schulen verschickt."
    )
    _axe(page, "assignment form with errors")
    _shot(page, "assignment_form_errors")
    section.get_by_label("Erledigt").check()
    section.get_by_role("button", name="Antwort senden").click()
    page.locator(".notice").wait_for()
    assert "als erledigt gemeldet" in page.locator(".notice").inner_text()
    assert "Als erledigt gemeldet am 02.04.2026" in section.inner_text()
    _axe(page, "assignment answered")
    _shot(page, "assignment_answered")

    with rt.sessions() as s:
        stored = s.get(Decision, auftrag)
        assert stored is not None
        assert (stored.status, stored.answer) == (
            "done",
            "Der Zeitplan ist an alle Schulen verschickt.",
        )
        assert s.scalars(
            select(AuditEvent.event).where(AuditEvent.event == "assignment_answered")
        ).all()
    assert _send(rt).by_kind.get("assignment_confirmation") == 1

    # The coordinator's register shows it done.
    page.goto(f"{server.url}/login")
    page.get_by_label("E-Mail").fill(EMAILS[Role.COORDINATOR])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.goto(f"{server.url}/beschluesse")
    row = page.locator(f'tr[data-decision="{auftrag}"]')
    assert row.locator("[data-status]").get_attribute("data-status") == "done"
    assert "erledigt" in row.inner_text()
    _shot(page, "assignment_register")

    # No more reminders once done.
    clock.set(at(date(2026, 4, 30)))
    run_sweep(sessions=rt.sessions, clock=clock)
    assert not [k for k in _send(rt).by_kind if k.startswith("assignment_")]
    context.close()
