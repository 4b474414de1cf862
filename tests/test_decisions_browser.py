"""A coordinator records a Beschluss that drops a measure, in real headless Chromium.

On /sitzungen/{id}/beschluesse/neu: a first try without the measure comes back with the
reason at that field and the wording kept; the second moves the measure to Verworfen, and
its page shows the meeting in the audit trail. axe-core checks /beschluesse, the form (also
with the error) and the detail page. Screenshots under test-output/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import OUTPUT
from tests.dashboard_seed import EMAILS, PASSWORD
from tests.decision_support import World, build
from tests.live import LiveServer, start_live_server
from workflow.accounts import Role
from workflow.catalogue.models import Measure
from workflow.cycles.models import AuditEvent, MeasureCycle
from workflow.decisions.models import Decision
from workflow.runtime import Runtime

pytestmark = pytest.mark.browser


@pytest.fixture
def live(rt_sqlite: Runtime) -> Iterator[tuple[Runtime, World, LiveServer]]:
    world = build(rt_sqlite)
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


def test_a_resolution_drops_a_measure_and_its_page_names_the_meeting(
    browser: Any, live: tuple[Runtime, World, LiveServer]
) -> None:
    rt, world, server = live
    item = world.seed.item_ids[0]
    with rt.sessions() as s:
        mc = s.get(MeasureCycle, item)
        assert mc is not None
        measure = s.get(Measure, mc.measure_id)
        assert measure is not None
        code, title = measure.code, measure.title
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("E-Mail-Adresse").fill(EMAILS[Role.COORDINATOR])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{server.url}/pipeline")

    page.get_by_role("link", name="Beschlüsse").click()
    page.wait_for_url(f"{server.url}/beschluesse")
    assert (
        "Zu dieser Auswahl gibt es keine Einträge." in page.get_by_test_id("decisions").inner_text()
    )
    _axe(page, "/beschluesse, empty")
    page.get_by_role("link", name="Steuerungsgruppe Integration, Sitzung am 26.02.2026").click()
    page.wait_for_url(f"{server.url}/sitzungen/{world.meeting_id}/beschluesse/neu")
    _axe(page, "/sitzungen/{id}/beschluesse/neu")

    form = page.get_by_test_id("decision-form")
    form.get_by_label("Tagesordnungspunkt").select_option(label="TOP 1: Streichungsvorschläge")
    form.get_by_label("Art der Entscheidung").select_option("resolution")
    form.get_by_label("Wortlaut").fill("Die Maßnahme wird verworfen: es gibt keinen Träger mehr.")
    form.get_by_label("Was der Beschluss bewirkt").select_option("drop_measure")
    form.get_by_role("button", name="Entscheidung erfassen").click()
    # Refused without the measure: the reason at the field, the wording kept.
    alert = page.get_by_role("alert")
    assert "Bitte wählen Sie die Maßnahme, die der Beschluss bewegt." in alert.inner_text()
    measure_select = form.locator("select[name=measure_cycle_id]")
    assert measure_select.get_attribute("aria-invalid") == "true"
    assert form.get_by_label("Wortlaut").input_value().startswith("Die Maßnahme wird verworfen")
    _axe(page, "/sitzungen/{id}/beschluesse/neu with an error")
    _shot(page, "decisions-form-error")

    measure_select.select_option(str(item))
    form.get_by_role("button", name="Entscheidung erfassen").click()
    page.wait_for_url(f"{server.url}/beschluesse/*")
    assert "Die Entscheidung ist erfasst." in page.locator(".flash").inner_text()
    assert page.get_by_test_id("status").inner_text() == "erledigt"
    _axe(page, "/beschluesse/{id}")
    _shot(page, "decisions-detail")

    page.get_by_role("link", name=f"{code} {title}").click()
    page.wait_for_url(f"{server.url}/massnahmen/{item}")
    assert page.get_by_test_id("state").inner_text() == "Gestrichen"
    timeline = page.locator("ol.timeline").inner_text()
    assert "Steuerungsgruppe Integration, Sitzung am 26.02.2026" in timeline
    assert "Die Maßnahme wird verworfen: es gibt keinen Träger mehr." in timeline

    page.goto(f"{server.url}/beschluesse")
    register = page.get_by_test_id("decisions").inner_text()
    assert "Beschluss" in register and "Maßnahme streichen" in register and code in register
    _axe(page, "/beschluesse")
    _shot(page, "decisions-register")

    with rt.sessions() as s:
        decision = s.scalars(select(Decision)).one()
        assert (decision.status, decision.measure_cycle_id) == ("done", item)
        assert decision.agenda_item_id == world.agenda_item_id
        audit = s.scalars(
            select(AuditEvent).where(
                AuditEvent.measure_cycle_id == item, AuditEvent.event == "drop"
            )
        ).one()
        assert audit.actor == f"meeting:{world.meeting_id}"
    context.close()
