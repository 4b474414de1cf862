"""Reports over HTTP and on the dashboard: the same bytes as the CLI, for readers only."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from api.app import create_app
from tests.conftest import make_runtime
from tests.dashboard_seed import EMAILS, PASSWORD, login
from tests.test_reports import (
    MEETING_DAY,
    Year,
    add_what_the_simulation_does_not_make,
    build,
    simulated_database,
)
from workflow import runtime
from workflow.accounts import Role, add_or_update_user
from workflow.clock import FrozenClock
from workflow.db import unit_of_work


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Year:
    path = simulated_database(tmp_path_factory, "reports-api")
    return add_what_the_simulation_does_not_make(f"sqlite:///{path}")


@pytest.fixture
def client(year: Year, clock: FrozenClock, tmp_path: Path) -> Iterator[TestClient]:
    rt = make_runtime(year.url, clock, tmp_path)
    with unit_of_work(rt.sessions) as s:
        for role in Role:
            add_or_update_user(
                session=s,
                organisation_id=year.org_id,
                email=EMAILS[role],
                role=role,
                password=PASSWORD,
                now=rt.clock.now(),
            )
    yield TestClient(create_app())
    runtime.install(None)


def test_every_reader_gets_the_same_report_as_the_cli(client: TestClient, year: Year) -> None:
    anonymous = client.get("/api/v1/reports/annual?cycle=2026&format=html")
    assert anonymous.status_code == 401
    login(client, Role.STEERING)
    html = client.get("/api/v1/reports/annual?cycle=2026&format=html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert html.headers["content-disposition"].startswith(
        'inline; filename="annual-simulation-2026-'
    )
    with runtime.current().sessions() as s:
        assert html.content == build(s, year, "annual", 2026)
        expected_pdf = build(s, year, "meeting", 2027, "pdf", meeting_date=MEETING_DAY)
    pdf = client.get(f"/api/v1/reports/meeting?cycle=2027&format=pdf&meeting_date={MEETING_DAY}")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert pdf.content == expected_pdf
    assert len(PdfReader(io.BytesIO(pdf.content)).pages) >= 2


def test_errors_are_german_and_in_the_one_shape(client: TestClient) -> None:
    login(client, Role.COORDINATOR)
    missing = client.get("/api/v1/reports/status-quo?cycle=2031")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Es gibt keinen Zyklus 2031."
    wrong = client.get("/api/v1/reports/jahresbericht?cycle=2026")
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "validation_error"
    bad_format = client.get("/api/v1/reports/annual?cycle=2026&format=docx")
    assert bad_format.status_code == 422


def test_reports_page_links_every_cycle_and_the_meeting(client: TestClient) -> None:
    login(client, Role.STEERING)
    page = client.get("/berichte")
    assert page.status_code == 200
    text = page.text
    for year in (2026, 2027):
        assert f'href="/api/v1/reports/status-quo?cycle={year}&amp;format=pdf"' in text
        assert f'href="/api/v1/reports/annual?cycle={year}&amp;format=html"' in text
        assert f'href="/api/v1/cycles/{year}/answers?format=xlsx"' in text
    assert f"meeting_date={MEETING_DAY.isoformat()}&amp;format=pdf" in text
    assert "Frühjahrssitzung" in text
    assert '<a href="/berichte" aria-current="page">Berichte</a>' in text
    english = client.get("/berichte?lang=en")
    assert "Steering group meeting pack" in english.text
