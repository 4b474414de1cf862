"""Reading catalogue files (CSV with comma or semicolon, XLSX) into rows with their line numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from workflow import messages
from workflow.csv_safe import unescape_cell

COLUMNS = (
    "handlungsfeld_code",
    "handlungsfeld",
    "ziel_code",
    "ziel",
    "ziel_rang",
    "massnahme_code",
    "massnahme",
    "beschreibung",
    "fachbereich",
    "kontakt_name",
    "kontakt_email",
)
REQUIRED = tuple(c for c in COLUMNS if c not in {"beschreibung", "kontakt_name", "kontakt_email"})
# Columns a file may add (checked by optional.py and salutations.py): the department's head,
# the field's Integrationskonzept, and how the contact and the head are addressed. Files with
# only the eleven columns above stay valid.
OPTIONAL_COLUMNS = ("leitung_name", "leitung_email", "konzept", "kontakt_anrede", "leitung_anrede")
EXPORT_COLUMNS = COLUMNS + OPTIONAL_COLUMNS


class FileUnreadable(Exception):
    """The file cannot be read from ``line`` on: wrong encoding, no header, broken quoting.

    ``code`` ("file.not_utf8", …) and ``params`` are worded by workflow/messages.py; ``str()``
    is German, for logs.
    """

    def __init__(self, code: str, line: int = 1, **params: Any) -> None:
        self.code = code
        self.line = line
        self.params: dict[str, Any] = params
        super().__init__(messages.message(code, messages.DEFAULT, line=line, **params))


@dataclass(frozen=True)
class RawRow:
    line: int  # as a spreadsheet shows it: the header is line 1
    values: dict[str, str]


def read_rows(path: Path) -> list[RawRow]:
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return list(_xlsx_rows(path))
    return list(_csv_rows(path.read_bytes()))


def _check_header(header: list[str]) -> list[str]:
    names = [h.strip().lower().lstrip("\ufeff") for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise FileUnreadable("file.missing_columns", missing=missing, expected=list(COLUMNS))
    return names


def _csv_rows(data: bytes) -> Iterator[RawRow]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileUnreadable("file.not_utf8", byte=exc.start) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise FileUnreadable("file.empty") from None
    names = _check_header(header)
    line = 1
    try:
        for line, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            # A file zielflow exported marks formula-looking text; read back what was meant.
            yield RawRow(line, _zip(names, [unescape_cell(c) for c in cells]))
    except csv.Error as exc:
        raise FileUnreadable("file.line_unreadable", line=line + 1, detail=str(exc)) from None


def _xlsx_rows(path: Path) -> Iterator[RawRow]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (zip, XML, key errors) for a broken file
        raise FileUnreadable("file.not_xlsx") from None
    try:
        if not book.worksheets:
            raise FileUnreadable("file.no_sheet")
        sheet = book.worksheets[0]
        # Some programs write a wrong sheet size; without it every stored row is read.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        try:
            header = [_cell_text(c) for c in next(rows)]
        except StopIteration:
            raise FileUnreadable("file.empty") from None
        names = _check_header(header)
        # Read-only sheets yield empty rows too, so the count is the spreadsheet's line number.
        for line, cells in enumerate(rows, start=2):
            texts = [_cell_text(c) for c in cells]
            if not any(t.strip() for t in texts):
                continue
            yield RawRow(line, _zip(names, texts))
    finally:
        book.close()


def _cell_text(value: object) -> str:
    """A cell as the text a person sees: 2 not "2.0" for a rank typed as a number."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "WAHR" if value else "FALSCH"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _zip(names: list[str], cells: list[str]) -> dict[str, str]:
    values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(names)}
    return {c: values.get(c, "") for c in EXPORT_COLUMNS}
