"""The surname a greeting names: name particles stay with it, a double name stays whole and an
academic title written in the name comes along ("Sehr geehrte Frau Dr. von Berg,"). Pure."""

from __future__ import annotations

import pytest

from workflow.salutation import greeting


@pytest.mark.parametrize(
    ("salutation", "name", "lang", "expected"),
    [
        ("frau", "Aylin Demir", "de", "Sehr geehrte Frau Demir,"),
        ("frau", "Anna von Berg", "de", "Sehr geehrte Frau von Berg,"),
        ("herr", "Jonas van Dijk", "de", "Sehr geehrter Herr van Dijk,"),
        ("herr", "Thomas de Maizière", "de", "Sehr geehrter Herr de Maizière,"),
        ("herr", "Karl zu Guttenberg", "de", "Sehr geehrter Herr zu Guttenberg,"),
        ("frau", "Ursula von der Leyen", "de", "Sehr geehrte Frau von der Leyen,"),
        ("herr", "Jan van der Berg", "de", "Sehr geehrter Herr van der Berg,"),
        ("herr", "Peter vom Hofe", "de", "Sehr geehrter Herr vom Hofe,"),
        ("frau", "Lena zur Mühlen", "de", "Sehr geehrte Frau zur Mühlen,"),
        ("herr", "Hans von und zu Lösch", "de", "Sehr geehrter Herr von und zu Lösch,"),
        # Belgian spelling capitalises the particle; a first word is still the given name.
        ("herr", "Jan Van Dijk", "de", "Sehr geehrter Herr Van Dijk,"),
        ("frau", "Van Morrison", "de", "Sehr geehrte Frau Morrison,"),
        ("frau", "Mai Anh De", "de", "Sehr geehrte Frau De,"),
        ("frau", "Anna Müller-Lüdenscheidt", "de", "Sehr geehrte Frau Müller-Lüdenscheidt,"),
        ("frau", "Anna Müller - Lüdenscheidt", "de", "Sehr geehrte Frau Müller-Lüdenscheidt,"),
        ("frau", "Anna Maria Schmidt", "de", "Sehr geehrte Frau Schmidt,"),
        ("frau", "Dr. Aylin Demir", "de", "Sehr geehrte Frau Dr. Demir,"),
        ("herr", "Prof. Dr. Jonas Weber", "de", "Sehr geehrter Herr Prof. Dr. Weber,"),
        ("herr", "Dr. med. Jonas Weber", "de", "Sehr geehrter Herr Dr. Weber,"),
        ("herr", "Dr. rer. nat. Jan van der Berg", "de", "Sehr geehrter Herr Dr. van der Berg,"),
        ("frau", "prof. Anna von Berg", "de", "Sehr geehrte Frau Prof. von Berg,"),
        ("frau", "Anna von Berg", "en", "Dear Ms von Berg,"),
        ("frau", "Dr. Aylin Demir", "en", "Dear Dr Demir,"),
        ("herr", "Prof. Dr. Jonas van Dijk", "en", "Dear Professor van Dijk,"),
        # Nothing left to name: the neutral form, never "Frau Dr. ,".
        ("frau", "Dr.", "de", "Guten Tag,"),
        ("herr", "von", "en", "Hello,"),
        ("", "Dr. Aylin Demir", "de", "Guten Tag,"),
    ],
)
def test_the_greeting_names_the_whole_surname_and_the_title(
    salutation: str, name: str, lang: str, expected: str
) -> None:
    assert greeting(salutation=salutation, name=name, lang=lang) == expected
