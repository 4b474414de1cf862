"""End to end in real headless Chromium: the emailed link from the real SMTP sink, both forms
filled and submitted, autosave, an axe-core check of every page, screenshots under test-output/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from notifications.sender import SendReport, send_pending
from notifications.sink import CapturingHandler
from tests.conftest import OUTPUT, make_runtime
from tests.form_support import World, build_world
from tests.live import LiveServer, start_live_server
from workflow import runtime
from workflow.clock import FrozenClock
from workflow.cycles.models import MeasureCycle, TargetAgreement
from workflow.db import unit_of_work
from workflow.runtime import Runtime
from workflow.transitions import apply_event

pytestmark = pytest.mark.browser
LINK = re.compile(r"https?://\S+/f/[A-Za-z0-9_-]+")


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


def _link_for(handler: CapturingHandler, email: str, kind: str) -> str:
    for message in reversed(handler.messages):
        if email in str(message["To"]) and message["X-Zielflow-Kind"] == kind:
            text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
            found = LINK.search(text)
            assert found, text
            return found[0]
    raise AssertionError(f"no {kind} email to {email}: {[m['Subject'] for m in handler.messages]}")


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


def _shot(page: Any, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def test_contact_answers_both_forms_from_the_emailed_links(
    live: tuple[Runtime, LiveServer, CapturingHandler], browser: Any
) -> None:
    rt, _server, handler = live
    world: World = build_world(rt, measures=4)  # two measures for our contact
    first, second = world.mine
    assert _send(rt).emails_sent >= 1
    url = _link_for(handler, "mkontakt0@", "invitation_agreement")
    assert url.startswith(rt.settings.base_url + "/f/")

    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="de-DE")
    page = context.new_page()
    response = page.goto(url)
    assert response.status == 200 and response.headers["referrer-policy"] == "no-referrer"
    assert page.locator("h1").inner_text() == "Zielvereinbarung 2026"
    _axe(page, "agreement form")

    # Autosave: type, wait for the status line, reload: the text is still there.
    page.fill(f"#m-{first}-targets", "20 Lesepatinnen und -paten gewinnen")
    page.get_by_text("Entwurf gespeichert um").wait_for()
    page.reload()
    assert page.input_value(f"#m-{first}-targets") == "20 Lesepatinnen und -paten gewinnen"

    page.check(f"#m-{first}-decision-implement")
    page.fill(f"#m-{first}-responsible", "Frau Beispiel, Sachgebiet 40.2")
    page.fill(f"#m-{first}-ms-0-what", "Schulen angeschrieben")
    page.fill(f"#m-{first}-ms-0-due", "2026-05-15")
    page.check(f"#m-{second}-decision-deferred")
    _shot(page, "form_agreement")

    # Submitting without the deferral's reason: error summary first, focus on it, nothing lost.
    page.get_by_role("button", name="Alle abgeben").click()
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert "Bitte begründen Sie kurz" in summary.inner_text()
    assert page.input_value(f"#m-{first}-responsible") == "Frau Beispiel, Sachgebiet 40.2"
    _axe(page, "agreement form with errors")
    _shot(page, "form_agreement_errors")
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == f"m-{second}-reason"
    page.fill(f"#m-{second}-reason", "Personal fehlt bis Herbst")
    page.get_by_role("button", name="Alle abgeben").click()
    page.get_by_role("heading", name="Vielen Dank").wait_for()
    assert "20 Lesepatinnen" in page.content()
    _axe(page, "thanks page")
    _shot(page, "form_agreement_thanks")

    with rt.sessions() as s:
        states = {i: s.get(MeasureCycle, i).state for i in world.mine}  # type: ignore[union-attr]
    assert states == {first: "implementation", second: "deferred"}
    handler.messages.clear()
    _send(rt)
    confirmations = [
        m for m in handler.messages if m["X-Zielflow-Kind"] == "confirmation_agreement"
    ]
    assert confirmations, [m["Subject"] for m in handler.messages]

    # Twelve months later: the review request's link opens the review form.
    with unit_of_work(rt.sessions) as s:
        s.scalars(
            select(TargetAgreement).where(TargetAgreement.measure_cycle_id == first)
        ).one().accepted_at = rt.clock.now()
        apply_event(
            session=s,
            clock=rt.clock,
            measure_cycle_id=first,
            event="start_review",
            expected_version=None,
            actor="system:sweep",
        )
    handler.messages.clear()
    _send(rt)
    review_url = _link_for(handler, "mkontakt0@", "review_request")
    page.goto(review_url)
    assert page.locator("h1").inner_text().startswith("Rückmeldung zur Zielerreichung 2026")
    assert "20 Lesepatinnen" in page.content()  # the agreed target is shown
    _axe(page, "review form")
    page.check(f"#m-{first}-achievement-teilweise")
    page.fill(f"#m-{first}-obstacles", "Zwei Schulen ohne Räume")
    page.check(f"#m-{first}-proposal-adapt")
    page.fill(f"#m-{first}-proposal_text", "Mehr Schulen einbinden")
    _shot(page, "form_review")
    page.get_by_role("button", name="Alle abgeben").click()
    page.get_by_role("heading", name="Vielen Dank").wait_for()
    with rt.sessions() as s:
        assert s.get(MeasureCycle, first).state == "assessment"  # type: ignore[union-attr]

    # A phone-sized screen gets the same form, readable and without horizontal scrolling.
    phone = browser.new_context(viewport={"width": 375, "height": 800}, locale="de-DE")
    small = phone.new_page()
    small.goto(url)
    assert small.evaluate("document.documentElement.scrollWidth") <= 375
    _shot(small, "form_agreement_phone")
    phone.close()
    context.close()
