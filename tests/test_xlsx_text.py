"""Text no spreadsheet can hold: refused at the door, dropped on the way out.

The 10,000-example run of the XLSX catalogue property drew a cell with U+FFFF, which openpyxl
cannot write. The same character in a CSV catalogue was imported, and the catalogue's XLSX
export then failed as a whole. Now the import refuses it with the line, as it refuses control
characters, and every XLSX export drops what XML 1.0 cannot hold, for text stored before.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from api.routes.schemas import _one_line, _text
from workflow.catalogue.models import Measure
from workflow.catalogue.rows import COLUMNS
from workflow.catalogue.service import (
    CatalogueInvalid,
    ensure_organisation,
    export_catalogue,
    import_catalogue,
)
from workflow.db import unit_of_work
from workflow.forms.validation import without_control_characters
from workflow.runtime import Runtime
from workflow.xlsx_text import cell_value

HEADER = ",".join(COLUMNS) + "\n"
ROW = "A,Arbeit,A1,Strategie,1,A1.1,{title},Text,Amt 1,Eva,eva@stadt.example.org\n"


def _org(rt: Runtime) -> int:
    with unit_of_work(rt.sessions) as session:
        return ensure_organisation(session, slug="musterstadt", name="Stadt Musterstadt").id


@pytest.mark.parametrize("odd", ["\ufffe", "\uffff"])
def test_a_noncharacter_in_a_csv_catalogue_is_a_line_error(
    rt: Runtime, tmp_path: Path, odd: str
) -> None:
    org_id = _org(rt)
    path = tmp_path / "katalog.csv"
    path.write_text(HEADER + ROW.format(title="Lotsen") + ROW.format(title=f"Lot{odd}sen"))
    with pytest.raises(CatalogueInvalid) as refused, unit_of_work(rt.sessions) as session:
        import_catalogue(session=session, organisation_id=org_id, path=path)
    assert [(e.line, e.column) for e in refused.value.errors] == [(3, "massnahme")]
    assert "Steuerzeichen" in refused.value.errors[0].message


def test_the_xlsx_export_drops_what_a_spreadsheet_cannot_hold(rt: Runtime, tmp_path: Path) -> None:
    org_id = _org(rt)
    path = tmp_path / "katalog.csv"
    path.write_text(HEADER + ROW.format(title="Lotsen"))
    with unit_of_work(rt.sessions) as session:
        import_catalogue(session=session, organisation_id=org_id, path=path)
        # As if stored before the import refused it.
        session.execute(update(Measure).values(title="Lot\uffffsen\ufffe"))
    out = tmp_path / "export.xlsx"
    with rt.sessions() as session:
        export_catalogue(session=session, organisation_id=org_id, path=out)
    sheet = load_workbook(io.BytesIO(out.read_bytes())).active
    assert sheet is not None
    titles = [row[COLUMNS.index("massnahme")] for row in sheet.iter_rows(values_only=True)]
    assert titles == ["massnahme", "Lotsen"]


def test_typed_text_never_keeps_a_noncharacter() -> None:
    assert without_control_characters("Ziel\uffff erreicht\ufffe\n") == "Ziel erreicht\n"
    for check in (_one_line, _text):
        with pytest.raises(ValueError):
            check("Ziel\uffff")
    assert cell_value("a\ufffe\x01\tb") == "a\tb" and cell_value(7) == 7
