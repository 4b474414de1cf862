"""The meeting pack built for a meeting's agenda (issue 11, item 3): every agenda kind brings
its material, in German and English, as HTML and PDF, and only for the meeting's organisation."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import delete

from api.app import create_app
from api.i18n import translate
from tests.conftest import OUTPUT
from tests.dashboard_seed import EMAILS, PASSWORD, csrf_headers, login
from tests.live import start_live_server
from tests.meeting_support import (
    ACHIEVEMENT_COMMENT,
    DECISION_TEXT,
    DROP_REASON,
    INDICATOR_STATEMENT,
    MEETING_DAY,
    MeetingWorld,
    build_world,
)
from workflow.accounts import Role, add_or_update_user
from workflow.bodies.models import Body, Meeting
from workflow.catalogue.models import Organisation
from workflow.db import unit_of_work
from workflow.meetings.models import AgendaItem, AgendaKind
from workflow.meetings.pack import meeting_pack_html
from workflow.runtime import Runtime


def _sections(html: str) -> dict[int, str]:
    """Each agenda item's section of the pack, by its number (TOP 1 = 1)."""
    parts = re.split(r'<section id="top-(\d+)">', html)
    return {int(parts[i]): parts[i + 1].split("</section>")[0] for i in range(1, len(parts), 2)}


def _pack(rt: Runtime, world: MeetingWorld, lang: str = "de") -> str:
    with rt.sessions() as session:
        return meeting_pack_html(session, world.meeting_id, lang)


def test_each_agenda_kind_brings_its_material(rt: Runtime) -> None:
    world = build_world(rt)
    html = _pack(rt, world)
    title_page = html.split("<nav")[0]
    for fact in ("Steuerungsgruppe Integration", "18. März 2026", "17:00 Uhr", "Sitzungssaal 2"):
        assert fact in title_page
    attendance = html.split('<section id="anwesenheit">')[1].split("</section>")[0]
    for person in ("Petra Vorsitz", "John Miller", "Dr. Ines Albers", "Gabi Gast"):
        assert person in attendance
    assert "Ehemalige Person" not in html and "Künftige Person" not in html
    assert html.index('id="anwesenheit"') < html.index('id="top-1"')  # before the items

    top = _sections(html)
    assert sorted(top) == list(range(1, 8))
    assert [html.index(f'id="top-{n}"') for n in range(1, 8)] == sorted(
        html.index(f'id="top-{n}"') for n in range(1, 8)
    )
    # Field report: every measure of the field, with its phase and latest answers.
    assert world.field_measures and all(code in top[1] for code in world.field_measures)
    assert "Streichung vorgeschlagen" in top[1] and "teilweise erreicht" in top[1]
    # Drop proposal: the department's answer and its reason.
    assert DROP_REASON in top[2] and "Streichung vorgeschlagen" in top[2]
    # Review acceptance: the review, and the agreement it answers.
    assert ACHIEVEMENT_COMMENT in top[3] and "teilweise erreicht" in top[3]
    assert "Drei Sprachkurse für Eltern" in top[3]
    # Escalation: the item's history, moves and emails.
    assert translate("event.open_cycle", "de") in top[4]
    assert translate("mail.reminder", "de") in top[4] and "Sabine Krüger" in top[4]
    # Indicator off track: its latest values and target.
    assert INDICATOR_STATEMENT in top[5]
    assert all(v in top[5] for v in ("11,2", "12,4", "13,7", "9,5", "31.12.2025"))
    assert "<dd>9,5</dd>" in top[5]  # the target, written as it was entered
    assert "steigend" in top[5]  # rising, where it should fall
    # Open decision: text, status and due date, and where it was taken.
    assert DECISION_TEXT in top[6] and "in Bearbeitung" in top[6] and "31.03.2026" in top[6]
    assert "20.11.2025" in top[6]
    assert translate("pack.no_material", "de") in top[7]
    for other in (DROP_REASON, DECISION_TEXT, INDICATOR_STATEMENT):
        assert sum(other in section for section in top.values()) == 1


def test_the_english_pack(rt_sqlite: Runtime) -> None:
    world = build_world(rt_sqlite)
    html = _pack(rt_sqlite, world, "en")
    assert '<html lang="en">' in html
    assert "Meeting papers" in html and "18 March 2026" in html and "Attendance list" in html
    top = _sections(html)
    assert "Item 1" in html and "partly achieved" in top[3] and "proposed to drop" in top[2]
    assert "in progress" in top[6] and "31 March 2026" in top[6]
    for german in ("Sitzungsunterlage", "Anwesenheitsliste", "TOP 1", "teilweise erreicht"):
        assert german not in html


def test_a_meeting_without_agenda_or_time_says_so(rt_sqlite: Runtime) -> None:
    world = build_world(rt_sqlite, starts_at="")
    with unit_of_work(rt_sqlite.sessions) as session:
        session.execute(delete(AgendaItem).where(AgendaItem.meeting_id == world.meeting_id))
    html = _pack(rt_sqlite, world)
    assert translate("pack.no_agenda", "de") in html and 'id="top-' not in html
    assert translate("pack.not_fixed", "de") in html.split("<nav")[0]


def _client(rt: Runtime, role: Role = Role.COORDINATOR) -> TestClient:
    client = TestClient(create_app())
    login(client, role)
    return client


def test_the_page_and_the_api_give_html_and_pdf(rt_sqlite: Runtime) -> None:
    world = build_world(rt_sqlite)
    steering = _client(rt_sqlite, Role.STEERING)  # a member with an account may read it
    page = steering.get(f"/sitzungen/{world.meeting_id}/unterlage")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert (
        DROP_REASON in page.text and "default-src 'none'" in page.headers["content-security-policy"]
    )
    english = steering.get(f"/sitzungen/{world.meeting_id}/unterlage?lang=en")
    assert "Meeting papers" in english.text
    pdf = steering.get(f"/sitzungen/{world.meeting_id}/unterlage?format=pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Sitzungsunterlage" in text and "Steuerungsgruppe Integration" in text
    api = steering.get(f"/api/v1/meetings/{world.meeting_id}/pack?format=html&lang=en")
    assert api.status_code == 200 and "Meeting papers" in api.text
    assert (
        TestClient(create_app()).get(f"/api/v1/meetings/{world.meeting_id}/pack").status_code == 401
    )


def test_another_organisation_sees_nothing_of_the_pack(rt: Runtime) -> None:
    world = build_world(rt)
    with unit_of_work(rt.sessions) as session:
        other = Organisation(slug="nachbarstadt", name="Nachbarstadt")
        session.add(other)
        session.flush()
        add_or_update_user(
            session=session,
            organisation_id=other.id,
            email="koordination@nachbarstadt.example.org",
            role=Role.COORDINATOR,
            password=PASSWORD,
            now=rt.clock.now(),
        )
        body = Body(organisation_id=other.id, name="Lenkungsgruppe Nachbarstadt")
        session.add(body)
        session.flush()
        own = Meeting(body_id=body.id, held_on=MEETING_DAY, title="Eigene Sitzung")
        session.add(own)
        session.flush()
        # An agenda item that points at the first organisation's measure is never shown.
        session.add(
            AgendaItem(
                meeting_id=own.id,
                position=1,
                kind=AgendaKind.DROP_PROPOSAL.value,
                title="Fremder Vorgang",
                measure_cycle_id=world.drop_item,
            )
        )
        own_id = own.id
    client = TestClient(create_app())
    response = client.post(
        "/login",
        data={"email": "koordination@nachbarstadt.example.org", "password": PASSWORD},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert response.status_code == 303
    for url in (
        f"/sitzungen/{world.meeting_id}/unterlage",
        f"/sitzungen/{world.meeting_id}/unterlage?format=pdf",
        f"/api/v1/meetings/{world.meeting_id}/pack",
    ):
        refused = client.get(url)
        assert refused.status_code == 404, url
        assert (
            "Steuerungsgruppe Integration" not in refused.text and DROP_REASON not in refused.text
        )
    assert client.get(f"/api/v1/meetings/{world.meeting_id}/pack").json()["error"]["code"] == (
        "meeting_not_found"
    )
    own_pack = client.get(f"/sitzungen/{own_id}/unterlage")
    assert own_pack.status_code == 200 and "Lenkungsgruppe Nachbarstadt" in own_pack.text
    assert DROP_REASON not in own_pack.text and "A1.1" not in own_pack.text
    assert translate("pack.missing", "de") in own_pack.text


@pytest.mark.browser
def test_a_member_opens_the_pack_in_chromium(browser: Any, rt_sqlite: Runtime) -> None:
    """The page itself: axe-core finds nothing serious or critical, in both languages."""
    from axe_playwright_python.sync_playwright import Axe

    world = build_world(rt_sqlite)
    server = start_live_server()
    try:
        context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.goto(f"{server.url}/login")
        page.get_by_label("E-Mail-Adresse").fill(EMAILS[Role.STEERING])
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url(f"{server.url}/**")
        for lang in ("de", "en"):
            page.goto(f"{server.url}/sitzungen/{world.meeting_id}/unterlage?lang={lang}")
            heading = "Sitzungsunterlage" if lang == "de" else "Meeting papers"
            assert page.get_by_role("heading", level=1).inner_text() == heading
            results = Axe().run(page)
            bad = [
                (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                for v in results.response["violations"]
                if v["impact"] in {"serious", "critical"}
            ]
            assert bad == [], f"pack ({lang}): {bad}"
            OUTPUT.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUTPUT / f"meeting-pack-{lang}.png"), full_page=True)
        pdf_link = page.get_by_role("link", name="Download as PDF")
        assert pdf_link.get_attribute("href") == "?format=pdf&lang=en"
        context.close()
    finally:
        server.stop()
