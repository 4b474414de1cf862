"""The meeting pack (Sitzungsunterlage) of one meeting, built for its agenda: HTML or PDF.

Words come from the page catalogues (``api/locales``, keys ``pack.*`` and the dashboard's
``state.*``, ``event.*``, ``mail.*``) in German or English; the layout is the reports'
(``workflow/reports/templates``), and the PDF goes through the reports' WeasyPrint path.
The organisation check is the caller's: this module finds a meeting by id and never asks
who is looking. Reads only; never reads the clock, so the same data gives the same pack.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from sqlalchemy.orm import Session

from workflow.bodies.errors import BodyError
from workflow.bodies.models import Body, Meeting
from workflow.catalogue.models import Organisation
from workflow.meetings.pack_data import Pack, pack_of
from workflow.reports import english, german
from workflow.reports.html import TEMPLATES

LANGUAGES = ("de", "en")


def meeting_pack_html(session: Session, meeting_id: int, language: str) -> str:
    """The pack as one self-contained HTML document; ``meeting_not_found`` if there is none."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise BodyError("meeting_not_found", ref=str(meeting_id))
    body = session.get(Body, meeting.body_id)
    org = session.get(Organisation, body.organisation_id) if body is not None else None
    return render_pack(pack_of(session, meeting), language, org)


def meeting_pack_pdf(session: Session, meeting_id: int, language: str) -> bytes:
    from workflow.reports.pdf import html_to_pdf

    return html_to_pdf(meeting_pack_html(session, meeting_id, language))


def pack_filename(meeting: Meeting, fmt: str) -> str:
    return f"sitzungsunterlage-{meeting.id}-{meeting.held_on.isoformat()}.{fmt}"


def render_pack(pack: Pack, language: str, org: Organisation | None = None) -> str:
    """``org`` gives the words (Fachbereich or Amt …); without it, the default words."""
    lang = language if language in LANGUAGES else "de"
    # Imported here: the catalogue lives with the pages; this module only reads it.
    from api.i18n import terms_in_effect, translate, translate_plural

    def t(key: str, **values: object) -> str:
        return translate(key, lang, **values)

    def label(prefix: str, value: object) -> str:
        """The words for ``prefix.value``, or the raw value where nobody named it yet."""
        key = f"{prefix}.{value}"
        text = translate(key, lang)
        return str(value) if text == key else text

    def tp(key: str, count: int, **values: object) -> str:
        return translate_plural(key, count, lang, **values)

    template = _environment(lang).get_template("meeting_pack.html")
    with terms_in_effect(org):
        return template.render(
            p=pack, lang=lang, t=t, tp=tp, label=label, tz=ZoneInfo(pack.timezone)
        )


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
    env.filters.update(
        day=lambda value: _day(value, lang),
        long_day=lambda value: _long_day(value, lang),
        number=lambda value: _number(value, lang),
        moment=pass_context(lambda context, value: _moment(value, context["tz"], lang)),
    )
    return env


def _day(value: date | None, lang: str) -> str:
    if value is None:
        return "–"
    if lang == "de":
        return german.day(value)
    return english.long_day(value)


def _long_day(value: date, lang: str) -> str:
    return german.long_day(value) if lang == "de" else _day(value, lang)


def _number(value: float | None, lang: str) -> str:
    if value is None:
        return "–"
    # As many places as the value has, up to two: 9.5 stays "9,5", 12 stays "12".
    places = next(n for n in (0, 1, 2) if n == 2 or round(value, n) == round(value, 2))
    return german.number(value, places) if lang == "de" else f"{value:,.{places}f}"


def _moment(value: datetime, tz: ZoneInfo, lang: str) -> str:
    # SQLite hands back naive datetimes; every stored moment is UTC.
    local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(tz)
    return f"{_day(local.date(), lang)} {local:%H:%M}"
