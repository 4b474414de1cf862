"""The register's CSV and XLSX: German headers, every row, dates as dates, and no formulas.

A wording typed as ``=HYPERLINK(…)`` or ``+49 …`` must reach Excel as text: the CSV cell
gets the one text mark of workflow/csv_safe.py, the XLSX cell is stored as a string.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from api.app import create_app
from tests.dashboard_seed import bearer
from tests.decision_support import EARLIER, LATER, World, build
from workflow.accounts import Role
from workflow.catalogue.models import Contact
from workflow.csv_safe import unescape_cell
from workflow.db import unit_of_work
from workflow.decisions import export, queries, service
from workflow.runtime import Runtime

FORMULA = '=HYPERLINK("https://evil.example","Hier klicken")'


def _world(rt: Runtime) -> World:
    world = build(rt)
    with unit_of_work(rt.sessions) as s:
        contact = s.scalars(select(Contact).where(Contact.name == "Tobias Brandt")).one()
        service.record_decision(
            session=s, clock=rt.clock, meeting_id=world.meeting_id, kind="assignment",
            text=FORMULA, actor="user:1", contact_id=contact.id, due_on=LATER + timedelta(days=30),
            agenda_item_id=world.agenda_item_id,
        )  # fmt: skip
        service.record_decision(
            session=s, clock=rt.clock, meeting_id=world.next_meeting_id, kind="recommendation",
            text="+49 Empfehlung; mit Semikolon\nund zweiter Zeile", actor="user:1",
            addressee="council",
        )  # fmt: skip
    return world


def test_csv_has_german_headers_every_row_and_defused_formulas(rt_sqlite: Runtime) -> None:
    world = _world(rt_sqlite)
    with rt_sqlite.sessions() as s:
        rows = queries.register(s, organisation_id=world.organisation_id)
    raw = export.to_csv(rows, "Europe/Berlin")
    assert raw.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert table[0] == list(export.COLUMNS)
    assert table[0][:6] == ["nr", "sitzung_am", "gremium", "tagesordnungspunkt", "art", "wortlaut"]
    body = [dict(zip(table[0], line, strict=True)) for line in table[1:]]
    assert [r["art"] for r in body] == ["Empfehlung", "Auftrag"]  # newest meeting first
    recommendation, assignment = body
    assert recommendation["wortlaut"] == "'+49 Empfehlung; mit Semikolon\nund zweiter Zeile"
    assert unescape_cell(recommendation["wortlaut"]).startswith("+49")
    assert recommendation["adressat"] == "Rat oder Kreistag"
    assert recommendation["sitzung_am"] == LATER.isoformat()
    assert assignment["wortlaut"] == "'" + FORMULA
    assert assignment["tagesordnungspunkt"] == "TOP 1: Streichungsvorschläge"
    assert (assignment["ansprechperson"], assignment["stand"]) == ("Tobias Brandt", "offen")
    assert assignment["faellig_am"] == (LATER + timedelta(days=30)).isoformat()
    assert assignment["erfasst_am"] == "2026-03-02 10:00"  # Berlin wall-clock time
    assert assignment["gremium"] == "Steuerungsgruppe Integration"
    assert not any(cell.startswith("=") for line in table for cell in line)


def test_xlsx_keeps_text_as_text_and_dates_as_dates(rt_sqlite: Runtime) -> None:
    world = _world(rt_sqlite)
    with rt_sqlite.sessions() as s:
        rows = queries.register(s, organisation_id=world.organisation_id)
    book = load_workbook(io.BytesIO(export.to_xlsx(rows, "Europe/Berlin")))
    sheet = book["Beschlüsse"]
    header = [c.value for c in sheet[1]]
    assert header == list(export.COLUMNS)
    assignment = {h: c for h, c in zip(header, sheet[3], strict=True)}
    assert assignment["wortlaut"].value == FORMULA and assignment["wortlaut"].data_type == "s"
    assert assignment["art"].value == "Auftrag"
    assert assignment["sitzung_am"].value == datetime.combine(EARLIER, datetime.min.time())
    assert assignment["erfasst_am"].value == datetime(2026, 3, 2, 10, 0)
    assert assignment["erfasst_am"].number_format == "DD.MM.YYYY HH:MM"
    assert sheet.freeze_panes == "A2"


def test_the_api_downloads_the_same_selection(rt_sqlite: Runtime) -> None:
    world = _world(rt_sqlite)
    client = TestClient(create_app())
    reader = bearer(world.seed, Role.STEERING)
    csv_response = client.get("/api/v1/decisions?format=csv&kind=assignment", headers=reader)
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert 'filename="beschluesse-musterstadt.csv"' in csv_response.headers["content-disposition"]
    lines = csv_response.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and "'=HYPERLINK" in lines[1]
    xlsx = client.get("/api/v1/decisions?format=xlsx", headers=reader)
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    assert load_workbook(io.BytesIO(xlsx.content))["Beschlüsse"].max_row == 3
