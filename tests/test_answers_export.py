"""A cycle's answers as CSV and XLSX: one row per measure-in-cycle, the database's values in words."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, text

from api.app import create_app
from api.i18n import translate
from tests.conftest import make_runtime
from tests.dashboard_seed import EMAILS, PASSWORD, login
from tests.simulated_year import simulated_database
from workflow import runtime
from workflow.accounts import Role, add_or_update_user
from workflow.clock import FrozenClock
from workflow.cycles.models import Review
from workflow.db import make_engine, make_session_factory, unit_of_work
from workflow.reports.answers import COLUMNS, answers_table, to_csv, to_xlsx

BERLIN = ZoneInfo("Europe/Berlin")
FORMULA = '=HYPERLINK("http://example.org";"klick")'
ANSWERS_SQL = """
SELECT m.code, m.title, f.code, g.code, g.rank, d.name, mc.state, mc.due_on, mc.escalation_level,
       i.decision, ta.decision, ta.targets, ta.submitted_at, r.achievement, r.comment,
       r.proposal, r.submitted_at, c.year
FROM measure_cycle mc
JOIN cycle c ON c.id = mc.cycle_id
JOIN measure m ON m.id = mc.measure_id
JOIN goal g ON g.id = m.goal_id
JOIN field f ON f.id = g.field_id
JOIN department d ON d.id = m.department_id
LEFT JOIN interview i ON i.measure_cycle_id = mc.id
LEFT JOIN target_agreement ta ON ta.measure_cycle_id = mc.id
LEFT JOIN review r ON r.measure_cycle_id = mc.id
WHERE c.year = :year OR (c.year < :year
      AND mc.state NOT IN ('carried_forward', 'deferred', 'dropped', 'completed'))
"""


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = simulated_database(tmp_path_factory, "answers")
    engine = make_engine(f"sqlite:///{path}")
    with unit_of_work(make_session_factory(engine)) as s:
        # A typed answer that Excel would run as a formula if it were written as it is.
        first = s.scalars(select(Review).order_by(Review.id)).first()
        assert first is not None
        first.comment = FORMULA
    engine.dispose()
    return f"sqlite:///{path}"


def _local(raw: object) -> str:
    if raw is None:
        return ""
    moment = datetime.fromisoformat(str(raw)).replace(tzinfo=UTC).astimezone(BERLIN)
    return moment.strftime("%Y-%m-%d %H:%M")


def _de(prefix: str, value: str | None) -> str:
    """A stored choice as the export shows it: the German word of the page catalogues."""
    return translate(f"{prefix}.{value}", "de") if value else ""


def _expected(url: str, year: int) -> dict[str, dict[str, str]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(ANSWERS_SQL), {"year": year}).all()
    engine.dispose()
    out = {}
    for (code, title, f_code, g_code, rank, dept, state, due, level, interview, decision,
         targets, agreed_at, achievement, comment, proposal, reviewed_at, cycle_year) in rows:  # fmt: skip
        out[code] = {
            # An earlier cycle's open item is listed too, under its own cycle (issue 12).
            "zyklus": str(cycle_year),
            "massnahme_code": code,
            "massnahme": title,
            "handlungsfeld_code": f_code,
            "ziel_code": g_code,
            "ziel_rang": str(rank),
            "fachbereich": dept,
            "phase_code": state,
            "faellig_am": str(due or ""),
            "eskalationsstufe": str(level),
            "erstgespraech_ergebnis": _de("decision", interview),
            "zv_entscheidung": _de("answer.decision", decision),
            "zv_ziele": targets or "",
            "zv_abgegeben_am": _local(agreed_at),
            "review_zielerreichung": _de("forms.achievement", achievement),
            "review_kommentar": ("'" + comment if comment == FORMULA else comment) or "",
            "review_vorschlag": _de("forms.proposal", proposal),
            "review_abgegeben_am": _local(reviewed_at),
        }
    return out


def _table(url: str, year: int):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        org_id = s.execute(text("SELECT id FROM organisation")).scalar_one()
        table = answers_table(s, organisation_id=org_id, year=year)
    engine.dispose()
    return table


@pytest.mark.parametrize("year", [2026, 2027])
def test_csv_has_one_row_per_measure_with_the_databases_values(url: str, year: int) -> None:
    data = to_csv(_table(url, year))
    assert data.startswith("\ufeff".encode())
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";")
    assert tuple(reader.fieldnames or ()) == COLUMNS
    rows = list(reader)
    expected = _expected(url, year)
    assert len(rows) == len(expected) == {2026: 36, 2027: 31}[year]
    for row in rows:
        want = expected[row["massnahme_code"]]
        assert {k: row[k] for k in want} == want
    codes = [r["massnahme_code"] for r in rows]
    assert codes == sorted(
        codes, key=lambda c: [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", c)]
    )
    if year == 2026:
        assert any(r["review_kommentar"] == "'" + FORMULA for r in rows)
        assert any(r["zv_abgegeben_am"] for r in rows) and any(
            r["review_zielerreichung"] for r in rows
        )


def test_xlsx_holds_the_same_values_with_real_dates_and_text(url: str) -> None:
    table = _table(url, 2026)
    sheet = load_workbook(io.BytesIO(to_xlsx(table))).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == COLUMNS and len(rows) == 37
    expected = _expected(url, 2026)
    for values in rows[1:]:
        row = dict(zip(COLUMNS, values, strict=True))
        want = expected[str(row["massnahme_code"])]
        assert row["massnahme"] == want["massnahme"] and row["fachbereich"] == want["fachbereich"]
        assert row["ziel_rang"] == int(want["ziel_rang"]) and row["zyklus"] == 2026
        due = row["faellig_am"]
        assert (due.date().isoformat() if isinstance(due, datetime) else "") == want["faellig_am"]
        submitted = row["zv_abgegeben_am"]
        assert (submitted.strftime("%Y-%m-%d %H:%M") if submitted else "") == want[
            "zv_abgegeben_am"
        ]
        assert (row["review_zielerreichung"] or "") == want["review_zielerreichung"]
    comments = [c for c in sheet["AC"][1:] if c.value == FORMULA]
    assert sheet["AC1"].value == "review_kommentar"
    assert len(comments) == 1 and comments[0].data_type == "s"  # text, never a formula


def test_cli_and_api_export_the_same_rows(url: str, tmp_path: Path, clock: FrozenClock) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIELFLOW_")}
    env.update(ZIELFLOW_DATABASE_URL=url, ZIELFLOW_VAR_DIR=str(tmp_path / "var"))
    out = tmp_path / "antworten.csv"
    done = subprocess.run(
        [sys.executable, "-m", "workflow.cli", "export-answers", "--cycle", "2026", str(out)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "36 Maßnahmen des Zyklus 2026" in done.stdout
    assert out.read_bytes() == to_csv(_table(url, 2026))
    missing = subprocess.run(
        [sys.executable, "-m", "workflow.cli", "export-answers", "--cycle", "2031", str(out)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert missing.returncode == 1 and "Es gibt keinen Zyklus 2031." in missing.stderr

    rt = make_runtime(url, clock, tmp_path)
    try:
        with unit_of_work(rt.sessions) as s:
            org_id = s.execute(text("SELECT id FROM organisation")).scalar_one()
            add_or_update_user(
                session=s,
                organisation_id=org_id,
                email=EMAILS[Role.STEERING],
                role=Role.STEERING,
                password=PASSWORD,
                now=rt.clock.now(),
            )
        client = TestClient(create_app())
        assert client.get("/api/v1/cycles/2026/answers").status_code == 401
        login(client, Role.STEERING)
        as_csv = client.get("/api/v1/cycles/2026/answers?format=csv")
        assert as_csv.status_code == 200 and as_csv.content == out.read_bytes()
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert 'filename="antworten-simulation-2026.csv"' in as_csv.headers["content-disposition"]
        as_xlsx = client.get("/api/v1/cycles/2026/answers?format=xlsx")
        assert as_xlsx.status_code == 200
        assert len(list(load_workbook(io.BytesIO(as_xlsx.content)).worksheets[0].rows)) == 37
        assert client.get("/api/v1/cycles/2031/answers").status_code == 404
    finally:
        runtime.install(None)
