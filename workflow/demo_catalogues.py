"""One example catalogue for several organisations in one database.

The district demo and ``simulate --organisations N`` load the same catalogue into many
organisations. Contacts and body members are found by their address (form links, the
simulated answers), so each organisation gets its own copy with its own mail domain;
otherwise one town's reminders would carry links another town's contact answers.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from workflow.csv_safe import unescape_cell, write_csv


def rehomed(source: Path, domain: str, target: Path) -> Path:
    """``source`` with every address in an ``…email`` column moved to ``domain``, written
    to ``target``. Spreadsheets are returned unchanged: the copies are for CSV examples."""
    if source.suffix.lower() not in {".csv", ".txt"}:
        return source
    text = source.read_bytes().decode("utf-8-sig")
    first_line = text.split("\n", 1)[0]
    # The importer's own rule (workflow/catalogue/rows.py), so the copy reads as the source.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    # Read as the importer reads (unescaped), written escaped again: the copy means the same.
    rows = [
        [unescape_cell(cell) for cell in row]
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    ]
    if not rows:
        return source
    header = [h.strip().lower() for h in rows[0]]
    mail_columns = [i for i, name in enumerate(header) if name.endswith("email")]
    out = io.StringIO(newline="")
    write_csv(
        out,
        [rows[0], *(_moved(row, mail_columns, domain) for row in rows[1:])],
        delimiter=delimiter,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(out.getvalue(), encoding="utf-8")
    return target


def _moved(row: list[str], columns: list[int], domain: str) -> list[str]:
    moved = list(row)
    for i in columns:
        if i < len(moved) and "@" in moved[i]:
            moved[i] = f"{moved[i].strip().rpartition('@')[0]}@{domain}"
    return moved
