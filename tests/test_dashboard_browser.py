"""The coordinator's day in real headless Chromium: sign in, pipeline, a measure, Erstgespräch, review.

Screenshots of the pipeline and the measure page go under test-output/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import OUTPUT
from tests.dashboard_seed import EMAILS, PASSWORD, Seed, seed
from tests.live import LiveServer, start_live_server
from workflow.accounts import Role
from workflow.catalogue.models import Measure
from workflow.cycles.models import Interview, MeasureCycle, Review
from workflow.db import unit_of_work
from workflow.runtime import Runtime
from workflow.transitions import apply_event

pytestmark = pytest.mark.browser


@pytest.fixture
def live(rt_sqlite: Runtime) -> Iterator[tuple[Runtime, Seed, LiveServer]]:
    s = seed(rt_sqlite)
    server = start_live_server()
    yield rt_sqlite, s, server
    server.stop()


def _sign_in(page: Any, server: LiveServer, role: Role) -> None:
    page.goto(f"{server.url}/")
    assert page.url.startswith(f"{server.url}/login")
    page.get_by_label("E-Mail-Adresse").fill(EMAILS[role])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{server.url}/pipeline")


def _to_assessment(rt: Runtime, item: int) -> None:
    """The department's side (forms are another module): agreement, 12 months, review."""
    for event in ("submit_agreement", "start_review"):
        with unit_of_work(rt.sessions) as session:
            apply_event(
                session=session,
                clock=rt.clock,
                measure_cycle_id=item,
                event=event,
                expected_version=None,
                actor="contact:test",
            )
    with unit_of_work(rt.sessions) as session:
        session.add(
            Review(
                measure_cycle_id=item,
                achievement="erreicht",
                proposal="keep",
                comment="Alle 20 Lesepaten gewonnen",
                submitted_at=rt.clock.now(),
                submitted_by="contact:test",
            )
        )
        apply_event(
            session=session,
            clock=rt.clock,
            measure_cycle_id=item,
            event="submit_review",
            expected_version=None,
            actor="contact:test",
        )


def test_coordinator_signs_in_records_an_interview_and_accepts_a_review(
    browser: Any, live: tuple[Runtime, Seed, LiveServer]
) -> None:
    rt, _s, server = live
    out = Path(OUTPUT)
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale="de-DE", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    _sign_in(page, server, Role.COORDINATOR)

    column = page.locator('section.column[data-state="initial_interview"]')
    assert column.locator(".count").inner_text() == "36"
    assert column.locator("li.card").count() == 36
    assert "A1.1" in column.inner_text()
    page.screenshot(path=str(out / "dashboard-pipeline.png"), full_page=True)

    # Open a measure from the pipeline and see its goal, field and timeline.
    page.get_by_role("link", name="A1.1 Ausbildungslotsen").click()
    page.wait_for_url(f"{server.url}/massnahmen/*")
    assert page.get_by_test_id("state").inner_text() == "Erstgespräch"
    assert "Wirtschaft/Handel/Arbeit" in page.content()
    assert "Zyklus eröffnet" in page.locator("ol.timeline").inner_text()
    item = int(page.url.rsplit("/", 1)[1])

    # The Erstgespräch with this measure's contact, for all of their measures at once.
    with rt.sessions() as session:
        measure = session.scalars(select(Measure).where(Measure.code == "A1.1")).one()
        contact_id = measure.contact_id
    page.goto(f"{server.url}/erstgespraech/{contact_id}")
    page.get_by_label("Teilnehmende").fill("Tobias Brandt, Koordinierungsstelle")
    page.get_by_label("Ergebnis A1.1").select_option("keep")
    page.get_by_label("Umsetzungsstand A1.1").select_option("in_progress")
    page.get_by_label("Datum des Gesprächs").fill("2026-03-02")
    page.get_by_label("Die Fachbereiche werden per E-Mail benachrichtigt").check()
    page.get_by_role("button", name="Erstgespräch speichern").click()
    assert "Das Erstgespräch ist gespeichert." in page.locator(".flash").inner_text()
    with rt.sessions() as session:
        interview = session.scalars(
            select(Interview).where(Interview.measure_cycle_id == item)
        ).one()
        assert interview.decision == "keep" and interview.implementation_status == "in_progress"
        assert interview.participants == "Tobias Brandt, Koordinierungsstelle"
        mc = session.get(MeasureCycle, item)
        assert mc is not None and mc.state == "target_agreement"

    # A stale page: the measure moves on elsewhere, the button gives a friendly conflict.
    _to_assessment(rt, item)
    page.goto(f"{server.url}/massnahmen/{item}")
    assert page.get_by_test_id("state").inner_text() == "Bewertung"
    with unit_of_work(rt.sessions) as session:
        apply_event(
            session=session,
            clock=rt.clock,
            measure_cycle_id=item,
            event="extend_deadline",
            expected_version=None,
            actor="user:other",
            payload={"due_on": "2026-06-30", "reason": "Urlaub"},
        )
    page.locator('form[data-action="accept_review"] button').click()
    assert "inzwischen geändert" in page.get_by_role("alert").inner_text()
    with rt.sessions() as session:
        mc = session.get(MeasureCycle, item)
        assert mc is not None and mc.state == "assessment"

    # The page now carries the current version: accepting works.
    page.locator('form[data-action="accept_review"] button').click()
    assert "Die Rückmeldung zur Zielerreichung ist angenommen." in page.locator(".flash").inner_text()
    assert page.get_by_test_id("state").inner_text() == "Neuplanung"
    assert page.get_by_test_id("review-accepted").inner_text() != "–"
    with rt.sessions() as session:
        review = session.scalars(select(Review).where(Review.measure_cycle_id == item)).one()
        assert review.accepted_at is not None
    page.screenshot(path=str(out / "dashboard-measure.png"), full_page=True)

    # English through the one i18n mechanism, and back.
    page.get_by_role("link", name="English").click()
    assert page.get_by_test_id("state").inner_text() == "Replanning"
    page.get_by_role("link", name="Deutsch").click()
    assert page.get_by_test_id("state").inner_text() == "Neuplanung"
    context.close()
    assert (out / "dashboard-pipeline.png").stat().st_size > 10_000
    assert (out / "dashboard-measure.png").stat().st_size > 10_000


def test_steering_member_sees_everything_and_can_change_nothing(
    browser: Any, live: tuple[Runtime, Seed, LiveServer]
) -> None:
    _rt, s, server = live
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    _sign_in(page, server, Role.STEERING)
    assert (
        page.locator('section.column[data-state="initial_interview"] .count').inner_text() == "36"
    )
    page.goto(f"{server.url}/massnahmen/{s.item_ids[0]}")
    assert page.locator("form.action").count() == 0
    page.goto(f"{server.url}/steuerung")
    assert page.get_by_role("heading", name="Versandte Übersichten für die Steuerungsgruppe").is_visible()
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="Drucken").is_visible()
    response = page.goto(f"{server.url}/erstgespraech")
    assert response is not None and response.status == 403
    context.close()
