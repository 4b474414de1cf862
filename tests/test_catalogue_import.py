"""Catalogue import: all or nothing, every bad row by line, upsert by code, CSV and XLSX."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import EXAMPLES
from workflow.catalogue.models import Contact, Department, Field, Goal, Measure
from workflow.catalogue.rows import COLUMNS, OPTIONAL_COLUMNS
from workflow.catalogue.service import (
    CatalogueInvalid,
    ensure_organisation,
    export_catalogue,
    import_catalogue,
)
from workflow.db import unit_of_work
from workflow.runtime import Runtime

HEADER = ",".join(COLUMNS)


def _counts(session: Session) -> dict[str, int]:
    return {
        m.__name__: session.scalar(select(func.count()).select_from(m)) or 0
        for m in (Field, Goal, Department, Contact, Measure)
    }


def _import(rt: Runtime, path: Path):  # type: ignore[no-untyped-def]
    with unit_of_work(rt.sessions) as s:
        org = ensure_organisation(s, slug="musterstadt", name="Musterstadt")
        return import_catalogue(session=s, organisation_id=org.id, path=path)


def test_example_catalogue_imports_and_matches_the_seed(rt: Runtime) -> None:
    report = _import(rt, EXAMPLES / "catalogue.csv")
    assert report.rows >= 30
    with rt.sessions() as s:
        goals = {g.code: g.rank for g in s.scalars(select(Goal))}
        fields = set(s.scalars(select(Field.code)))
        # Ranks as the Integrationskonzept (seed 004) orders its goals.
        assert goals == {
            "A1": 1,
            "A2": 1,
            "A3": 2,
            "A4": 3,
            "A5": 3,
            "B1": 1,
            "B2": 2,
            "B3": 2,
            "B4": 3,
            "B5": 3,
            "B6": 3,
            "C1": 1,
            "C2": 2,
            "C3": 3,
            "C4": 4,
            "C5": 4,
        }
        assert fields == {"A", "B", "C"}
        titles = " ".join(s.scalars(select(Measure.title)))
        for named in ("Deutsch lernen", "Lesepaten", "MiKiBu", "Schulsystem"):
            assert named in titles
        assert _counts(s)["Measure"] == report.rows


def test_same_file_twice_changes_nothing(rt: Runtime) -> None:
    first = _import(rt, EXAMPLES / "catalogue.csv")
    with rt.sessions() as s:
        before = _counts(s)
    second = _import(rt, EXAMPLES / "catalogue.csv")
    assert first.changed and not second.changed
    with rt.sessions() as s:
        assert _counts(s) == before


def test_changed_row_updates_by_code(rt_sqlite: Runtime, tmp_path: Path) -> None:
    _import(rt_sqlite, EXAMPLES / "catalogue.csv")
    rows = list(csv.DictReader((EXAMPLES / "catalogue.csv").open(encoding="utf-8")))
    rows[0]["massnahme"] = "Neuer Titel"
    changed = tmp_path / "changed.csv"
    with changed.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    report = _import(rt_sqlite, changed)
    assert report.updated == {"measures": 1} and not report.created
    with rt_sqlite.sessions() as s:
        m = s.scalars(select(Measure).where(Measure.code == rows[0]["massnahme_code"])).one()
        assert m.title == "Neuer Titel"


def test_every_bad_row_is_reported_and_nothing_is_written(rt: Runtime, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + "\n"
        "A,Arbeit,A1,Strategie,1,A1.1,Lotsen,,Amt 1,Eva,eva@stadt.example.org\n"  # line 2 ok
        "A,Arbeit,A1,Strategie,7,A1.2,Börse,,Amt 1,Eva,eva@stadt.example.org\n"  # 3 rank
        "A,Arbeit,A1,Strategie,1,,Ohne Code,,Amt 1,Eva,eva@stadt.example.org\n"  # 4 code
        "A,Arbeit,A2,Zweites,2,A1.1,Doppelt,,Amt 1,Eva,eva@stadt.example.org\n"  # 5 dup
        "A,Arbeit,A2,Zweites,2,A2.1,Post,,Amt 1,Max,kein-at-zeichen\n"  # 6 email
        "A,Arbeit,A2,Anders,2,A2.2,Widerspruch,,Amt 1,Eva,eva@stadt.example.org\n",  # 7 goal
        encoding="utf-8",
    )
    with pytest.raises(CatalogueInvalid) as info:
        _import(rt, bad)
    got = [(e.line, e.column) for e in info.value.errors]
    assert got == [
        (3, "ziel_rang"),
        (4, "massnahme_code"),
        (5, "massnahme_code"),
        (6, "kontakt_email"),
        (7, "ziel_code"),
    ]
    messages = [str(e) for e in info.value.errors]
    assert (
        messages[0]
        == "Zeile 3, Spalte ziel_rang: Rang muss eine ganze Zahl von 1 bis 4 sein, nicht '7'"
    )
    assert "steht schon in Zeile 2" in messages[2]
    with rt.sessions() as s:
        assert _counts(s) == {"Field": 0, "Goal": 0, "Department": 0, "Contact": 0, "Measure": 0}


def test_missing_columns_are_named(rt_sqlite: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("handlungsfeld_code,ziel_code\nA,A1\n", encoding="utf-8")
    with pytest.raises(CatalogueInvalid) as info:
        _import(rt_sqlite, path)
    assert info.value.errors[0].line == 1
    assert "massnahme_code" in info.value.errors[0].message


def test_semicolon_file_with_umlauts(rt: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        (
            "\ufeff" + HEADER.replace(",", ";") + "\r\n"
            "B;Bildung und Sprache;B1;Frühe Förderung;1;B1.9;Sprachförderung in Kitas;"
            '"Fördert, übt; prüft";Kinder- und Jugendamt;Jürgen Müller;'
            "juergen.mueller@stadt.example.org\r\n"
        ).encode("utf-8")
    )
    _import(rt, path)
    with rt.sessions() as s:
        m = s.scalars(select(Measure)).one()
        assert (m.title, m.description) == ("Sprachförderung in Kitas", "Fördert, übt; prüft")
        assert m.contact is not None and m.contact.name == "Jürgen Müller"
        assert m.goal.name == "Frühe Förderung"


def test_not_utf8_is_explained(rt_sqlite: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (HEADER + "\nB,Bildung,B1,Frühe Förderung,1,B1.1,x,,Amt,,\n").encode("latin-1")
    )
    with pytest.raises(CatalogueInvalid) as info:
        _import(rt_sqlite, path)
    assert "nicht UTF-8" in info.value.errors[0].message


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_then_import_is_a_round_trip(
    rt_sqlite: Runtime, tmp_path: Path, suffix: str
) -> None:
    _import(rt_sqlite, EXAMPLES / "catalogue.csv")
    out = tmp_path / f"export{suffix}"
    with unit_of_work(rt_sqlite.sessions) as s:
        org = ensure_organisation(s, slug="musterstadt", name="Musterstadt")
        n = export_catalogue(session=s, organisation_id=org.id, path=out)
    assert n >= 30
    assert not _import(rt_sqlite, out).changed
    if suffix == ".csv":
        original = sorted(
            csv.DictReader((EXAMPLES / "catalogue.csv").open(encoding="utf-8")),
            key=lambda r: r["massnahme_code"],
        )
        exported = list(csv.DictReader(out.open(encoding="utf-8")))
        # The export adds the optional columns (head, concept), empty for this catalogue.
        assert [{c: r[c] for c in COLUMNS} for r in exported] == original
        assert {r[c] for r in exported for c in OPTIONAL_COLUMNS} == {""}
