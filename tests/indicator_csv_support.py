"""Writes indicator import files (``kennzahlen importieren``) for the tests of the import."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

from workflow.indicators.importer import COLUMNS, OPTIONAL_COLUMNS, RHYTHM_COLUMNS

# Every column the import reads; an optional column left empty reads as one left out.
ALL_COLUMNS = (*COLUMNS, *OPTIONAL_COLUMNS, *RHYTHM_COLUMNS)


def write_import_file(path: Path, rows: Sequence[Mapping[str, str]]) -> Path:
    """A semicolon file with every column as its header; a column a row lacks stays empty."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=ALL_COLUMNS, delimiter=";")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in ALL_COLUMNS})
    return path
