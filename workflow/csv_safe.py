"""The one rule for text in every CSV file zielflow writes, and its inverse for files read back.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return before one of them) as a formula, so such a cell is written with a leading
apostrophe, which spreadsheets take as "this is text". The rule is reversible: a cell that
already starts with an apostrophe followed by one of those characters, or by a second
apostrophe, gets one more, so ``unescape_cell(escape_cell(t)) == t`` for every text ``t``.
This module never opens files and never touches the database.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import TextIO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"
# After the mark, these would be read back as an escape; so they are escaped themselves.
_AFTER_MARK = (*FORMULA_START, TEXT_MARK)


def escape_cell(text: str) -> str:
    """``text`` as it is written into a CSV cell, so that no spreadsheet runs it."""
    if text.startswith(FORMULA_START) or (
        text.startswith(TEXT_MARK) and text[1:].startswith(_AFTER_MARK)
    ):
        return TEXT_MARK + text
    return text


def unescape_cell(text: str) -> str:
    """The text ``escape_cell`` was given, from what it wrote; any other text unchanged."""
    if text.startswith(TEXT_MARK) and text[1:].startswith(_AFTER_MARK):
        return text[1:]
    return text


def write_csv(stream: TextIO, rows: Iterable[Sequence[str]], *, delimiter: str = ",") -> None:
    """Write ``rows`` (the header first) with every cell escaped, one line ending per row.

    ``"\\r\\n"`` ends each row, as spreadsheets expect; it also makes the writer quote a
    cell holding a bare carriage return, which would otherwise split the row.
    """
    writer = csv.writer(stream, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow([escape_cell(cell) for cell in row])
