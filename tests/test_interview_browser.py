"""The Erstgespräch forms in Chromium: a bare click sends nothing, a complete one asks first.

The measure page's form preselects no result and requires the date, so the browser itself
stops a bare click; ticking the notification box is what lets a "beibehalten" through.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from notifications.models import OutboxMessage
from tests.dashboard_seed import EMAILS, PASSWORD, seed
from tests.live import LiveServer, start_live_server
from workflow.accounts import Role
from workflow.catalogue.models import Measure
from workflow.cycles.models import Interview, MeasureCycle
from workflow.runtime import Runtime

pytestmark = pytest.mark.browser


@pytest.fixture
def live(rt_sqlite: Runtime) -> Iterator[tuple[Runtime, LiveServer]]:
    seed(rt_sqlite)
    server = start_live_server()
    yield rt_sqlite, server
    server.stop()


def test_a_bare_click_records_nothing_and_a_complete_one_needs_the_tick(
    browser: Any, live: tuple[Runtime, LiveServer]
) -> None:
    rt, server = live
    with rt.sessions() as session:
        item = session.scalars(
            select(MeasureCycle.id)
            .join(Measure, Measure.id == MeasureCycle.measure_id)
            .where(Measure.code == "A1.2")
        ).one()
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("E-Mail-Adresse").fill(EMAILS[Role.COORDINATOR])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{server.url}/pipeline")
    page.goto(f"{server.url}/massnahmen/{item}")
    form = page.locator('form[data-action="record_interview"]')
    form.get_by_role("button").click()
    # The browser refuses the empty required fields: no request, nothing recorded or queued.
    assert page.url == f"{server.url}/massnahmen/{item}"
    assert form.locator("select[name=decision]").evaluate("e => e.validity.valueMissing")
    form.locator("input[name=held_on]").fill("2026-03-02")
    form.locator("select[name=decision]").select_option("keep")
    form.get_by_role("button").click()
    page.wait_for_load_state()
    assert "Bitte bestätigen Sie die Benachrichtigung per E-Mail." in page.content()
    with rt.sessions() as session:
        assert session.scalars(select(Interview)).all() == []
        assert session.scalars(select(OutboxMessage)).all() == []
    form = page.locator('form[data-action="record_interview"]')
    form.get_by_label(
        "Die Ansprechperson im zuständigen Fachbereich wird per E-Mail benachrichtigt"
    ).check()
    form.get_by_role("button").click()
    page.wait_for_load_state()
    assert "Das Erstgespräch ist erfasst." in page.locator(".flash").inner_text()
    with rt.sessions() as session:
        assert [i.decision for i in session.scalars(select(Interview))] == ["keep"]
        assert session.scalars(select(OutboxMessage)).all() != []
    context.close()
