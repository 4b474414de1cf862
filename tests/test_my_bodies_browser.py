"""A steering member in real headless Chromium: signs in, opens "Mein Gremium", sees their body,
its next meeting and an escalated measure, asks its contact for the status, and finds the request
on the measure's timeline; axe-core checks /mein-gremium. Screenshots under test-output/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from notifications.models import OutboxMessage
from tests.conftest import OUTPUT
from tests.dashboard_seed import EMAILS, PASSWORD
from tests.live import LiveServer, start_live_server
from tests.member_world import BODY, MEMBER, MemberWorld, build, escalate, plan_meeting
from workflow.accounts import Role
from workflow.runtime import Runtime

pytestmark = pytest.mark.browser


@pytest.fixture
def live(rt_sqlite: Runtime) -> Iterator[tuple[Runtime, MemberWorld, LiveServer]]:
    world = build(rt_sqlite)
    escalate(rt_sqlite, world.item_b)
    plan_meeting(
        rt_sqlite,
        world.body_id,
        date(2026, 3, 18),
        agenda=("Bericht aus dem Handlungsfeld B", "Offene Aufträge"),
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


def test_a_member_asks_for_the_status_of_an_escalated_measure(
    browser: Any, live: tuple[Runtime, MemberWorld, LiveServer]
) -> None:
    rt, world, server = live
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("E-Mail-Adresse").fill(EMAILS[Role.STEERING])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{server.url}/pipeline")

    page.get_by_role("link", name="Mein Gremium").click()
    page.wait_for_url(f"{server.url}/mein-gremium")
    panel = page.get_by_test_id(f"body-{world.body_id}")
    assert BODY in panel.get_by_role("heading", level=2).inner_text()
    meeting = page.get_by_test_id(f"meeting-{world.body_id}").inner_text()
    assert "18.03.2026, 16:00 Uhr, Rathaus, Sitzungssaal 2" in meeting
    assert "Bericht aus dem Handlungsfeld B" in meeting
    escalated = page.get_by_test_id(f"escalated-{world.body_id}")
    assert "B1.1" in escalated.inner_text() and "seit 30 Tagen überfällig" in escalated.inner_text()
    _axe(page, "/mein-gremium")
    _shot(page, "my-bodies")

    form = page.get_by_test_id(f"ask-{world.body_id}-{world.item_b}")
    form.get_by_label("Hinweis zu B1.1 an die Ansprechperson").fill(
        "Bitte berichten Sie vor der Sitzung am 18. März."
    )
    form.get_by_role("button", name="Sachstand erfragen").click()
    page.wait_for_url(f"{server.url}/mein-gremium")
    assert (
        "Die Bitte um den aktuellen Sachstand ist verschickt."
        in page.locator(".flash").inner_text()
    )
    asked = page.get_by_test_id(f"asked-{world.body_id}-{world.item_b}").inner_text()
    assert "Zuletzt von Ihnen erfragt am 02.03.2026, 10:00 Uhr." in asked
    _axe(page, "/mein-gremium after asking")
    with rt.sessions() as session:
        (row,) = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "status_request")
        ).all()
        assert row.recipient_email == world.contact_b and row.measure_cycle_id == world.item_b

    escalated.get_by_role("link", name="B1.1").click()
    page.wait_for_url(f"{server.url}/massnahmen/{world.item_b}")
    timeline = page.locator("ol.timeline").inner_text()
    assert (
        f"{MEMBER} ({BODY}) hat Katharina Schäfer um den aktuellen Sachstand gebeten." in timeline
    )
    assert "Bitte berichten Sie vor der Sitzung am 18. März." in timeline
    _shot(page, "my-bodies-measure-timeline")
    context.close()
