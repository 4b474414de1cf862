"""The data-delivery form in real headless Chromium: the emailed link, a survey and a value with
districts, an error kept, a flagged value shown; axe-core finds nothing serious; screenshots."""

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
from tests import factories
from tests.conftest import OUTPUT, make_runtime
from tests.dashboard_seed import EMAILS, PASSWORD
from tests.live import LiveServer, start_live_server
from workflow import runtime
from workflow.accounts import Role, add_or_update_user
from workflow.catalogue.models import Contact
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.indicators.models import IndicatorValue
from workflow.indicators.service import save_indicator
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


def _indicators(rt: Runtime) -> tuple[int, int]:
    """Two indicators of one source, both due on 20 March: a percentage with districts and
    history, and a 5-point survey."""
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        measure = factories.measures(s, org, 1)[0]
        contact = s.get(Contact, measure.contact_id)
        assert contact is not None
        add_or_update_user(
            session=s,
            organisation_id=org.id,
            email=EMAILS[Role.COORDINATOR],
            role=Role.COORDINATOR,
            password=PASSWORD,
            now=now,
        )
        ids = []
        for code, unit, statement in (
            ("B-K1", "percent", "Der Anteil ausländischer Kinder an Gymnasien steigt"),
            ("C-W1", "scale", "Der Austausch in der Stadtgesellschaft wird positiv bewertet"),
        ):
            indicator, _ = save_indicator(
                s,
                organisation_id=org.id,
                code=code,
                values={
                    "statement": statement,
                    "unit": unit,
                    "direction": "up",
                    "due_months": [3],
                    "due_day": 20,
                    "source_contact_id": contact.id,
                    "source_label": "Schulverwaltung",
                    "districts": ["Bensberg", "Refrath"] if unit == "percent" else [],
                },
                goal_ids=[measure.goal_id],
                measure_ids=None,
                now=now.replace(year=2024),
            )
            ids.append(indicator.id)
        for year, value in ((2023, 21.4), (2024, 22.0), (2025, 23.1)):
            s.add(
                IndicatorValue(
                    organisation_id=org.id,
                    indicator_id=ids[0],
                    survey_date=date(year, 3, 20),
                    value=value,
                    delivered_by="import",
                    delivered_at=now,
                )
            )
        return ids[0], ids[1]


def test_a_source_delivers_through_the_emailed_link_in_chromium(
    live: tuple[Runtime, LiveServer, CapturingHandler], browser: Any, clock: FrozenClock
) -> None:
    rt, server, handler = live
    percent_id, survey_id = _indicators(rt)
    run_sweep(sessions=rt.sessions, clock=clock)
    assert _send(rt).by_kind == {"data_request": 1}  # one email for both requests
    (message,) = handler.messages
    url = LINK.search(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert url is not None

    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="de-DE")
    page = context.new_page()
    response = page.goto(url[0])
    assert response.status == 200 and response.headers["referrer-policy"] == "no-referrer"
    assert page.locator("h1").inner_text() == "Kennzahlen für das Integrationsmonitoring"
    _axe(page, "data form")
    _shot(page, "data_delivery_form")
    # Every input has a visible label.
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), textarea')]
             .filter(e => !document.querySelector(`label[for="${e.id}"]`)).map(e => e.name)"""
    )
    assert unlabelled == []

    sections = page.locator("section.measure")
    assert sections.count() == 2
    percent = sections.filter(has_text="B-K1")
    survey = sections.filter(has_text="C-W1")
    assert percent.get_by_label("Erhebungsdatum").input_value() == "2026-03-20"
    percent.get_by_label("Erhebungsdatum").fill("2026-02-27")
    percent.get_by_label("Wert insgesamt (Gesamtstadt)").fill("40,2")  # far above 23.1
    percent.get_by_label("Bensberg").fill("44")
    survey.get_by_label("Erhebungsdatum").fill("2026-02-27")
    for point, count in zip(range(1, 6), ("0", "2", "x", "13", "9"), strict=True):
        survey.get_by_label(f"Antworten auf Stufe {point}").fill(count)
    page.get_by_role("button", name="Alle speichern").click()
    # The survey's typo stops both (all or nothing); everything typed is still there.
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert "C-W1: Bitte eine Zahl eingeben" in summary.inner_text()
    assert percent.get_by_label("Wert insgesamt (Gesamtstadt)").input_value() == "40,2"
    assert "Ungewöhnlich weit vom bisherigen Verlauf" in percent.inner_text()
    _axe(page, "data form with errors")
    _shot(page, "data_delivery_errors")
    survey.get_by_label("Antworten auf Stufe 3").fill("5")
    page.get_by_role("button", name="Alle speichern").click()
    page.get_by_role("heading", name="Vielen Dank, Ihre Werte sind gespeichert").wait_for()
    text = page.locator("main").inner_text()
    assert "40,2 %" in text and "Ungewöhnlich weit vom bisherigen Verlauf" in text
    assert "Mittelwert 4,00" in text
    _axe(page, "data thanks")
    _shot(page, "data_delivery_thanks")

    with rt.sessions() as s:
        stored = {
            (v.indicator_id, v.district): (v.value, v.flagged, v.delivered_by)
            for v in s.scalars(
                select(IndicatorValue).where(IndicatorValue.data_request_id.is_not(None))
            )
        }
    actor = stored[(percent_id, "")][2]
    assert stored[(percent_id, "")][:2] == (40.2, True)
    assert stored[(percent_id, "Bensberg")][:2] == (44.0, False)
    assert stored[(survey_id, "")][0] == (2 * 2 + 5 * 3 + 13 * 4 + 9 * 5) / 29
    assert actor.startswith("contact:")

    # The coordinator sees the flag on the dashboard page.
    page.goto(f"{server.url}/login")
    page.get_by_label("E-Mail").fill(EMAILS[Role.COORDINATOR])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.goto(f"{server.url}/kennzahlen")
    row = page.locator("tr", has_text="B-K1")
    assert "40,2 %" in row.inner_text() and "prüfen" in row.inner_text()
    assert page.locator("svg.spark").count() == 1
    _axe(page, "indicator dashboard")
    _shot(page, "indicator_dashboard")
    context.close()
