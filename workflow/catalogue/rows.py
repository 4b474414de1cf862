"""Reading catalogue files (CSV with comma or semicolon, XLSX) into rows with their line numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


class FileUnreadable(Exception):
    """The file as a whole cannot be read: wrong encoding, no header, missing columns."""


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
        raise FileUnreadable(
            "Zeile 1: Spalten fehlen: " + ", ".join(missing) + ". Erwartet: " + ", ".join(COLUMNS)
        )
    return names


def _csv_rows(data: bytes) -> Iterator[RawRow]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileUnreadable(
            f"Die Datei ist nicht UTF-8-kodiert (Byte {exc.start}). "
            "Bitte in Excel als 'CSV UTF-8' speichern."
        ) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise FileUnreadable("Die Datei ist leer.") from None
    names = _check_header(header)
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        yield RawRow(line, _zip(names, cells))


def _xlsx_rows(path: Path) -> Iterator[RawRow]:
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise FileUnreadable(f"Die XLSX-Datei ist nicht lesbar: {exc}") from None
    rows = sheet.iter_rows(values_only=True)
    try:
        header = [str(c or "") for c in next(rows)]
    except StopIteration:
        raise FileUnreadable("Die Datei ist leer.") from None
    names = _check_header(header)
    for line, cells in enumerate(rows, start=2):
        texts = ["" if c is None else str(c) for c in cells]
        if not any(t.strip() for t in texts):
            continue
        yield RawRow(line, _zip(names, texts))


def _zip(names: list[str], cells: list[str]) -> dict[str, str]:
    values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(names)}
    return {c: values.get(c, "") for c in COLUMNS}
