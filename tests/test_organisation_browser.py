"""A coordinator sets up the organisation and a department head in real headless Chromium;
axe-core checks /organisation, /fachbereiche with its head form, and /postausgang."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import OUTPUT
from tests.dashboard_seed import EMAILS, PASSWORD, seed
from tests.live import LiveServer, start_live_server
from workflow.accounts import Role
from workflow.catalogue.models import Contact, Organisation
from workflow.runtime import Runtime

pytestmark = pytest.mark.browser


@pytest.fixture
def live(rt_sqlite: Runtime) -> Iterator[tuple[Runtime, int, LiveServer]]:
    s = seed(rt_sqlite)
    server = start_live_server()
    yield rt_sqlite, s.organisation_id, server
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


def test_a_coordinator_sets_up_the_organisation_and_a_head(
    browser: Any, live: tuple[Runtime, int, LiveServer]
) -> None:
    rt, org_id, server = live
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("E-Mail-Adresse").fill(EMAILS[Role.COORDINATOR])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{server.url}/pipeline")

    page.get_by_role("link", name="Organisation", exact=True).click()
    page.wait_for_url(f"{server.url}/organisation")
    _axe(page, "/organisation")
    page.get_by_label("Name der Organisation").fill("Stadt Lindenau")
    page.get_by_label("Name der Stelle").fill("Integrationsbüro")
    page.get_by_label("Postanschrift der Stelle").fill("Rathausplatz 1\n51465 Lindenau")
    page.get_by_label("Kontaktadresse für Antworten").fill("integration@lindenau.example.org")
    page.get_by_label("Land").select_option("BY")
    page.get_by_label("Zeitzone").fill("Europa/Berlin")
    page.get_by_role("button", name="Speichern").click()
    alert = page.get_by_role("alert")
    assert "„Europa/Berlin“ ist keine bekannte Zeitzone" in alert.inner_text()
    assert page.get_by_label("Zeitzone").get_attribute("aria-invalid") == "true"
    _axe(page, "/organisation with an error")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "organisation-error.png"), full_page=True)
    assert page.get_by_label("Name der Stelle").input_value() == "Integrationsbüro"  # kept
    page.get_by_label("Zeitzone").fill("Europe/Berlin")
    page.get_by_role("button", name="Speichern").click()
    page.wait_for_url(f"{server.url}/organisation")
    assert "gespeichert" in page.locator(".flash").inner_text()
    with rt.sessions() as session:
        org = session.get(Organisation, org_id)
        assert org is not None
        assert (org.name, org.office_name, org.state, org.office_address) == (
            "Stadt Lindenau",
            "Integrationsbüro",
            "BY",
            "Rathausplatz 1\n51465 Lindenau",
        )

    page.get_by_role("link", name="Fachbereiche").click()
    page.wait_for_url(f"{server.url}/fachbereiche")
    _axe(page, "/fachbereiche")
    page.get_by_role("link", name="Leitung ändern: Amt für Schule und Bildung").click()
    _axe(page, "/fachbereiche/{id}/leitung")
    page.get_by_label("Name").fill("Dr. Ines Albers")
    page.get_by_label("E-Mail-Adresse").fill("ines.albers@stadt.example.org")
    page.get_by_role("button", name="Speichern").click()
    page.wait_for_url(f"{server.url}/fachbereiche*")
    assert "Dr. Ines Albers" in page.locator("#leitungen + p + .table-scroll table").inner_text()
    with rt.sessions() as session:
        head = session.scalars(select(Contact).where(Contact.is_head.is_(True))).one()
        assert head.email == "ines.albers@stadt.example.org"

    page.get_by_role("link", name="Postausgang").click()
    page.wait_for_url(f"{server.url}/postausgang")
    _axe(page, "/postausgang")
    page.screenshot(path=str(OUTPUT / "postausgang.png"), full_page=True)
    context.close()
