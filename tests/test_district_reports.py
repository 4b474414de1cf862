"""District reports for the Kreistag (issue 15, item 4): a district with three towns, one of
which shares counts only. The comparison table equals plain SQL; each sharing town has its
section; the declining town's measure titles appear nowhere; the council paper is the
Kreistag's. Data and HTML on both databases; the files are read back with their own readers
(pdftotext, python-docx, odfdo)."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from docx import Document as DocxDocument
from odfdo import Document as OdtDocument
from sqlalchemy import bindparam, select, text, update

from tests.conftest import EXAMPLES
from workflow.catalogue.models import Goal, Organisation
from workflow.catalogue.service import import_catalogue
from workflow.cycles.models import Review
from workflow.cycles.service import open_cycle
from workflow.db import unit_of_work
from workflow.org_registry import add_organisation
from workflow.reports.build import build_report
from workflow.reports.council_render import build_council
from workflow.reports.pending import WAITING
from workflow.runtime import Runtime

YEAR = 2026
DAY = date(2026, 3, 2)
SHARING = ("burscheid", "leichlingen")
DECLINING = "wermelskirchen"
SECRET = "Vertraulich Wermelskirchen"  # every title of the declining town starts so


def _org(rt: Runtime, slug: str, kind: str, parent: str = "") -> int:
    with unit_of_work(rt.sessions) as s:
        org = add_organisation(
            s, slug=slug, name=f"Stadt {slug.capitalize()}" if parent else "Rheinisch-Bergischer Kreis",
            kind=kind, parent_slug=parent, state="NW", timezone="Europe/Berlin",
        )  # fmt: skip
        import_catalogue(session=s, organisation_id=org.id, path=EXAMPLES / "catalogue.csv")
        open_cycle(session=s, clock=rt.clock, organisation_id=org.id, year=YEAR)
        # Titles of one town only, so a title in the output names its town.
        prefix = SECRET if slug == DECLINING else f"{slug.capitalize()}:"
        s.execute(
            text("UPDATE measure SET title = :p || ' ' || code WHERE organisation_id = :o"),
            {"p": prefix, "o": org.id},
        )
        return org.id


def _move(rt: Runtime, org_id: int, n: int, state: str, due_on: date) -> list[int]:
    """Move the org's first ``n`` items still in their first phase (test data only)."""
    with unit_of_work(rt.sessions) as s:
        ids = list(
            s.scalars(
                text(
                    "SELECT mc.id FROM measure_cycle mc JOIN cycle c ON c.id = mc.cycle_id"
                    " WHERE c.organisation_id = :o AND mc.state = 'initial_interview'"
                    " ORDER BY mc.id LIMIT :n"
                ),
                {"o": org_id, "n": n},
            )
        )
        s.execute(
            text("UPDATE measure_cycle SET state = :s, due_on = :d WHERE id = :i"),
            [{"s": state, "d": due_on, "i": i} for i in ids],
        )
        return ids


def _reviewed(rt: Runtime, ids: list[int], achievements: list[str]) -> None:
    with unit_of_work(rt.sessions) as s:
        for mc_id, achievement in zip(ids, achievements, strict=True):
            s.add(
                Review(
                    measure_cycle_id=mc_id, achievement=achievement, proposal="continue",
                    submitted_at=rt.clock.now(), submitted_by="test",
                )
            )  # fmt: skip


@pytest.fixture
def district(rt: Runtime) -> dict[str, int]:
    return _seed(rt)


def _seed(rt: Runtime) -> dict[str, int]:
    ids = {"rbk": _org(rt, "rbk", "district")}
    for slug in (*SHARING, DECLINING):
        ids[slug] = _org(rt, slug, "town", "rbk")
    with unit_of_work(rt.sessions) as s:
        s.execute(
            update(Organisation)
            .where(Organisation.id == ids[DECLINING])
            .values(shares_with_district=False)
        )
        district_goal = s.scalars(
            select(Goal.id).where(Goal.organisation_id == ids["rbk"], Goal.code == "A1")
        ).one()
        s.execute(
            update(Goal)
            .where(Goal.organisation_id.in_([ids["burscheid"], ids[DECLINING]]), Goal.code == "A1")
            .values(district_goal_id=district_goal)
        )
    _move(rt, ids["burscheid"], 3, "target_agreement", date(2026, 1, 5))  # overdue
    _move(rt, ids["leichlingen"], 4, "review", date(2026, 1, 5))  # overdue
    done = _move(rt, ids["leichlingen"], 3, "assessment", date(2026, 6, 1))
    _reviewed(rt, done, ["erreicht", "teilweise", "nicht_erreicht"])
    _move(rt, ids[DECLINING], 2, "target_agreement", date(2026, 2, 1))  # overdue
    _move(rt, ids["rbk"], 1, "implementation", date(2027, 6, 30))
    return ids


def _sql(rt: Runtime, ids: dict[str, int]) -> dict[str, tuple[int, int, int, int]]:
    """(measures, overdue on DAY, reviewed, reached) per organisation, from the tables."""
    with rt.sessions() as s:
        rows = s.execute(
            text(
                "SELECT o.slug, count(mc.id),"
                " sum(CASE WHEN mc.due_on < :day AND mc.state IN :late THEN 1 ELSE 0 END),"
                " count(r.id), sum(CASE WHEN r.achievement = 'erreicht' THEN 1 ELSE 0 END)"
                " FROM organisation o JOIN cycle c ON c.organisation_id = o.id AND c.year = :y"
                " JOIN measure_cycle mc ON mc.cycle_id = c.id"
                " LEFT JOIN review r ON r.measure_cycle_id = mc.id AND r.submitted_at IS NOT NULL"
                " WHERE o.id IN :ids GROUP BY o.slug"
            ).bindparams(bindparam("late", expanding=True), bindparam("ids", expanding=True)),
            {"day": DAY, "late": tuple(WAITING), "y": YEAR, "ids": tuple(ids.values())},
        ).all()
    return {slug: tuple(int(v or 0) for v in rest) for slug, *rest in rows}  # type: ignore[misc]


def _report(rt: Runtime, org_id: int, kind: str, fmt: str = "html") -> bytes:
    with rt.sessions() as s:
        return build_report(
            s, organisation_id=org_id, kind=kind, year=YEAR, fmt=fmt, report_date=DAY
        ).content


def _comparison(html: str) -> dict[str, tuple[int, int, int, int]]:
    rows = re.findall(
        r'<tr data-org="([^"]*)" data-measures="(\d+)" data-overdue="(\d+)"'
        r' data-reviewed="(\d+)" data-reached="(\d+)"',
        html,
    )
    return {slug: (int(a), int(b), int(c), int(d)) for slug, a, b, c, d in rows}


def test_the_annual_report_compares_the_towns_as_plain_sql_counts_them(
    rt: Runtime, district: dict[str, int]
) -> None:
    expected = _sql(rt, district)
    assert expected["leichlingen"][1:] == (4, 3, 1) and expected[DECLINING][1] == 2  # as set up
    html = _report(rt, district["rbk"], "annual").decode()
    found = _comparison(html)
    assert list(found) == ["rbk", *SHARING, DECLINING, ""]  # the district, its towns, the sum
    assert {k: v for k, v in found.items() if k} == expected
    assert found[""] == tuple(sum(v[i] for v in expected.values()) for i in range(4))
    for slug in SHARING:
        assert f'id="ort-{slug}"' in html and f"{slug.capitalize()}: A1.1" in html
    assert f'id="ort-{DECLINING}"' not in html
    assert "Stadt Wermelskirchen teilt mit dem Kreis nur Zahlen" in html
    assert SECRET not in html
    # Per district goal: Burscheid's A1 serves the district's A1; the declining town's, too,
    # but it is counted, not named.
    goals = html.split('id="kreisziele"', 1)[1].split("</section>", 1)[0]
    assert "Burscheid: A1.1" in goals and "Leichlingen:" not in goals
    assert "Dazu kommen 3 weitere Maßnahmen" in goals


def test_the_status_quo_report_covers_only_the_towns_that_share(
    rt: Runtime, district: dict[str, int]
) -> None:
    html = _report(rt, district["rbk"], "status-quo").decode()
    assert _comparison(html)[DECLINING][0] == _sql(rt, district)[DECLINING][0]
    for slug in SHARING:
        section = html.split(f'id="ort-{slug}"', 1)[1].split("</section>", 1)[0]
        assert f"{slug.capitalize()}: A1.1" in section and "Handlungsfeld A" in section
    assert f'id="ort-{DECLINING}"' not in html and SECRET not in html


def test_a_town_report_has_no_district_part(rt: Runtime, district: dict[str, int]) -> None:
    html = _report(rt, district["burscheid"], "annual").decode()
    assert "data-org=" not in html and "Leichlingen:" not in html


def _pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "bericht.pdf"
    path.write_bytes(content)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_the_kreistag_paper_and_the_pdf_carry_the_towns_in_every_format(
    rt_sqlite: Runtime, tmp_path: Path
) -> None:
    rt = rt_sqlite  # the files do not depend on the database; the data tests run on both
    district = _seed(rt)
    annual = _pdf_text(_report(rt, district["rbk"], "annual", "pdf"), tmp_path)
    assert "Vergleich des Kreises und seiner Kommunen" in annual and "Stadt Leichlingen" in annual
    with rt.sessions() as s:
        files = {
            fmt: build_council(
                s, organisation_id=district["rbk"], year=YEAR, fmt=fmt, report_date=DAY
            ).content
            for fmt in ("docx", "odt", "pdf")
        }
    docx = DocxDocument(io.BytesIO(files["docx"]))
    docx_text = "\n".join(
        [p.text for p in docx.paragraphs]
        + [c.text for t in docx.tables for r in t.rows for c in r.cells]
    )
    odt = OdtDocument(io.BytesIO(files["odt"]))
    cells = [str(v) for t in odt.body.get_tables() for row in t.get_values() for v in row]
    odt_text = odt.get_formatted_text() + "\n" + "\n".join(cells)
    for text_ in (docx_text, odt_text, _pdf_text(files["pdf"], tmp_path)):
        assert "Kreistag" in text_
        assert "Rheinisch-Bergischer Kreis" in text_
        assert "Stadt Burscheid" in text_ and "Stadt Leichlingen" in text_
        assert "Vergleich des Kreises und seiner Kommunen" in text_
        assert SECRET not in text_ and "Vertraulich" not in text_
    assert "Burscheid: A1.1" in docx_text and "Stadt Wermelskirchen teilt" in docx_text
