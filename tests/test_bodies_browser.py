"""A coordinator sets up a body with two members in real headless Chromium; axe-core checks
/gremien and /gremien/{id}, and both pages fit a 375 px wide phone. Screenshots under test-output/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import OUTPUT
from tests.dashboard_seed import EMAILS, PASSWORD, seed
from tests.live import LiveServer, start_live_server
from workflow.accounts import Role
from workflow.bodies.models import Body, BodyMember
from workflow.runtime import Runtime

pytestmark = pytest.mark.browser


@pytest.fixture
def live(rt_sqlite: Runtime) -> Iterator[tuple[Runtime, LiveServer]]:
    seed(rt_sqlite)
    server = start_live_server()
    yield rt_sqlite, server
    server.stop()


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
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)


def test_a_coordinator_creates_a_body_with_two_members(
    browser: Any, live: tuple[Runtime, LiveServer]
) -> None:
    rt, server = live
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("E-Mail-Adresse").fill(EMAILS[Role.COORDINATOR])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{server.url}/pipeline")
    assert "Es gibt keine Steuerungsgruppe" in page.get_by_test_id("readiness").inner_text()

    page.get_by_role("link", name="Gremien").click()
    page.wait_for_url(f"{server.url}/gremien")
    assert "Es ist noch kein Gremium eingetragen." in page.content()
    _axe(page, "/gremien, empty")
    page.get_by_label("Name", exact=True).fill("Begleitgremium Integrationskonzept")
    page.get_by_label("Art des Gremiums").select_option("advisory_board")
    page.get_by_label("Zivilgesellschaft").fill("2")
    page.get_by_role("button", name="Gremium anlegen").click()
    page.wait_for_url(f"{server.url}/gremien/*")
    assert "Das Gremium ist angelegt." in page.locator(".flash").inner_text()
    assert "derzeit 0" in page.get_by_test_id("shortfalls").inner_text()

    form = page.get_by_test_id("add-member")
    people = [
        ("Ingrid Hoffmann", "ingrid.hoffmann@musterstadt.example.org", "civil_society", "chair"),
        ("Jonas Becker", "jonas.becker@musterstadt.example.org", "council_group", "member"),
    ]
    for name, email, represents, role in people:
        form.get_by_label("Name", exact=True).fill(name)
        form.get_by_label("E-Mail-Adresse").fill(email)
        form.get_by_label("Gruppe, die das Mitglied vertritt").select_option(represents)
        form.get_by_label(re.compile("^Rolle")).select_option(role)
        form.get_by_role("button", name="Mitglied eintragen").click()
        assert "Das Mitglied ist eingetragen." in page.locator(".flash").inner_text()
    members = page.get_by_test_id("members").inner_text()
    assert "Ingrid Hoffmann" in members and "Vorsitz" in members and "Ratsfraktion" in members
    assert (
        "mindestens 2 Mitglieder aus der Zivilgesellschaft – derzeit 1"
        in page.get_by_test_id("shortfalls").inner_text()
    )
    _axe(page, "/gremien/{id}")
    _shot(page, "bodies-body")
    body_url = page.url

    # End Jonas Becker's membership: it moves into the history.
    page.get_by_role("button", name="Mitgliedschaft von Jonas Becker beenden").click()
    assert "Die Mitgliedschaft ist beendet." in page.locator(".flash").inner_text()
    assert "Jonas Becker" in page.get_by_test_id("history").inner_text()
    assert "Jonas Becker" not in page.get_by_test_id("members").inner_text()
    _axe(page, "/gremien/{id} with history")

    page.goto(f"{server.url}/gremien")
    assert "1 Mitglied" in page.get_by_test_id("bodies").inner_text()
    _axe(page, "/gremien")

    with rt.sessions() as s:
        body = s.scalars(select(Body)).one()
        rows = s.scalars(select(BodyMember).order_by(BodyMember.id)).all()
        assert (body.name, body.kind) == ("Begleitgremium Integrationskonzept", "advisory_board")
        assert [(m.name, m.represents, m.role, m.left_on is not None) for m in rows] == [
            ("Ingrid Hoffmann", "civil_society", "chair", False),
            ("Jonas Becker", "council_group", "member", True),
        ]

    # A phone-sized screen: both pages without horizontal scrolling.
    phone = browser.new_context(viewport={"width": 375, "height": 800}, locale="de-DE")
    small = phone.new_page()
    small.goto(f"{server.url}/login")
    small.get_by_label("E-Mail-Adresse").fill(EMAILS[Role.COORDINATOR])
    small.get_by_label("Passwort").fill(PASSWORD)
    small.get_by_role("button", name="Anmelden").click()
    small.wait_for_url(f"{server.url}/pipeline")
    for url, name in ((f"{server.url}/gremien", "bodies-phone"), (body_url, "body-phone")):
        small.goto(url)
        assert small.evaluate("document.documentElement.scrollWidth") <= 375, url
        _shot(small, name)
    phone.close()
    context.close()
