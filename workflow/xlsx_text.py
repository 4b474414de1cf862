"""Text as a spreadsheet can hold it.

An XLSX file is XML 1.0, which has no place for C0 control characters other than tab, line
feed and carriage return, nor for the noncharacters U+FFFE and U+FFFF; openpyxl (through lxml)
refuses to write them and the whole export fails. The forms, the API and the imports refuse
these characters at the door (their checks for control characters include U+FFFE and U+FFFF);
the exports still drop them, because text stored before the door was closed may hold them.
"""

from __future__ import annotations

import re

# U+FFFE and U+FFFF are never text: Unicode reserves them as "not a character".
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def cell_value(value: object) -> object:
    """``value`` with what XML cannot hold removed, if it is text; anything else as it is."""
    return _NOT_IN_XML.sub("", value) if isinstance(value, str) else value


def row_values(values: list[object]) -> list[object]:
    return [cell_value(v) for v in values]
