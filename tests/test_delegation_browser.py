"""A hand-over in real headless Chromium (issue 10, findings 2 and 6): the contact hands the
form to an outside address from the emailed link, a name that is not a name is refused at the
field, and the coordinator approves it on the measure page; axe-core checks both pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from notifications.sender import SendReport, send_pending
from notifications.sink import CapturingHandler
from tests.conftest import OUTPUT, make_runtime
from tests.delegation_support import COORDINATOR, PASSWORD, coordinator_client, links, to
from tests.form_support import build_world
from tests.live import LiveServer, start_live_server
from workflow import runtime
from workflow.clock import FrozenClock
from workflow.runtime import Runtime

pytestmark = pytest.mark.browser
OUTSIDER = "nora.neu@verein.example.net"


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


def test_a_contact_hands_on_to_an_outside_address_and_the_coordinator_approves(
    live: tuple[Runtime, LiveServer, CapturingHandler], browser: Any
) -> None:
    rt, server, sink = live
    world = build_world(rt)
    coordinator_client(rt, world.org_id)  # sets the coordinator's password
    _send(rt)
    [own_link] = links(to(sink, "mkontakt0@stadt.example.org"))

    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="de-DE")
    page = context.new_page()
    page.goto(f"{server.url}/f/{own_link}")
    page.get_by_label("E-Mail-Adresse").fill(OUTSIDER)
    page.get_by_label("Name", exact=True).fill("Gewinnen Sie: www.evil.example")
    page.get_by_role("button", name="Formular weitergeben").click()
    error = page.locator("#delegate_name-error")
    assert "Bitte geben Sie nur den Namen an" in error.inner_text()
    assert page.get_by_label("Name", exact=True).get_attribute("aria-invalid") == "true"
    _axe(page, "form with a refused hand-over")

    page.get_by_label("Name", exact=True).fill("Nora Neu")
    page.get_by_role("button", name="Formular weitergeben").click()
    assert "erst nach Freigabe" in page.locator("p.notice").inner_text()
    _send(rt)
    assert to(sink, OUTSIDER) == []

    page.goto(f"{server.url}/login")
    page.get_by_label("E-Mail-Adresse").fill(COORDINATOR)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(re.compile(".*/pipeline.*"))
    page.goto(f"{server.url}/massnahmen/{world.mine[0]}")
    row = page.locator('tr[data-status="pending"]')
    assert OUTSIDER in row.inner_text() and "wartet auf Freigabe" in row.inner_text()
    _axe(page, "measure page with a pending hand-over")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "delegation-pending.png"), full_page=True)
    row.get_by_role("button", name="Freigeben").click()
    assert "Die Weitergabe ist freigegeben." in page.locator(".flash").inner_text()
    assert page.locator('tr[data-status="active"]').count() == 1
    context.close()
    _send(rt)
    assert len(links(to(sink, OUTSIDER))) == 1
