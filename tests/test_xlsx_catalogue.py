"""The catalogue as XLSX beside CSV: same columns, same checks, all or nothing, errors by line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import EXAMPLES
from workflow.catalogue.models import Contact, Department, Field, Goal, Measure
from workflow.catalogue.rows import COLUMNS, EXPORT_COLUMNS
from workflow.catalogue.service import (
    CatalogueInvalid,
    ensure_organisation,
    export_catalogue,
    import_catalogue,
)
from workflow.csv_safe import unescape_cell
from workflow.db import unit_of_work
from workflow.runtime import Runtime

FORMULA_LIKE = "=SUMME(A1:A3) steht hier als Text"


def _import(rt: Runtime, path: Path):  # type: ignore[no-untyped-def]
    with unit_of_work(rt.sessions) as s:
        org = ensure_organisation(s, slug="musterstadt", name="Musterstadt")
        return import_catalogue(session=s, organisation_id=org.id, path=path)


def _export(rt: Runtime, path: Path) -> int:
    with unit_of_work(rt.sessions) as s:
        org = ensure_organisation(s, slug="musterstadt", name="Musterstadt")
        return export_catalogue(session=s, organisation_id=org.id, path=path)


def _counts(session: Session) -> dict[str, int]:
    return {
        m.__name__: session.scalar(select(func.count()).select_from(m)) or 0
        for m in (Field, Goal, Department, Contact, Measure)
    }


def _workbook(path: Path, rows: list[list[object]], header: tuple[str, ...] = COLUMNS) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(header))
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def _example_rows() -> list[dict[str, str]]:
    return list(csv.DictReader((EXAMPLES / "catalogue.csv").open(encoding="utf-8")))


def test_xlsx_round_trip_changes_nothing_and_keeps_every_value(rt: Runtime, tmp_path: Path) -> None:
    _import(rt, EXAMPLES / "catalogue.csv")
    with unit_of_work(rt.sessions) as s:
        s.scalars(select(Measure).where(Measure.code == "A1.2")).one().description = FORMULA_LIKE
    out = tmp_path / "katalog.xlsx"
    assert _export(rt, out) == 36
    sheet = load_workbook(out).worksheets[0]
    assert tuple(c.value for c in sheet[1]) == EXPORT_COLUMNS  # with the optional columns
    assert {type(c.value) for c in sheet["E"][1:]} == {int} and sheet[
        "F2"
    ].value == "A1.1"  # rank, code
    formula_cells = [c for c in sheet["H"][1:] if c.value == FORMULA_LIKE]
    assert len(formula_cells) == 1 and formula_cells[0].data_type == "s"
    with rt.sessions() as s:
        before = _counts(s)
    assert not _import(rt, out).changed
    with rt.sessions() as s:
        assert _counts(s) == before
        assert (
            s.scalars(select(Measure.description).where(Measure.code == "A1.2")).one()
            == FORMULA_LIKE
        )
    # The same rows as the CSV export, cell for cell, once the CSV's formula text mark is read.
    as_csv = tmp_path / "katalog.csv"
    _export(rt, as_csv)
    csv_rows = [
        [unescape_cell(v) for v in r.values()]
        for r in csv.DictReader(as_csv.open(encoding="utf-8"))
    ]
    xlsx_rows = [
        ["" if v is None else str(v) for v in row]
        for row in sheet.iter_rows(min_row=2, values_only=True)
    ]
    assert xlsx_rows == csv_rows


def test_an_xlsx_typed_by_hand_imports_like_its_csv(rt_sqlite: Runtime, tmp_path: Path) -> None:
    rows = _example_rows()
    # Excel stores a typed rank as a number, sometimes as 2.0; an empty row in between is skipped.
    values: list[list[object]] = []
    for r in rows:
        values.append([float(r[c]) if c == "ziel_rang" else r[c] for c in COLUMNS])
    values.insert(3, [None] * len(COLUMNS))
    report = _import(rt_sqlite, _workbook(tmp_path / "hand.xlsx", values))
    assert report.rows == 36 and report.created["measures"] == 36
    assert not _import(rt_sqlite, EXAMPLES / "catalogue.csv").changed


def test_a_broken_xlsx_reports_every_row_by_line_and_writes_nothing(
    rt: Runtime, tmp_path: Path
) -> None:
    ok = [
        "A",
        "Arbeit",
        "A1",
        "Strategie",
        1,
        "A1.1",
        "Lotsen",
        "",
        "Amt 1",
        "Eva",
        "eva@stadt.example.org",
    ]
    rows: list[list[object]] = [
        ok,  # line 2
        [
            "A",
            "Arbeit",
            "A1",
            "Strategie",
            7,
            "A1.2",
            "Börse",
            "",
            "Amt 1",
            "Eva",
            "eva@stadt.example.org",
        ],
        [None] * 11,  # line 4: empty, skipped, but still counted as a line
        [
            "A",
            "Arbeit",
            "A1",
            "Strategie",
            1,
            None,
            "Ohne Code",
            "",
            "Amt 1",
            "Eva",
            "eva@stadt.example.org",
        ],
        [
            "A",
            "Arbeit",
            "A2",
            "Zweites",
            2.5,
            "A2.1",
            "Halber Rang",
            "",
            "Amt 1",
            "Eva",
            "eva@stadt.example.org",
        ],
        [
            "A",
            "Arbeit",
            "A2",
            "Zweites",
            2,
            "A1.1",
            "Doppelt",
            "",
            "Amt 1",
            "Max",
            "kein-at-zeichen",
        ],
    ]
    path = _workbook(tmp_path / "kaputt.xlsx", rows)
    with pytest.raises(CatalogueInvalid) as info:
        _import(rt, path)
    got = [(e.line, e.column) for e in info.value.errors]
    assert got == [
        (3, "ziel_rang"),
        (5, "massnahme_code"),
        (6, "ziel_rang"),
        (7, "kontakt_email"),
    ]
    messages = [str(e) for e in info.value.errors]
    assert (
        messages[0]
        == "Zeile 3, Spalte ziel_rang: Rang muss eine ganze Zahl von 1 bis 4 sein, nicht '7'"
    )
    assert "nicht '2.5'" in messages[2]
    with rt.sessions() as s:
        assert _counts(s) == {"Field": 0, "Goal": 0, "Department": 0, "Contact": 0, "Measure": 0}


def test_xlsx_duplicate_codes_and_missing_columns(rt_sqlite: Runtime, tmp_path: Path) -> None:
    ok = [
        "A",
        "Arbeit",
        "A1",
        "Strategie",
        1,
        "A1.1",
        "Lotsen",
        "",
        "Amt 1",
        "Eva",
        "eva@stadt.example.org",
    ]
    with pytest.raises(CatalogueInvalid) as info:
        _import(rt_sqlite, _workbook(tmp_path / "doppelt.xlsx", [ok, ok]))
    assert [str(e) for e in info.value.errors] == [
        "Zeile 3, Spalte massnahme_code: 'A1.1' steht schon in Zeile 2"
    ]
    short = _workbook(
        tmp_path / "kurz.xlsx", [["A", "A1"]], header=("handlungsfeld_code", "ziel_code")
    )
    with pytest.raises(CatalogueInvalid) as info:
        _import(rt_sqlite, short)
    assert info.value.errors[0].line == 1 and "massnahme_code" in info.value.errors[0].message


@pytest.mark.parametrize(
    "content",
    [b"handlungsfeld_code,handlungsfeld\nA,Arbeit\n", b"PK\x03\x04 truncated zip", b""],
    ids=["csv-named-xlsx", "truncated", "empty"],
)
def test_a_file_that_is_no_workbook_is_explained(
    rt_sqlite: Runtime, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "katalog.xlsx"
    path.write_bytes(content)
    with pytest.raises(CatalogueInvalid) as info:
        _import(rt_sqlite, path)
    [error] = info.value.errors
    assert error.line == 1 and "keine lesbare XLSX-Arbeitsmappe" in error.message
    with rt_sqlite.sessions() as s:
        assert _counts(s)["Measure"] == 0
