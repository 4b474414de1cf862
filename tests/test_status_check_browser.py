"""A status check end to end in real headless Chromium: opened through the service, the
invitation read from the SMTP sink, one measure answered "verzögert" with its milestone
moved, then the badge on the coordinator's pipeline and the line in the meeting pack;
axe-core finds nothing serious on the form and on the status sheet."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from notifications.sender import SendReport, send_pending
from notifications.sink import CapturingHandler
from tests import factories
from tests.conftest import make_runtime
from tests.dashboard_seed import EMAILS, PASSWORD
from tests.live import LiveServer, start_live_server
from tests.status_support import cycle, milestone, stay
from workflow import runtime
from workflow.accounts import Role, add_or_update_user
from workflow.bodies.models import Body, BodyKind, Meeting
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.milestones.models import Milestone
from workflow.runtime import Runtime
from workflow.status_checks.selection import Selection
from workflow.status_checks.service import open_status_check

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


@dataclass
class World:
    measure_code: str
    field_code: str
    item_id: int  # the measure's stay, as the pipeline links it
    milestone_id: int
    meeting_id: int


def _world(rt: Runtime) -> World:
    """One measure in Umsetzung with one milestone, a coordinator, a Begleitgremium meeting,
    and a status check opened through the service (its invitation is in the outbox)."""
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        (measure,) = factories.measures(s, org, 1)
        mc = stay(s, measure, cycle(s, org.id, 2026))
        planned = milestone(s, mc, date(2026, 3, 10), text="Träger ausgewählt", position=0)
        user = add_or_update_user(
            session=s,
            organisation_id=org.id,
            email=EMAILS[Role.COORDINATOR],
            role=Role.COORDINATOR,
            password=PASSWORD,
            now=rt.clock.now(),
        )
        board = Body(organisation_id=org.id, name="Begleitgremium", kind=BodyKind.ADVISORY_BOARD)
        s.add(board)
        s.flush()
        meeting = Meeting(body_id=board.id, held_on=date(2026, 3, 18), title="Frühjahrssitzung")
        s.add(meeting)
        s.flush()
        open_status_check(
            s,
            clock=rt.clock,
            organisation_id=org.id,
            selection=Selection(),
            due_on=date(2026, 3, 20),
            actor=f"user:{user.id}",
            title="Sachstand Frühjahr",
        )
        return World(measure.code, measure.goal.field.code, mc.id, planned.id, meeting.id)


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


def test_from_the_status_check_email_to_the_badge_and_the_pack(
    live: tuple[Runtime, LiveServer, CapturingHandler], browser: Any
) -> None:
    rt, server, handler = live
    w = _world(rt)
    assert _send(rt).by_kind == {"status_check_request": 1}
    (message,) = handler.messages
    url = LINK.search(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert url is not None

    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="de-DE")
    page = context.new_page()
    response = page.goto(url[0])
    assert response.status == 200
    section = page.locator("section.measure", has_text=w.measure_code)
    _axe(page, "status check form")
    section.get_by_label("verzögert").check()
    section.get_by_label("noch nicht erreicht – neues Datum unten angeben").check()
    section.get_by_label("Neues Datum", exact=True).fill("2026-05-15")
    section.get_by_label("Kurze Erläuterung").fill("Der Träger sagte ab; neue Ausschreibung läuft.")
    section.get_by_role("button", name="Rückmeldung senden").click()
    page.get_by_text("Vielen Dank, Ihre Rückmeldung ist eingegangen").first.wait_for()
    with rt.sessions() as s:
        moved = s.get(Milestone, w.milestone_id)
        assert moved is not None and moved.due_on == date(2026, 5, 15)

    page.goto(f"{server.url}/login")
    page.get_by_label("E-Mail").fill(EMAILS[Role.COORDINATOR])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.goto(f"{server.url}/pipeline")
    card = page.locator("li.card", has=page.locator(f'a[href="/massnahmen/{w.item_id}"]'))
    badge = card.locator("[data-stand]")
    assert badge.inner_text() == "verzögert"
    assert badge.get_attribute("data-stand") == "delayed"
    assert "Stand vom 02.03.2026" in card.inner_text()
    _axe(page, "pipeline with a status badge")

    page.goto(f"{server.url}/sitzungen/{w.meeting_id}/unterlage")
    line = page.locator(f'#stand tr[data-measure="{w.measure_code}"]')
    assert "verzögert" in line.inner_text() and "02.03.2026" in line.inner_text()

    page.goto(f"{server.url}/berichte/sachstand?feld={w.field_code}")
    sheet_line = page.locator(f'tr[data-measure="{w.measure_code}"]')
    assert "Der Träger sagte ab" in sheet_line.inner_text()
    assert "15.05.2026: Träger ausgewählt" in sheet_line.inner_text()
    _axe(page, "status sheet")
    context.close()
