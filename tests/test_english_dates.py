"""One English long date for letters, emails and reports; the short numeric form for pages;
German 31.12.2027 everywhere. Pure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from api import formats
from notifications import render
from workflow.indicators import mail
from workflow.meetings import pack
from workflow.reports import english

NEW_YEARS_EVE = date(2027, 12, 31)
FIRST_OF_MARCH = date(2026, 3, 1)

LETTERS: list[Callable[[date, str], str]] = [render.format_date, mail.format_date, pack._day]


@pytest.mark.parametrize("write", LETTERS)
def test_letters_spell_the_english_month_out_and_keep_german_numeric(
    write: Callable[[date, str], str],
) -> None:
    assert write(NEW_YEARS_EVE, "en") == "31 December 2027"
    assert write(FIRST_OF_MARCH, "en") == "1 March 2026"
    assert write(NEW_YEARS_EVE, "de") == "31.12.2027"


def test_pages_write_the_short_numeric_form() -> None:
    assert formats.day(NEW_YEARS_EVE, "en") == "31/12/2027"
    assert formats.day(NEW_YEARS_EVE, "de") == "31.12.2027"


def test_a_data_period_names_its_month_in_the_readers_language() -> None:
    assert mail.period_label("2026-03", "en") == "March 2026"
    assert mail.period_label("2026-03", "de") == "März 2026"
    assert mail.period_label("2026-Q1", "en") == "2026-Q1"


def test_the_english_months_have_one_home() -> None:
    assert [english.month(n) for n in (1, 12)] == ["January", "December"]
    assert english.long_day(NEW_YEARS_EVE) == "31 December 2027"
