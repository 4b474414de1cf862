"""Correcting a department contact in real headless Chromium: from the measure page by
keyboard, axe-core on the form (also with a refusal shown), and a 375 px wide phone.
Screenshots under test-output/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.dashboard_seed import seed
from tests.live import LiveServer, start_live_server
from tests.test_bodies_browser import _axe, _shot
from tests.test_body_member_edit_browser import _login
from workflow.catalogue.models import Contact, Measure
from workflow.cycles.models import MeasureCycle
from workflow.runtime import Runtime

pytestmark = pytest.mark.browser


@pytest.fixture
def live(rt_sqlite: Runtime) -> Iterator[tuple[Runtime, LiveServer, int, int]]:
    s = seed(rt_sqlite)
    item_id = s.item_ids[0]
    with rt_sqlite.sessions() as session:
        contact_id = session.scalars(
            select(Measure.contact_id)
            .join(MeasureCycle, MeasureCycle.measure_id == Measure.id)
            .where(MeasureCycle.id == item_id)
        ).one()
    assert contact_id is not None
    server = start_live_server()
    yield rt_sqlite, server, item_id, contact_id
    server.stop()


def test_a_coordinator_corrects_a_contact_by_keyboard(
    browser: Any, live: tuple[Runtime, LiveServer, int, int]
) -> None:
    rt, server, item_id, contact_id = live
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    _login(page, server.url)
    page.goto(f"{server.url}/massnahmen/{item_id}")
    page.get_by_role("link", name="Angaben der Ansprechperson bearbeiten").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/ansprechpersonen/{contact_id}/bearbeiten\?zurueck="))
    _axe(page, "contact edit")
    form = page.get_by_test_id("edit-contact")
    form.get_by_label("E-Mail-Adresse").fill("brandt@")
    form.get_by_label("Name", exact=True).fill("Dr. Tobias Brandt")
    form.get_by_role("button", name="Speichern").click()
    assert "keine gültige E-Mail-Adresse" in page.get_by_role("alert").inner_text()
    assert form.get_by_label("Name", exact=True).input_value() == "Dr. Tobias Brandt"
    _axe(page, "contact edit, refused")
    form.get_by_label("Anrede").select_option("herr")
    form.get_by_label("E-Mail-Adresse").fill("t.brandt@stadt.example.org")
    form.get_by_label("E-Mail-Adresse").press("Enter")
    page.wait_for_url(f"{server.url}/massnahmen/{item_id}")
    assert "Die neue Adresse erhält" in page.locator(".flash").inner_text()
    with rt.sessions() as s:
        contact = s.get(Contact, contact_id)
        assert contact is not None
        assert (contact.salutation, contact.name, contact.email) == (
            "herr",
            "Dr. Tobias Brandt",
            "t.brandt@stadt.example.org",
        )
    edit_url = f"{server.url}/ansprechpersonen/{contact_id}/bearbeiten"

    phone = browser.new_context(viewport={"width": 375, "height": 800}, locale="de-DE")
    small = phone.new_page()
    _login(small, server.url)
    for url, name in (
        (f"{server.url}/massnahmen/{item_id}", "measure-with-contact-link-phone"),
        (edit_url, "contact-edit-phone"),
    ):
        small.goto(url)
        assert small.evaluate("document.documentElement.scrollWidth") <= 375, url
        _shot(small, name)
    phone.close()
    context.close()
