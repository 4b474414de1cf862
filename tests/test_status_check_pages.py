"""The status-check pages without a browser: starting a check from /sachstandsabfragen, a refusal
that keeps what was typed, the detail page with each contact's part and answer, closing, and a
body member's start from a measure inside and outside the body's scope.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from api.app import create_app
from tests.dashboard_seed import EMAILS, PASSWORD, csrf_headers, login
from tests.live import start_live_server
from tests.member_world import BODY, build
from workflow.accounts import Role
from workflow.catalogue.models import Measure
from workflow.db import unit_of_work
from workflow.runtime import Runtime
from workflow.status_checks.models import StatusCheck, StatusCheckItem, StatusCheckRequest

LOCALES = Path(__file__).resolve().parents[1] / "api" / "locales"


def _client(role: Role = Role.COORDINATOR) -> TestClient:
    client = TestClient(create_app())
    login(client, role)
    return client


def _post(client: TestClient, url: str, data: dict[str, object]) -> Response:
    return client.post(url, data=data, headers=csrf_headers(client), follow_redirects=False)


def _checks(rt: Runtime) -> list[StatusCheck]:
    with rt.sessions() as s:
        return list(s.scalars(select(StatusCheck).order_by(StatusCheck.id)))


def _measure_id(rt: Runtime, code: str) -> int:
    with rt.sessions() as s:
        found = s.scalar(select(Measure.id).where(Measure.code == code))
        assert found is not None
        return found


def test_a_coordinator_starts_a_check_by_goal_and_follows_it(rt_sqlite: Runtime) -> None:
    build(rt_sqlite)
    client = _client()
    due = (rt_sqlite.clock.now().date() + timedelta(days=21)).isoformat()
    started = _post(
        client, "/sachstandsabfragen", {"goal": "B1", "due_on": due, "title": "Sprachkurse"}
    )
    assert started.status_code == 303, started.text
    (check,) = _checks(rt_sqlite)
    assert started.headers["location"] == f"/sachstandsabfragen/{check.id}"
    assert check.selection["goal"] == "B1" and check.created_by.startswith("user:")

    detail = client.get(started.headers["location"])
    assert detail.status_code == 200
    assert "Die Sachstandsabfrage ist gestartet." in detail.text
    # B1.1 goes to Katharina Schäfer, B1.2 and B1.3 to Daniel Wolff: two parts.
    assert "Katharina Schäfer" in detail.text and "Daniel Wolff" in detail.text
    assert "0 von 2 Ansprechpersonen" in detail.text
    assert detail.text.count('data-stand=""') == 3  # three measures, none answered yet
    assert "Ziel B1" in detail.text and "Abfrage abschließen" in detail.text
    with rt_sqlite.sessions() as s:
        stays = set(s.scalars(select(StatusCheckItem.measure_cycle_id)))
    assert all(f'<a href="/massnahmen/{stay}">' in detail.text for stay in stays) and stays

    listing = client.get("/sachstandsabfragen")
    row = re.search(rf'<tr data-check="{check.id}">.*?</tr>', listing.text, re.S)
    assert row is not None
    assert "Sprachkurse" in row[0] and "von Hand" in row[0] and "läuft" in row[0]
    assert "0 von 2 Ansprechpersonen" in row[0]
    assert 'class="table-scroll"' in listing.text
    assert client.get("/sachstandsabfragen?state=closed").text.count("<tr data-check=") == 0
    english = client.get(f"/sachstandsabfragen/{check.id}?lang=en").text
    assert "0 of 2 contacts" in english and "goal B1" in english


def test_a_refused_start_keeps_what_was_typed_and_says_why(rt_sqlite: Runtime) -> None:
    build(rt_sqlite)
    client = _client()
    yesterday = (rt_sqlite.clock.now().date() - timedelta(days=1)).isoformat()
    b11 = _measure_id(rt_sqlite, "B1.1")
    refused = _post(
        client,
        "/sachstandsabfragen",
        {"field": "B", "measures": [str(b11)], "due_on": yesterday, "title": "Frühjahr & <Kurse>"},
    )
    assert refused.status_code == 422
    assert "Die Frist darf nicht in der Vergangenheit liegen." in refused.text
    assert 'aria-invalid="true" aria-describedby="err-due_on"' in refused.text
    assert 'value="Frühjahr &amp; &lt;Kurse&gt;"' in refused.text
    assert f'value="{yesterday}"' in refused.text
    assert re.search(r'<option value="B" selected>', refused.text)
    assert re.search(rf'value="{b11}" checked', refused.text)
    assert _checks(rt_sqlite) == []

    unreadable = _post(client, "/sachstandsabfragen", {"due_on": "31.02.2026"})
    assert unreadable.status_code == 422
    assert "„31.02.2026“ ist kein gültiges Datum." in unreadable.text
    nothing = _post(
        client,
        "/sachstandsabfragen",
        {"department": "Amt, das es nicht gibt", "due_on": "2026-04-01"},
    )
    assert nothing.status_code == 422
    assert "„Amt, das es nicht gibt“ ist unter „Fachbereich“ nicht vorhanden." in nothing.text
    assert _checks(rt_sqlite) == []


def test_closing_ends_corrections_once(rt_sqlite: Runtime) -> None:
    build(rt_sqlite)
    client = _client()
    started = _post(client, "/sachstandsabfragen", {"goal": "B1", "due_on": "2026-03-20"})
    url = started.headers["location"]
    closed = _post(client, f"{url}/abschliessen", {})
    assert closed.status_code == 303
    page = client.get(url).text
    assert "Antworten und Korrekturen werden nicht mehr angenommen." in page
    assert 'data-testid="close-form"' not in page
    with rt_sqlite.sessions() as s:
        assert all(r.next_action_at is None for r in s.scalars(select(StatusCheckRequest)))
    again = _post(client, f"{url}/abschliessen", {})
    assert again.status_code == 422
    assert "Diese Sachstandsabfrage ist bereits abgeschlossen." in again.text


def test_a_member_reads_but_neither_starts_nor_closes_from_the_list(rt_sqlite: Runtime) -> None:
    build(rt_sqlite)
    coordinator = _client()
    url = _post(coordinator, "/sachstandsabfragen", {"due_on": "2026-03-20"}).headers["location"]
    member = _client(Role.STEERING)
    assert member.get(url).status_code == 200
    assert 'data-testid="start-form"' not in member.get("/sachstandsabfragen").text
    assert _post(member, "/sachstandsabfragen", {"due_on": "2026-03-20"}).status_code == 403
    assert _post(member, f"{url}/abschliessen", {}).status_code == 403
    assert coordinator.get("/sachstandsabfragen/999999").status_code == 404


def test_a_member_starts_a_check_for_a_measure_of_the_bodys_scope(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite)  # the body watches field B only
    member = _client(Role.STEERING)
    page = member.get("/mein-gremium")
    assert page.status_code == 200
    measure_page = member.get(f"/massnahmen/{world.item_b}").text
    assert f'action="/massnahmen/{world.item_b}/sachstandsabfrage"' in measure_page

    started = _post(
        member, f"/massnahmen/{world.item_b}/sachstandsabfrage", {"back": "mein-gremium"}
    )
    assert started.status_code == 303 and started.headers["location"] == "/mein-gremium"
    (check,) = _checks(rt_sqlite)
    assert check.body_id == world.body_id
    assert check.due_on >= rt_sqlite.clock.now().date() + timedelta(days=14)
    with rt_sqlite.sessions() as s:
        (item,) = s.scalars(select(StatusCheckItem))
        assert item.measure_id == _measure_id(rt_sqlite, "B1.1")
    listing = member.get("/sachstandsabfragen").text
    assert f"für das Gremium {BODY}" in listing


def test_outside_the_scope_a_member_is_refused_and_nothing_is_started(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite)
    member = _client(Role.STEERING)
    from_list = _post(
        member, f"/massnahmen/{world.item_a}/sachstandsabfrage", {"back": "mein-gremium"}
    )
    assert from_list.status_code == 422
    assert "gehört nicht zum Aufgabenbereich Ihres Gremiums" in from_list.text
    from_measure = _post(member, f"/massnahmen/{world.item_a}/sachstandsabfrage", {})
    assert from_measure.status_code == 422
    assert "gehört nicht zum Aufgabenbereich Ihres Gremiums" in from_measure.text
    assert _checks(rt_sqlite) == []
    # The coordination office may start one for any measure; it is nobody's body's then.
    assert _post(_client(), f"/massnahmen/{world.item_a}/sachstandsabfrage", {}).status_code == 303
    (check,) = _checks(rt_sqlite)
    assert check.body_id is None


def test_a_check_of_another_organisation_is_not_found(rt_sqlite: Runtime) -> None:
    build(rt_sqlite)
    client = _client()
    url = _post(client, "/sachstandsabfragen", {"due_on": "2026-03-20"}).headers["location"]
    with unit_of_work(rt_sqlite.sessions) as s:
        from workflow.orgs import resolve_organisation

        other = resolve_organisation(s, "nachbarstadt", create=True)
        for check in s.scalars(select(StatusCheck)):
            check.organisation_id = other.id
    assert client.get(url).status_code == 404
    assert _post(client, f"{url}/abschliessen", {}).status_code == 404


def test_every_text_exists_in_german_and_english() -> None:
    de = json.loads((LOCALES / "status_check_start.de.json").read_text(encoding="utf-8"))
    en = json.loads((LOCALES / "status_check_start.en.json").read_text(encoding="utf-8"))
    assert de.keys() == en.keys()
    used = set()
    for name in ("status_checks.html", "status_check.html", "status_check_start_form.html"):
        text = (LOCALES.parent / "pages" / "dashboard" / name).read_text(encoding="utf-8")
        used |= set(re.findall(r'"(status_checks\.[a-z_.]+)"', text))
    # A prefix ("…origin." ~ value) is completed by the code; a plural has _one and _other.
    missing = {
        k
        for k in used
        if not k.endswith(".") and k not in de and f"{k}_one" not in de and f"{k}.one" not in de
    }
    assert used and not missing, missing


@pytest.mark.browser
def test_both_pages_fit_a_phone_and_pass_axe(browser: Any, rt_sqlite: Runtime) -> None:
    """375 px wide: the tables scroll in their own named box or become cards, never the page."""
    from axe_playwright_python.sync_playwright import Axe

    build(rt_sqlite)
    client = _client()
    long_title = "Sachstand der Sprach- und Bildungsangebote im Frühjahr " * 3
    url = _post(
        client, "/sachstandsabfragen", {"field": "B", "due_on": "2026-03-31", "title": long_title}
    ).headers["location"]
    with unit_of_work(rt_sqlite.sessions) as s:
        item = s.scalars(select(StatusCheckItem).order_by(StatusCheckItem.id)).first()
        assert item is not None
        item.stand, item.answered_at, item.revision = "at_risk", rt_sqlite.clock.now(), 1
        item.note = "Die Räume der Volkshochschule stehen erst ab Herbst zur Verfügung; " * 4
        item.indicator_values = {"B-Sprachkurse-Teilnehmende": "1234567"}
    server = start_live_server()
    try:
        context = browser.new_context(locale="de-DE", viewport={"width": 375, "height": 800})
        page = context.new_page()
        page.goto(f"{server.url}/login")
        page.get_by_label("E-Mail-Adresse").fill(EMAILS[Role.COORDINATOR])
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url(f"{server.url}/pipeline")
        for path in ("/sachstandsabfragen", url):
            response = page.goto(f"{server.url}{path}")
            assert response is not None and response.status == 200, path
            assert int(page.evaluate("document.documentElement.scrollWidth")) <= 376, path
            assert page.locator(".table-scroll[role=region][tabindex='0']").count() > 0, path
            violations = [
                (v["id"], [n["target"] for n in v["nodes"]][:3])
                for v in Axe().run(page).response["violations"]
                if v["impact"] in {"serious", "critical"}
            ]
            assert violations == [], f"{path}: {violations}"
        assert page.get_by_text("gefährdet", exact=True).count() == 1
        context.close()
    finally:
        server.stop()
