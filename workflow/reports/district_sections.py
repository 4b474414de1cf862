"""Lays a district's part (``district_data.DistrictPart``) into the reports; no queries.

The HTML reports (Jahresbericht, Status-Quo-Bericht, and so their PDF) include
``templates/_district.html`` with the context ``html_context`` gives; the council paper's
outline (and so its Word, OpenDocument and PDF files) appends ``outline_blocks``. The words
live in ``api/locales/district_reports.*.json``; the reports are German documents, so they
are taken in German here, and the English twins serve whoever renders the part in English.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflow.machine import LABELS_DE, State
from workflow.reports.council_outline import Block
from workflow.reports.district_data import Counts, DistrictPart, TownSection
from workflow.reports.german import day, number
from workflow.reports.stands import STAND_DE

LANG = "de"
SECTION = "ort-"  # a town's section id: "ort-" + its slug
COMPARISON_ID = "kommunen-vergleich"
TOWNS_ID = "kommunen"
GOALS_ID = "kreisziele"


def t(key: str, **values: object) -> str:
    # Imported here: the catalogue lives with the pages; the reports only read it.
    from api.i18n import translate

    return translate(f"district_report.{key}", LANG, **values)


def tn(key: str, count: int, **values: object) -> str:
    """``key.none`` for zero, else ``key.one`` or ``key.other``; the count as printed."""
    form = "none" if count == 0 else ("one" if count == 1 else "other")
    return t(f"{key}.{form}", count=number(count), **values)


def town_sentences(section: TownSection, year: int, on: str) -> str:
    c = section.counts
    if not c.year_open:
        return t("town.no_cycle", year=year)
    return " ".join(
        (
            tn("town.measures", c.measures, year=year),
            tn("town.overdue", c.overdue, day=on),
            tn(
                "town.reviews",
                c.reviewed,
                reached=number(c.reached),
                partly=number(c.partly),
                not_reached=number(c.not_reached),
            ),
        )
    )


def add_to_toc(toc: Any, part: DistrictPart, *, goals: bool) -> None:
    """The part's headings, in the order ``_district.html`` writes them."""
    toc.add(COMPARISON_ID, t("comparison.title"))
    toc.add(TOWNS_ID, t("towns.title"))
    for section in part.sections:
        toc.add(SECTION + section.counts.slug, section.counts.name, 2)
    if goals:
        toc.add(GOALS_ID, t("goals.title"))


def html_context(part: DistrictPart | None, year: int) -> dict[str, Any]:
    """What ``_district.html`` needs; ``district`` None leaves the report as it was."""
    return {
        "district": part,
        "dt": t,
        "dtn": tn,
        "state_label": lambda value: LABELS_DE[State(value)],
        "town_sentences": lambda s: town_sentences(s, year, day(part.report_date) if part else ""),
    }


def _organisation_label(c: Counts) -> str:
    if c.is_district:
        return f"{c.name} {t('own')}"
    return c.name if c.shares else f"{c.name} ({t('counts_only_mark')})"


def _rows(
    part: DistrictPart, head: tuple[str, ...], values: Callable[[Counts], tuple[str, ...]]
) -> tuple[tuple[str, ...], ...]:
    """Header, the district and its towns, the sum row; a row without a cycle shows dashes."""

    def cells(label: str, c: Counts) -> tuple[str, ...]:
        if not c.year_open:
            return (label, t("no_cycle"), *("–" for _ in head[2:]))
        return (label, number(c.measures), *values(c))

    body = [cells(_organisation_label(c), c) for c in part.comparison.rows]
    return (head, *body, cells(t("sum"), part.comparison.total))


def phase_rows(part: DistrictPart) -> tuple[tuple[str, ...], ...]:
    """The comparison by phase: a column for each phase any row has a measure in."""
    states = part.comparison.states
    head = (t("col.organisation"), t("col.measures"), *(LABELS_DE[State(s)] for s in states))
    return _rows(part, head, lambda c: tuple(number(c.state(s)) for s in states))


def result_rows(part: DistrictPart) -> tuple[tuple[str, ...], ...]:
    """The comparison of overdue measures and the reviews' results."""
    head = (
        t("col.organisation"),
        t("col.measures"),
        t("col.overdue"),
        t("col.reviewed"),
        t("col.reached"),
        t("col.partly"),
        t("col.not_reached"),
    )
    return _rows(
        part,
        head,
        lambda c: tuple(
            number(n) for n in (c.overdue, c.reviewed, c.reached, c.partly, c.not_reached)
        ),
    )


def measure_rows(section: TownSection) -> tuple[tuple[str, ...], ...]:
    head = (t("col.code"), t("col.title"), t("col.state"), t("col.stand"), t("col.days_overdue"))
    return (
        head,
        *(
            (
                m.code,
                m.title,
                m.state_label,
                STAND_DE.get(m.stand, m.stand),
                number(m.days_overdue) if m.days_overdue else "–",
            )
            for m in section.measures
        ),
    )


def outline_blocks(part: DistrictPart, year: int) -> list[Block]:
    """The council paper's part for the Kreistag: comparison, each town, the district goals."""
    on = day(part.report_date)
    blocks = [
        Block("heading", t("comparison.title")),
        Block("para", t("comparison.council_intro", council=part.council, year=year, day=on)),
        # A table block's text is a CSS class for the PDF (council.html); Word and ODT ignore it.
        Block("subheading", t("comparison.phases")),
        Block("table", "comparison", phase_rows(part)),
        Block("subheading", t("comparison.results")),
        Block("table", "comparison", result_rows(part)),
        Block("heading", t("towns.title")),
    ]
    if not part.sections and not part.declining:
        blocks.append(Block("para", t("towns.none")))
    for section in part.sections:
        blocks.append(Block("subheading", section.counts.name))
        blocks.append(Block("para", town_sentences(section, year, on)))
        if section.measures:
            blocks.append(Block("table", rows=measure_rows(section)))
    blocks.extend(Block("para", t("town.counts_only", town=name)) for name in part.declining)
    if part.goals:
        blocks.append(Block("heading", t("goals.title")))
        for goal in part.goals:
            blocks.append(Block("subheading", t("goals.goal", code=goal.code, name=goal.name)))
            items = tuple(
                (
                    t(
                        "goals.item",
                        town=m.town,
                        code=m.code,
                        title=m.title,
                        state=m.state_label,
                        stand=STAND_DE.get(m.stand, m.stand),
                    ),
                )
                for m in goal.measures
            )
            if items:
                blocks.append(Block("items", rows=items))
            if goal.withheld:
                blocks.append(Block("para", tn("goals.withheld", goal.withheld)))
    return blocks
