"""Every CSV zielflow writes defuses formula-looking text by one rule, and reads it back intact."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.conftest import EXAMPLES
from workflow.catalogue.models import Contact, Department, Measure
from workflow.catalogue.service import ensure_organisation, export_catalogue, import_catalogue
from workflow.csv_safe import FORMULA_START, escape_cell, unescape_cell
from workflow.cycles.service import open_cycle
from workflow.db import unit_of_work
from workflow.reports.answers import answers_table, to_csv
from workflow.runtime import Runtime

# Measure code -> a title a spreadsheet would run (or that looks like our own text mark).
TITLES = {
    "A1.1": '=HYPERLINK("http://example.org";"klick")',
    "A1.2": "+49 211 1234",
    "A1.3": "-Kurs für Eltern",
    "A2.1": "@SUMME(A1:A3)",
    "A2.2": "'=schon markiert",
    "A3.1": "''",
}
# As a spreadsheet must receive them: one leading apostrophe each, written out by hand.
WRITTEN = {
    "A1.1": '\'=HYPERLINK("http://example.org";"klick")',
    "A1.2": "'+49 211 1234",
    "A1.3": "'-Kurs für Eltern",
    "A2.1": "'@SUMME(A1:A3)",
    "A2.2": "''=schon markiert",
    "A3.1": "'''",
}
DESCRIPTION = "\t=1+1 nach einem Tabulator"
DEPARTMENT = "-Amt für Zuwanderung"
CONTACT = "@Kontakt"


def _prepare(rt: Runtime) -> int:
    with unit_of_work(rt.sessions) as s:
        org = ensure_organisation(s, slug="musterstadt", name="Musterstadt")
        import_catalogue(session=s, organisation_id=org.id, path=EXAMPLES / "catalogue.csv")
        for code, title in TITLES.items():
            s.scalars(select(Measure).where(Measure.code == code)).one().title = title
        first = s.scalars(select(Measure).where(Measure.code == "A1.1")).one()
        first.description = DESCRIPTION
        s.get_one(Department, first.department_id).name = DEPARTMENT
        s.get_one(Contact, first.contact_id).name = CONTACT
        return org.id


def _export(rt: Runtime, org_id: int, path: Path) -> list[dict[str, str]]:
    with unit_of_work(rt.sessions) as s:
        export_catalogue(session=s, organisation_id=org_id, path=path)
    return list(csv.DictReader(path.open(encoding="utf-8", newline="")))


def test_catalogue_csv_export_defuses_every_formula_cell(rt: Runtime, tmp_path: Path) -> None:
    org_id = _prepare(rt)
    rows = _export(rt, org_id, tmp_path / "katalog.csv")
    by_code = {r["massnahme_code"]: r for r in rows}
    assert {code: by_code[code]["massnahme"] for code in TITLES} == WRITTEN
    assert by_code["A1.1"]["beschreibung"] == "'" + DESCRIPTION
    assert {r["fachbereich"] for r in rows if r["fachbereich"].endswith(DEPARTMENT)} == {
        "'" + DEPARTMENT
    }
    assert by_code["A1.1"]["kontakt_name"] == "'" + CONTACT
    dangerous = [c for r in rows for c in r.values() if c.startswith(FORMULA_START)]
    assert dangerous == []


def test_catalogue_and_answers_exports_write_the_same_cell(rt: Runtime, tmp_path: Path) -> None:
    org_id = _prepare(rt)
    catalogue = {r["massnahme_code"]: r for r in _export(rt, org_id, tmp_path / "k.csv")}
    with unit_of_work(rt.sessions) as s:
        open_cycle(session=s, clock=rt.clock, organisation_id=org_id, year=2026)
    with rt.sessions() as s:
        data = to_csv(answers_table(s, organisation_id=org_id, year=2026))
    answers = {
        r["massnahme_code"]: r
        for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";")
    }
    for code in TITLES:
        assert answers[code]["massnahme"] == catalogue[code]["massnahme"] == WRITTEN[code]
    for column in ("fachbereich", "kontakt_name"):
        assert answers["A1.1"][column] == catalogue["A1.1"][column]


def test_an_exported_csv_imports_back_to_the_same_text(rt: Runtime, tmp_path: Path) -> None:
    org_id = _prepare(rt)
    with unit_of_work(rt.sessions) as s:
        # The importer strips cells; a leading tab would not survive any import, escaped or not.
        s.scalars(select(Measure).where(Measure.code == "A1.1")).one().description = "=1+1"
    path = tmp_path / "katalog.csv"
    _export(rt, org_id, path)
    with unit_of_work(rt.sessions) as s:
        assert not import_catalogue(session=s, organisation_id=org_id, path=path).changed
        other = ensure_organisation(s, slug="anderswo", name="Anderswo")
        import_catalogue(session=s, organisation_id=other.id, path=path)
        titles = {
            code: title
            for code, title in s.execute(
                select(Measure.code, Measure.title).where(Measure.organisation_id == other.id)
            )
        }
        first = s.scalars(
            select(Measure).where(Measure.organisation_id == other.id, Measure.code == "A1.1")
        ).one()
        assert (first.description, first.department.name, first.contact.name) == (  # type: ignore[union-attr]
            "=1+1",
            DEPARTMENT,
            CONTACT,
        )
    assert {code: titles[code] for code in TITLES} == TITLES


@settings(max_examples=300, derandomize=True, database=None)
@given(st.text(alphabet=st.sampled_from(["'", "=", "+", "-", "@", "\t", "\r", "a", " "])))
def test_the_rule_is_reversible_and_never_leaves_a_formula(text: str) -> None:
    written = escape_cell(text)
    assert unescape_cell(written) == text
    assert not written.startswith(FORMULA_START)
    assert written in (text, "'" + text)


def test_no_other_module_writes_csv_itself() -> None:
    root = Path(__file__).resolve().parents[1]
    writers = [
        str(path.relative_to(root))
        for package in ("workflow", "api", "notifications")
        for path in (root / package).rglob("*.py")
        if re.search(r"csv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8"))
    ]
    assert writers == ["workflow/csv_safe.py"]
