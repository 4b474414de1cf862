"""The per-field status sheet (Sachstand nach Handlungsfeld) as one HTML document or a PDF.

For the guests who report on a field to the Begleitgremium: per goal, each active measure
with its latest status, date, short text and next open milestone (``by_field``). Words come
from the page catalogues (``api/locales``, keys ``sheet.*`` and ``latest.*``) in German or
English; the layout is the reports'. Never asks who is looking (the page and the CLI do)
and never reads the clock: the same data and day give the same bytes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Field, Organisation
from workflow.reports import english, german
from workflow.reports.html import TEMPLATES
from workflow.status_checks.by_field import FieldBlock, status_by_field
from workflow.status_checks.latest import STANDS
from workflow.terms import words_by_language

LANGUAGES = ("de", "en")
NO_STATEMENT = ""  # the count of measures without any status yet


@dataclass(frozen=True)
class Sheet:
    organisation: str
    office: str
    office_address: tuple[str, ...]
    slug: str
    day: date
    field: FieldBlock
    # The organisation's words per language (workflow/terms.py); empty: the default words.
    words: dict[str, dict[str, str]] = dataclass_field(default_factory=dict)

    def counts(self) -> list[tuple[str, int]]:
        """(stand, n) in reading order, then "" for the measures without a statement."""
        seen = Counter(m.status.stand if m.status else NO_STATEMENT for m in self.field.measures)
        return [(s, seen.get(s, 0)) for s in (*STANDS, NO_STATEMENT)]


def find_field(session: Session, *, organisation_id: int, code: str) -> Field | None:
    """The organisation's field of that code (as typed, then ignoring case), if any."""
    fields = session.scalars(select(Field).where(Field.organisation_id == organisation_id)).all()
    wanted = code.strip()
    exact = [f for f in fields if f.code == wanted]
    loose = [f for f in fields if f.code.casefold() == wanted.casefold()]
    return (exact or loose)[0] if exact or loose else None


def status_sheet(session: Session, *, organisation_id: int, field_id: int, today: date) -> Sheet:
    org = session.get(Organisation, organisation_id)
    assert org is not None  # the caller found the field in it
    (block,) = status_by_field(
        session, organisation_id=organisation_id, today=today, field_id=field_id
    )
    return Sheet(
        organisation=org.name,
        office=org.office_name,
        office_address=tuple(org.office_address.splitlines()),
        slug=org.slug,
        day=today,
        field=block,
        words=words_by_language(org),
    )


def sheet_filename(sheet: Sheet, fmt: str) -> str:
    return f"sachstand-{sheet.slug}-{sheet.field.code}-{sheet.day.isoformat()}.{fmt}"


def sheet_html(sheet: Sheet, language: str) -> str:
    lang = language if language in LANGUAGES else "de"
    # Imported here: the catalogue lives with the pages; this module only reads it.
    from api.i18n import translate, words_in_effect

    def t(key: str, **values: object) -> str:
        return translate(key, lang, **values)

    with words_in_effect(sheet.words):
        return _environment(lang).get_template("status_sheet.html").render(s=sheet, lang=lang, t=t)


def sheet_pdf(sheet: Sheet, language: str) -> bytes:
    from workflow.reports.pdf import html_to_pdf

    return html_to_pdf(sheet_html(sheet, language))


def day_text(value: date | None, lang: str) -> str:
    if value is None:
        return "–"
    if lang == "de":
        return german.day(value)
    return english.long_day(value)


@lru_cache(maxsize=len(LANGUAGES))
def _environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(day=lambda value: day_text(value, lang))
    env.filters.update(number=lambda n: german.number(n) if lang == "de" else f"{n:,}")
    return env
