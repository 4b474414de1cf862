"""Correcting a body member in real headless Chromium: by keyboard from the body page, axe-core
on the form (also with a refusal shown), and a 375 px wide phone. Screenshots under test-output/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.dashboard_seed import EMAILS, PASSWORD, seed
from tests.live import LiveServer, start_live_server
from tests.test_bodies_browser import _axe, _shot
from workflow.accounts import Role
from workflow.bodies.models import BodyMember
from workflow.bodies.service import add_member, create_body
from workflow.catalogue.models import Department
from workflow.db import unit_of_work
from workflow.runtime import Runtime

pytestmark = pytest.mark.browser


@pytest.fixture
def live(rt_sqlite: Runtime) -> Iterator[tuple[Runtime, LiveServer, int]]:
    seed(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as s:
        org_id = s.scalars(select(Department.organisation_id)).first()
        assert org_id is not None
        body = create_body(session=s, organisation_id=org_id, name="Begleitgremium", kind="other")
        add_member(
            session=s,
            body=body,
            name="Ayse Demir",
            email="demir@musterstadt.example.org",
            today=rt_sqlite.clock.now().date(),
        )
        body_id = body.id
    server = start_live_server()
    yield rt_sqlite, server, body_id
    server.stop()


def _login(page: Any, url: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("E-Mail-Adresse").fill(EMAILS[Role.COORDINATOR])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{url}/pipeline")


def test_a_coordinator_corrects_a_member_by_keyboard(
    browser: Any, live: tuple[Runtime, LiveServer, int]
) -> None:
    rt, server, body_id = live
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    _login(page, server.url)
    page.goto(f"{server.url}/gremien/{body_id}")
    page.get_by_role("link", name="Angaben von Ayse Demir bearbeiten").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/gremien/{body_id}/mitglieder/*/bearbeiten")
    _axe(page, "member edit")
    form = page.get_by_test_id("edit-member")
    form.get_by_label("E-Mail-Adresse").fill("demir@")
    form.get_by_label("Name", exact=True).fill("Ayşe Demir")
    form.evaluate("f => f.noValidate = true")  # let the server word the refusal
    form.get_by_role("button", name="Speichern").click()
    assert "keine gültige E-Mail-Adresse" in page.get_by_role("alert").inner_text()
    assert form.get_by_label("Name", exact=True).input_value() == "Ayşe Demir"
    _axe(page, "member edit, refused")
    form.get_by_label("Anrede").select_option("frau")
    form.get_by_label("E-Mail-Adresse").fill("a.demir@musterstadt.example.org")
    form.get_by_label("E-Mail-Adresse").press("Enter")
    page.wait_for_url(f"{server.url}/gremien/{body_id}#mitglieder")
    assert "Die Angaben des Mitglieds sind gespeichert." in page.locator(".flash").inner_text()
    assert "a.demir@musterstadt.example.org" in page.get_by_test_id("members").inner_text()
    with rt.sessions() as s:
        member = s.scalars(select(BodyMember)).one()
        assert (member.salutation, member.name) == ("frau", "Ayşe Demir")
        edit_url = f"{server.url}/gremien/{body_id}/mitglieder/{member.id}/bearbeiten"

    phone = browser.new_context(viewport={"width": 375, "height": 800}, locale="de-DE")
    small = phone.new_page()
    _login(small, server.url)
    pages = ((f"{server.url}/gremien/{body_id}", "body-with-edit-link-phone"),)
    for url, name in (*pages, (edit_url, "member-edit-phone")):
        small.goto(url)
        assert small.evaluate("document.documentElement.scrollWidth") <= 375, url
        _shot(small, name)
    phone.close()
    context.close()
