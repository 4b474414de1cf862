"""The monitoring report as one self-contained HTML document or a PDF, in German or English.

Words come from the page catalogues (``api/locales/monitoring.*.json``, keys
``monitoring.report.*``), the layout and styles from the other reports (``report.css``). The
output depends only on the data passed in: no clock, fixed order, so the same data gives the
same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from jinja2 import Environment

from workflow.reports import german
from workflow.reports.html import template_environment
from workflow.reports.monitoring_data import MonitoringReport
from workflow.reports.status_sheet import day_text

LANGUAGES = ("de", "en")
FORMATS = ("html", "pdf")
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
# Decimal places per unit, as the values are typed in the delivery form.
PLACES = {"percent": 1, "count": 0, "rate": 2, "currency": 2, "index": 1, "scale": 2}


@dataclass(frozen=True)
class Rendered:
    content: bytes
    media_type: str
    filename: str


def report_filename(report: MonitoringReport, fmt: str) -> str:
    return f"monitoring-{report.slug}-{report.year}.{fmt}"


def monitoring_html(report: MonitoringReport, language: str = "de") -> str:
    lang = language if language in LANGUAGES else "de"
    # Imported here: the catalogue lives with the pages; this module only reads it.
    from api.i18n import translate

    def t(key: str, **values: object) -> str:
        return translate(f"monitoring.report.{key}", lang, **values)

    template = _environment(lang).get_template("monitoring.html")
    return template.render(r=report, lang=lang, t=t)


def render(report: MonitoringReport, fmt: str = "html", language: str = "de") -> Rendered:
    """The report as bytes in ``fmt`` (html or pdf); the caller checked ``fmt``."""
    document = monitoring_html(report, language)
    if fmt == "pdf":
        from workflow.reports.pdf import html_to_pdf

        content = html_to_pdf(document)
    else:
        content = document.encode("utf-8")
    return Rendered(content, MEDIA_TYPES[fmt], report_filename(report, fmt))


def number_text(value: float | None, places: int, lang: str) -> str:
    if value is None:
        return "–"
    if lang == "de":
        return german.number(value, places)
    # Half-up as in the German text, so both languages print the same digits.
    rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return f"{rounded:,.{places}f}"


def figure_text(value: float | None, lang: str) -> str:
    """A base figure: a count without decimals, anything else with two."""
    places = 0 if value is None or float(value).is_integer() else 2
    return number_text(value, places, lang)


def value_text(value: float | None, unit: str, lang: str) -> str:
    """A value with its unit as the reader expects it: "29,7 %", "1.234", "12,50 €"."""
    text = number_text(value, PLACES.get(unit, 2), lang)
    if value is None:
        return text
    if unit == "percent":
        return f"{text}{german.NBSP}%"
    if unit == "currency":
        return f"{text}{german.NBSP}€"
    return text


@lru_cache(maxsize=len(LANGUAGES))
def _environment(lang: str) -> Environment:
    env = template_environment()
    env.filters.update(
        day=lambda value: day_text(value, lang),
        number=lambda value, places=0: number_text(value, places, lang),
        value=lambda value, unit: value_text(value, unit, lang),
        figure=lambda value: figure_text(value, lang),
    )
    return env
