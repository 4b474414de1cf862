"""How a day reads in an English letter, email or report: "31 December 2027". Pure.

The one home of the English month names. Pages write the short numeric form instead
(``api.formats.day``: 31/12/2027); a letter or a report is read as prose and spells the month
out. Lives in ``workflow`` so that both the pages (``api``) and the emails and reports may
import it: ``workflow`` never imports ``api``.
"""

from __future__ import annotations

from datetime import date

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def month(number: int) -> str:
    """1 -> "January"."""
    return MONTHS[number - 1]


def long_day(value: date) -> str:
    """31 December 2027: no leading zero, no comma, as British letters write it."""
    return f"{value.day} {month(value.month)} {value.year}"
