"""A coordinator plans a meeting from the body page in real headless Chromium: sees the proposed
agenda, picks items, saves; the agenda shows. axe-core checks /gremien/{id}/sitzungen/neu and
/sitzungen/{id}; both fit a 375 px wide phone. Screenshots under test-output/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import OUTPUT
from tests.dashboard_seed import EMAILS, PASSWORD
from tests.live import LiveServer, start_live_server
from tests.meeting_world import World, build
from workflow.accounts import Role, add_or_update_user
from workflow.db import unit_of_work
from workflow.meetings.models import AgendaItem
from workflow.runtime import Runtime

pytestmark = pytest.mark.browser


@pytest.fixture
def live(rt_sqlite: Runtime) -> Iterator[tuple[Runtime, World, LiveServer]]:
    world = build(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as s:
        add_or_update_user(
            session=s,
            organisation_id=world.organisation_id,
            email=EMAILS[Role.COORDINATOR],
            role=Role.COORDINATOR,
            password=PASSWORD,
            now=rt_sqlite.clock.now(),
        )
    server = start_live_server()
    yield rt_sqlite, world, server
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


def _sign_in(page: Any, server: LiveServer) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("E-Mail-Adresse").fill(EMAILS[Role.COORDINATOR])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{server.url}/pipeline")


def test_a_coordinator_plans_a_meeting_from_the_proposed_agenda(
    browser: Any, live: tuple[Runtime, World, LiveServer]
) -> None:
    rt, w, server = live
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    _sign_in(page, server)
    page.goto(f"{server.url}/gremien/{w.bodies['all']}")
    assert "20.03.2026" in page.get_by_test_id("meetings-upcoming").inner_text()
    page.get_by_role("link", name="Sitzung planen").click()
    page.wait_for_url(f"{server.url}/gremien/{w.bodies['all']}/sitzungen/neu")
    _axe(page, "/gremien/{id}/sitzungen/neu")
    form = page.get_by_test_id("new-meeting")
    form.get_by_label("Datum").fill("2026-05-06")
    form.get_by_label("Beginn").fill("17:00")
    form.get_by_label("Ort").fill("Rathaus, Raum 101")
    form.get_by_role("button", name="Sitzung anlegen").click()
    page.wait_for_url(re.compile(rf"{re.escape(server.url)}/sitzungen/\d+$"))
    meeting_url = page.url
    assert "Die Sitzung ist angelegt." in page.locator(".flash").inner_text()
    assert "06.05.2026" in page.get_by_test_id("meeting-facts").inner_text()
    assert (
        "Die Tagesordnung ist noch nicht festgelegt."
        in page.get_by_test_id("agenda-none").inner_text()
    )

    proposal = page.get_by_test_id("agenda-proposal")
    text = proposal.inner_text()
    for expected in (
        "Bericht aus dem Handlungsfeld",
        "Das Land übernimmt das Angebot.",
        "Eskalationsstufe 2",
        "Offener Beschluss",
    ):
        assert expected in text, expected
    _axe(page, "/sitzungen/{id} with its proposal")
    _shot(page, "meeting-proposal")
    # Keep the two field reports and the drop proposal of A0002, field B first; leave the rest.
    for box in page.get_by_role("checkbox", name=re.compile("in die Tagesordnung aufnehmen")).all():
        box.uncheck()
    for title in ("AF Bildung und Sprache", "BF Bildung und Sprache", "A0002 Maßnahme 2"):
        page.get_by_label(f"„{title}“ in die Tagesordnung aufnehmen").check()
    page.get_by_label("Reihenfolge von „BF Bildung und Sprache“").fill("1")
    page.get_by_label("Reihenfolge von „AF Bildung und Sprache“").fill("2")
    page.get_by_label("Reihenfolge von „A0002 Maßnahme 2“").fill("3")
    page.get_by_label("Weiterer Punkt 1").fill("Verschiedenes")
    page.get_by_role("button", name="Tagesordnung speichern").click()
    page.wait_for_url(f"{meeting_url}#tagesordnung")
    assert "Die Tagesordnung ist gespeichert." in page.locator(".flash").inner_text()
    shown = [li.inner_text() for li in page.get_by_test_id("agenda").locator("li").all()]
    assert shown == [
        "Bericht aus dem Handlungsfeld: BF Bildung und Sprache",
        "Bericht aus dem Handlungsfeld: AF Bildung und Sprache",
        "Vorschlag zur Streichung: A0002 Maßnahme 2",
        "Weiterer Punkt: Verschiedenes",
    ]
    # The heads of both fields are proposed as guests, ticked; invite them.
    guests = page.get_by_test_id("proposed-guests")
    assert "B Amt für Schule" in guests.inner_text()
    guests.get_by_role("button", name="Ausgewählte einladen").click()
    assert "Die Gäste sind eingeladen." in page.locator(".flash").inner_text()
    assert "bleitung@stadt.example.org" in page.get_by_test_id("guests").inner_text()
    _axe(page, "/sitzungen/{id} with agenda and guests")
    _shot(page, "meeting-agenda")

    with rt.sessions() as s:
        rows = s.scalars(select(AgendaItem).order_by(AgendaItem.meeting_id, AgendaItem.position))
        assert [(i.position, i.kind) for i in rows] == [
            (1, "field_report"),
            (2, "field_report"),
            (3, "drop_proposal"),
            (4, "other"),
        ]

    phone = browser.new_context(viewport={"width": 375, "height": 800}, locale="de-DE")
    small = phone.new_page()
    _sign_in(small, server)
    for url, name in (
        (meeting_url, "meeting-phone"),
        (f"{server.url}/gremien/{w.bodies['all']}/sitzungen/neu", "meeting-new-phone"),
    ):
        small.goto(url)
        assert small.evaluate("document.documentElement.scrollWidth") <= 375, url
        _shot(small, name)
    phone.close()
    context.close()
