"""Renders the reports' data as one self-contained German HTML document (styles and charts inline).

Jinja2 with autoescape from ``workflow/reports/templates``; charts come from ``charts`` as SVG.
The output depends only on the data passed in: no clock, no random ids, fixed order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from workflow.decisions import export as register
from workflow.decisions.queries import DecisionRow
from workflow.reports import charts, german
from workflow.reports.data import Annual, FieldBlock, MeetingPack, StatusQuo
from workflow.reports.district_data import DistrictPart
from workflow.reports.district_sections import add_to_toc, html_context
from workflow.reports.rates import RateRow
from workflow.reports.stands import STAND_DE

TEMPLATES = Path(__file__).parent / "templates"
KINDS = ("status-quo", "annual", "meeting")
TITLES = {
    "status-quo": "Status-Quo-Bericht",
    "annual": "Jahresbericht",
    "meeting": "Sitzungsunterlage der Steuerungsgruppe",
}
DECISION_DE = {
    "keep": "beibehalten",
    "adapt": "anpassen",
    "drop": "streichen",
    "open": "noch kein Erstgespräch",
}
STATUS_DE = {
    "not_started": "nicht begonnen",
    "in_progress": "in Umsetzung",
    "implemented": "umgesetzt",
    "ongoing": "Daueraufgabe",
    "unclear": "unklar",
}
DIRECTION_DE = {"up": "steigen", "down": "sinken", "target": "Zielwert erreichen"}
KIND_DE = {
    "quantitative": "Kennzahl",
    "survey": "Wirkungsindikator (Befragung)",
    "qualitative": "Wirkungsindikator (Bericht)",
}
UNIT_DE = {
    "percent": "%",
    "count": "Anzahl",
    "rate": "Quote",
    "currency": "Euro",
    "index": "Index",
    "scale": "Skala 1–5",
    "text": "Text",
}


@dataclass
class Toc:
    """Numbered headings, known before the document is written so the contents can list them."""

    entries: list[tuple[str, str, str, int]] = field(default_factory=list)

    def add(self, ident: str, title: str, level: int = 1) -> None:
        top = sum(1 for e in self.entries if e[3] == 1)
        if level == 1:
            number = str(top + 1)
        else:
            subs = 0
            for e in reversed(self.entries):
                if e[3] == 1:
                    break
                subs += 1
            number = f"{top}.{subs + 1}"
        self.entries.append((ident, number, title, level))

    def __getitem__(self, ident: str) -> dict[str, Any]:
        for e_id, number, title, level in self.entries:
            if e_id == ident:
                return {"id": e_id, "number": number, "title": title, "level": level}
        raise KeyError(ident)


def template_environment() -> Environment:
    """The reports' templates, escaped and strict; each report adds its own filters."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = template_environment()
    env.filters.update(
        day=german.day,
        long_day=german.long_day,
        percent=german.percent,
        points=german.points,
        number=german.number,
        decision=lambda d: DECISION_DE.get(d, d),
        impl=lambda s: STATUS_DE.get(s, s) or "–",
        plural=lambda n, one, many: one if n == 1 else many,
        # The decisions register's words (Beschluss, erledigt …), as its export writes them.
        register_kind=lambda k: register.KIND_DE.get(k, k),
        register_status=lambda s: register.STATUS_DE.get(s, s),
        stand=lambda s: STAND_DE.get(s, s),
    )
    env.globals.update(
        DIRECTION_DE=DIRECTION_DE, KIND_DE=KIND_DE, UNIT_DE=UNIT_DE, DECISION_DE=DECISION_DE
    )
    env.globals.update(register_effect=register.effect, register_to=_addressed_to)
    return env


@pass_context
def _addressed_to(context: Context, row: DecisionRow) -> str:
    """The register's addressee in the report's organisation's words (its header ``h``)."""
    # The environment is shared by every organisation: the words come with each rendering.
    terms = getattr(context.get("h"), "terms", None)
    return register.addressed_to(row, terms)


def _render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def _rates_chart(title: str, rows: tuple[RateRow, ...]) -> Markup:
    return Markup(
        charts.rate_bars(
            title,
            [r.label for r in rows],
            [
                charts.Series("Vereinbarungsquote", tuple(r.tally.agreement_rate for r in rows)),
                charts.Series(
                    "Zielerreichungsquote", tuple(r.tally.achievement_rate for r in rows)
                ),
            ],
        )
    )


def _decision_chart(fields: tuple[FieldBlock, ...]) -> Markup:
    return Markup(
        charts.count_bars(
            "Ergebnis der Erstgespräche je Handlungsfeld",
            [f"{f.code} {f.name}" for f in fields],
            [
                charts.Series(DECISION_DE[d], tuple(float(f.decisions.get(d, 0)) for f in fields))
                for d in DECISION_DE
            ],
        )
    )


def status_quo_html(report: StatusQuo, district: DistrictPart | None = None) -> str:
    toc = Toc()
    toc.add("ueberblick", "Überblick")
    for block in report.fields:
        toc.add(f"feld-{block.code}", f"Handlungsfeld {block.code}: {block.name}")
        for goal in block.goals:
            toc.add(f"ziel-{goal.code}", f"Ziel {goal.code} (Rang {goal.rank}): {goal.name}", 2)
    if district:  # District part (issue 15, item 4): the towns that share their data.
        add_to_toc(toc, district, goals=False)
    toc.add("methode", "Methodische Hinweise")
    return _render(
        "status_quo.html",
        title=TITLES["status-quo"],
        r=report,
        h=report.header,
        toc=toc,
        decision_chart=_decision_chart(report.fields),
        district_goals=False,
        **html_context(district, report.header.year),
    )


def annual_html(report: Annual, district: DistrictPart | None = None) -> str:
    toc = Toc()
    for ident, title in (
        ("ueberblick", "Überblick"),
        ("handlungsfelder", "Vereinbarung und Zielerreichung nach Handlungsfeldern"),
        ("zielrang", "Vereinbarung und Zielerreichung nach Zielrang"),
        ("fachbereiche", f"Vereinbarung und Zielerreichung je {report.header.terms.unit}"),
        ("vorjahr", f"Veränderungen gegenüber {report.header.year - 1}"),
        ("verzug", "Verzug: was überfällig ist und warum"),
        ("kennzahlen", "Kennzahlen und Wirkungsindikatoren"),
        ("entscheidungen", "Offene Entscheidungen für die Steuerungsgruppe"),
        ("gremien", f"Beschlüsse und Empfehlungen der Gremien {report.header.year}"),
        ("methode", "Methodische Hinweise"),
        ("begriffe", "Begriffe"),
    ):
        if ident == "methode" and district:  # District part (issue 15, item 4).
            add_to_toc(toc, district, goals=True)
        toc.add(ident, title)
    indicator_charts = {
        s.code: Markup(
            charts.line_chart(
                f"{s.code}: {s.statement}",
                [
                    charts.Line(
                        report.header.terms.area,
                        tuple(
                            charts.Point(p.survey_date, p.value, p.flagged)
                            for p in s.points
                            if p.value is not None
                        ),
                    )
                ],
                unit=UNIT_DE.get(s.unit, s.unit),
            )
        )
        for s in report.indicators
    }
    rates = report.rates
    return _render(
        "annual.html",
        title=TITLES["annual"],
        r=report,
        h=report.header,
        toc=toc,
        field_chart=_rates_chart("Quoten je Handlungsfeld", rates.by_field),
        rank_chart=_rates_chart("Quoten je Zielrang", rates.by_rank),
        department_chart=_rates_chart(f"Quoten je {report.header.terms.unit}", rates.by_department),
        indicator_charts=indicator_charts,
        unchecked_last=_unchecked_last(report),
        district_goals=True,
        **html_context(district, report.header.year),
    )


def _unchecked_last(report: Annual) -> frozenset[str]:
    """Codes of the indicators whose latest value nobody has geprüft, bestätigt or korrigiert."""
    return frozenset(
        s.code
        for s in report.indicators
        if (numeric := [p for p in s.points if p.value is not None]) and numeric[-1].unchecked
    )


def meeting_html(report: MeetingPack) -> str:
    toc = Toc()
    for ident, title in (
        ("ueberblick", "Überblick"),
        ("eskaliert", "Weitergeleitete Maßnahmen"),
        ("fehlend", "Fehlende Rückmeldungen"),
        ("entscheidungen", "Erbetene Entscheidungen"),
        ("methode", "Hinweise zur Unterlage"),
    ):
        toc.add(ident, title)
    return _render("meeting.html", title=TITLES["meeting"], r=report, h=report.header, toc=toc)
