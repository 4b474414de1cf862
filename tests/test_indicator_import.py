"""Indicator import: the example file, every bad row by line, all or nothing, idempotent, CLI."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import EXAMPLES
from workflow.catalogue.models import Contact
from workflow.catalogue.service import ensure_organisation, import_catalogue
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.indicators.importer import COLUMNS, IndicatorsInvalid, import_indicators
from workflow.indicators.models import Indicator, IndicatorValue
from workflow.indicators.summary import indicator_summaries
from workflow.runtime import Runtime

TODAY = date(2026, 3, 2)


def _catalogue(rt: Runtime) -> int:
    with unit_of_work(rt.sessions) as s:
        org = ensure_organisation(s, slug="musterstadt", name="Musterstadt")
        import_catalogue(session=s, organisation_id=org.id, path=EXAMPLES / "catalogue.csv")
        return org.id


def _import(rt: Runtime, org_id: int, path: Path):  # type: ignore[no-untyped-def]
    with unit_of_work(rt.sessions) as s:
        return import_indicators(
            session=s, organisation_id=org_id, path=path, now=rt.clock.now(), today=TODAY
        )


def _counts(s: Session) -> tuple[int, int, int]:
    return (
        s.scalar(select(func.count()).select_from(Indicator)) or 0,
        s.scalar(select(func.count()).select_from(IndicatorValue)) or 0,
        s.scalar(select(func.count()).select_from(Contact)) or 0,
    )


def test_the_example_file_imports_once(rt: Runtime, clock: FrozenClock) -> None:
    org_id = _catalogue(rt)
    with rt.sessions() as s:
        contacts_before = _counts(s)[2]
    first = _import(rt, org_id, EXAMPLES / "indicators.csv")
    assert 8 <= first.rows <= 12
    assert first.created["Kennzahlen"] == first.rows
    assert first.created["Werte"] >= 3 * first.rows
    with rt.sessions() as s:
        indicators, values, contacts = _counts(s)
        # Outside bodies (Jobcenter, Agentur für Arbeit, Kreis) become contacts without department.
        outside = s.scalars(
            select(Contact).where(Contact.email.like("%jobcenter.example.org"))
        ).one()
        assert outside.department_id is None and contacts > contacts_before
        k1 = s.scalars(select(Indicator).where(Indicator.code == "B-K1")).one()
        assert k1.due_months == [2] and k1.districts == ["Bensberg", "Refrath", "Stadtmitte"]
        assert [g.code for g in k1.goals] == ["B5", "B6"]
        assert k1.source_contact is not None
        assert k1.source_contact.email == "lena.hoffmann@stadt.example.org"
        survey = s.scalars(
            select(IndicatorValue)
            .join(Indicator)
            .where(Indicator.code == "B-W1")
            .order_by(IndicatorValue.survey_date)
        ).first()
        assert survey is not None and survey.counts == [2, 5, 9, 11, 4]
        assert survey.value == (2 + 10 + 27 + 44 + 20) / 31
        summaries = {x.code: x for x in indicator_summaries(s, organisation_id=org_id, until=TODAY)}
    assert summaries["A-K1"].trend == "fallend" and summaries["A-K1"].on_track is True
    assert summaries["B-K2"].trend == "fallend" and summaries["B-K2"].on_track is True
    assert summaries["A-W1"].kind == "qualitative"
    # Importing the same file again changes nothing.
    again = _import(rt, org_id, EXAMPLES / "indicators.csv")
    assert not again.changed
    with rt.sessions() as s:
        assert _counts(s) == (indicators, values, contacts)


def _write(path: Path, rows: list[dict[str, str]], delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS), delimiter=delimiter)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in COLUMNS})
    return path


GOOD = {
    "kennzahl_code": "T-1",
    "aussage": "Eine Testkennzahl steigt",
    "einheit": "prozent",
    "richtung": "steigend",
    "erhebung_monate": "3",
    "quelle_email": "quelle@stadt.example.org",
    "quelle_name": "Quelle",
    "ziele": "A1",
    "werte": "2024-03-15=10; 2025-03-15=11",
}


def test_every_bad_row_is_reported_by_line_and_nothing_is_written(
    rt: Runtime, tmp_path: Path
) -> None:
    org_id = _catalogue(rt)
    path = _write(
        tmp_path / "bad.csv",
        [
            GOOD,  # line 2: fine
            {**GOOD, "kennzahl_code": "T-2", "einheit": "stück"},  # line 3
            {**GOOD, "kennzahl_code": "T-1"},  # line 4: duplicate code
            {**GOOD, "kennzahl_code": "T-3", "richtung": "zielwert"},  # line 5: no target
            {**GOOD, "kennzahl_code": "T-4", "werte": "2024-03-15=120"},  # line 6: > 100 %
            {**GOOD, "kennzahl_code": "T-5", "ziele": "Z9", "massnahmen": "X1.1"},  # line 7
            {**GOOD, "kennzahl_code": "T-6", "erhebung_monate": "13", "quelle_email": "kaputt"},
            {**GOOD, "kennzahl_code": "T-7", "werte": "gestern=3; 2030-01-01=4"},  # line 9
        ],
        delimiter=";",
    )
    with rt.sessions() as s:
        before = _counts(s)
    try:
        _import(rt, org_id, path)
    except IndicatorsInvalid as exc:
        lines = [(e.line, e.column) for e in exc.errors]
        text = [str(e) for e in exc.errors]
    else:
        raise AssertionError("the import should have failed")
    assert lines == [
        (3, "einheit"),
        (4, "kennzahl_code"),
        (5, "zielwert"),
        (6, "werte"),
        (7, "massnahmen"),
        (7, "ziele"),
        (8, "erhebung_monate"),
        (8, "quelle_email"),
        (9, "werte"),
        (9, "werte"),
    ]
    assert "Zeile 4, Spalte kennzahl_code: 'T-1' steht schon in Zeile 2" in text
    assert "Zeile 7, Spalte ziele: Ziel 'Z9' gibt es im Katalog nicht" in text
    assert any("ein Prozentwert liegt zwischen 0 und 100" in t for t in text)
    assert any("Zukunft" in t for t in text)
    with rt.sessions() as s:
        assert _counts(s) == before  # all or nothing


def test_a_file_without_the_columns_is_refused_on_line_one(rt: Runtime, tmp_path: Path) -> None:
    org_id = _catalogue(rt)
    path = tmp_path / "wrong.csv"
    path.write_text("code,aussage\nT-1,etwas\n", encoding="utf-8")
    try:
        _import(rt, org_id, path)
    except IndicatorsInvalid as exc:
        assert exc.errors[0].line == 1 and "Spalten fehlen" in exc.errors[0].message
    else:
        raise AssertionError("the import should have failed")


def test_cli_imports_and_reports_errors_by_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIELFLOW_")}
    env["ZIELFLOW_VAR_DIR"] = str(tmp_path / "var")

    def zielflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "workflow.cli", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert zielflow("db", "upgrade").returncode == 0
    assert zielflow("import-catalogue", str(EXAMPLES / "catalogue.csv")).returncode == 0
    bad = _write(tmp_path / "bad.csv", [GOOD, {**GOOD, "kennzahl_code": "T-2", "werte": "x"}])
    refused = zielflow("import-indicators", str(bad))
    assert refused.returncode == 1
    assert "nichts wurde importiert" in refused.stderr
    assert "Zeile 3, Spalte werte: 'x' hat nicht die Form JJJJ-MM-TT=Wert" in refused.stderr
    done = zielflow("import-indicators", str(EXAMPLES / "indicators.csv"))
    assert done.returncode == 0, done.stderr
    assert "Kennzahlen gelesen; neu:" in done.stdout
    again = zielflow("import-indicators", str(EXAMPLES / "indicators.csv"))
    assert "nichts geändert" in again.stdout
