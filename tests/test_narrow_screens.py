"""Every dashboard page on a 375 px wide phone in real headless Chromium: no sideways scrolling,
and a skip link that is the first stop of the keyboard and moves the focus to the content.

The data is the demo's: the example catalogue and indicators, a cycle, both bodies with their
members, a past meeting with decisions and an upcoming one. Screenshots under test-output/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import OUTPUT
from tests.dashboard_seed import EMAILS, PASSWORD, Seed, seed
from tests.live import LiveServer, start_live_server
from workflow.accounts import Role
from workflow.bodies.models import Body, Meeting
from workflow.catalogue.models import Contact, Department, Organisation
from workflow.cycles.calendar import calendar_of
from workflow.db import unit_of_work
from workflow.decisions.models import Decision
from workflow.demo import EXAMPLE_INDICATORS
from workflow.demo_data import ensure_people
from workflow.demo_meetings import ensure_meetings
from workflow.indicators.importer import import_indicators
from workflow.indicators.models import Indicator
from workflow.runtime import Runtime

pytestmark = pytest.mark.browser

PHONE = 375
# The outermost elements that reach past the screen's right edge: the culprits to name.
CULPRITS = """limit => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > limit
    && !(e.parentElement && e.parentElement.getBoundingClientRect().right > limit))
  .slice(0, 3)
  .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
    + ' ' + Math.round(e.getBoundingClientRect().right))
"""


@pytest.fixture
def live(rt_sqlite: Runtime) -> Iterator[tuple[Runtime, Seed, LiveServer]]:
    s = seed(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as session:
        org = session.get(Organisation, s.organisation_id)
        assert org is not None
        ensure_people(session, org)
        now = rt_sqlite.clock.now()
        import_indicators(
            session=session,
            organisation_id=org.id,
            path=EXAMPLE_INDICATORS,
            now=now,
            today=calendar_of(org).local_date(now),
        )
        ensure_meetings(session=session, org=org, now=now)
    server = start_live_server()
    yield rt_sqlite, s, server
    server.stop()


def _axe(page: Any, path: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert bad == [], f"{path}: {bad}"


def _sign_in(page: Any, server: LiveServer) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("E-Mail-Adresse").fill(EMAILS[Role.COORDINATOR])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{server.url}/pipeline")


def _pages(rt: Runtime, s: Seed, page: Any, server: LiveServer) -> list[str]:
    """The navigation's targets plus one page of each kind they lead to."""
    nav = page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link")
    paths = [str(link.get_attribute("href")) for link in nav.all()]
    assert {"/pipeline", "/gremien", "/beschluesse"} <= set(paths), paths
    with rt.sessions() as session:
        body = session.scalars(select(Body.id).order_by(Body.id)).first()
        meeting = session.scalars(select(Meeting.id).order_by(Meeting.id)).first()
        indicator = session.scalars(select(Indicator.id).order_by(Indicator.id)).first()
        decision = session.scalars(select(Decision.id).order_by(Decision.id)).first()
        department = session.scalars(select(Department.id).order_by(Department.id)).first()
        contact = session.scalars(
            select(Contact.id).where(Contact.is_head.is_(False)).order_by(Contact.id)
        ).first()
    assert None not in (body, meeting, indicator, decision, department, contact)
    return [
        *paths,
        f"/massnahmen/{s.item_ids[0]}",
        f"/massnahmen/{s.item_ids[0]}/bearbeiten",
        f"/erstgespraech/{contact}",
        f"/fachbereiche/{department}/leitung",
        f"/gremien/{body}",
        f"/gremien/{body}/sitzungen/neu",
        f"/sitzungen/{meeting}",
        f"/sitzungen/{meeting}/beschluesse/neu",
        f"/beschluesse/{decision}",
        f"/kennzahlen/{indicator}",
        "/berichte/ratsvorlage",
    ]


@pytest.mark.parametrize("lang", ["de", "en"])
def test_no_dashboard_page_scrolls_sideways_on_a_phone(
    browser: Any, live: tuple[Runtime, Seed, LiveServer], lang: str
) -> None:
    rt, s, server = live
    OUTPUT.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale="de-DE", viewport={"width": PHONE, "height": 800})
    page = context.new_page()
    _sign_in(page, server)
    pages = _pages(rt, s, page, server)
    if lang == "en":
        page.get_by_role("link", name="English").click()
        page.wait_for_url(f"{server.url}/pipeline")
    too_wide: dict[str, tuple[int, list[str]]] = {}
    for path in pages:
        response = page.goto(f"{server.url}{path}")
        assert response is not None and response.status == 200, path
        width = int(page.evaluate("document.documentElement.scrollWidth"))
        if width > PHONE + 1:
            too_wide[path] = (width, page.evaluate(CULPRITS, PHONE + 1))
            name = path.strip("/").replace("/", "-")
            page.screenshot(path=str(OUTPUT / f"narrow-{lang}-{name}.png"), full_page=True)
        elif lang == "de" and path in {"/fachbereiche", "/postausgang", "/steuerung"}:
            # The scrolling boxes are named regions a keyboard can reach.
            assert page.locator(".table-scroll[role=region][tabindex='0']").count() > 0, path
            _axe(page, path)
    context.close()
    assert too_wide == {}, "\n".join(f"{p}: {w}" for p, w in too_wide.items())


@pytest.mark.parametrize(
    ("locale", "label"), [("de-DE", "Zum Inhalt springen"), ("en-GB", "Skip to content")]
)
def test_the_skip_link_comes_first_and_moves_the_focus_to_the_content(
    browser: Any, live: tuple[Runtime, Seed, LiveServer], locale: str, label: str
) -> None:
    _rt, s, server = live
    context = browser.new_context(locale=locale, viewport={"width": PHONE, "height": 800})
    page = context.new_page()
    _sign_in(page, server)
    if locale != "de-DE":
        page.get_by_role("link", name="English").click()
    for path in ("/pipeline", f"/massnahmen/{s.item_ids[0]}", "/login"):
        page.goto(f"{server.url}{path}")
        skip = page.get_by_role("link", name=label)
        assert not skip.is_visible() or skip.bounding_box()["height"] <= 1, path
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent.trim()") == label, path
        assert skip.is_visible(), f"{path}: the focused skip link must be seen"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.tagName") == "MAIN", path
        assert page.evaluate("document.activeElement.id") == "inhalt", path
        # The next Tab goes on from the content, not back to the header.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('header') === null"), path
    context.close()
