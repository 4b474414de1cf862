"""Reports built from a simulated year of the example catalogue: sections, numbers, bytes, pictures.

The simulation (500 days, seed 7; tests/simulated_year.py) runs once per test session into a
SQLite file, and once into PostgreSQL in a child process ahead of this module; each module
copies it and adds what the simulation does not make: a steering-group meeting, a drop
proposal, obstacles in a review and two indicators. Every number checked here is computed
again with plain SQL in the test, never with the report's own functions.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.conftest import IN_CI, OUTPUT, PG_URL, _pg_admin_engine
from tests.simulated_year import REPORTS_YEAR, Background, simulated_database
from workflow.bodies.models import Body, BodyKind, Meeting
from workflow.catalogue.models import Goal, Measure
from workflow.cycles.models import Cycle, MeasureCycle, Review, TargetAgreement
from workflow.db import make_engine, make_session_factory, unit_of_work
from workflow.indicators.models import Indicator, IndicatorValue
from workflow.reports.build import ReportUnavailable, build_report
from workflow.reports.html import STATUS_DE

BERLIN = ZoneInfo("Europe/Berlin")
NBSP = "\u00a0"
MEETING_DAY = date(2027, 5, 20)
WAITING = ("initial_interview", "target_agreement", "review", "assessment")


@dataclass(frozen=True)
class Year:
    url: str
    org_id: int
    drop_proposed: str  # the measure whose department proposes to drop it (2027)
    obstacles: str  # the measure whose last review names obstacles (2027)


def add_what_the_simulation_does_not_make(url: str) -> Year:
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as s:
        org_id = s.execute(
            text("SELECT id FROM organisation WHERE slug = 'simulation'")
        ).scalar_one()
        late = (
            s.execute(
                select(MeasureCycle)
                .join(Cycle, Cycle.id == MeasureCycle.cycle_id)
                .where(
                    Cycle.year == 2027,
                    MeasureCycle.state == "target_agreement",
                    MeasureCycle.due_on < MEETING_DAY,
                )
            )
            .scalars()
            .all()
        )
        late = sorted(late, key=lambda mc: mc.measure.code)
        assert len(late) >= 2, "the simulation changed: fewer late agreements in 2027"
        s.add(
            TargetAgreement(
                measure_cycle_id=late[0].id,
                decision="drop_proposed",
                reason="Angebot wird vom Land übernommen",
                submitted_at=datetime(2027, 5, 3, 9, 0, tzinfo=UTC),
                submitted_by="contact:test",
            )
        )
        previous = s.scalars(
            select(Review).where(Review.measure_cycle_id == late[1].draft["from_measure_cycle_id"])
        ).one()
        previous.obstacles = "Personalwechsel im Sachgebiet"
        group = s.scalars(
            select(Body).where(
                Body.organisation_id == org_id, Body.kind == BodyKind.STEERING_GROUP.value
            )
        ).one()
        s.add(Meeting(body_id=group.id, held_on=MEETING_DAY, title="Frühjahrssitzung"))
        goal = s.scalars(select(Goal).where(Goal.code == "A1")).one()
        measure = s.scalars(select(Measure).where(Measure.code == "A1.1")).one()
        created = datetime(2025, 1, 1, tzinfo=UTC)
        rising = Indicator(
            organisation_id=org_id,
            code="K01",
            statement="Ausbildungsquote junger Zugewanderter",
            unit="percent",
            direction="up",
            created_at=created,
            goals=[goal],
            measures=[measure],
        )
        falling = Indicator(
            organisation_id=org_id,
            code="K02",
            statement="Langzeitarbeitslose Zugewanderte",
            unit="count",
            direction="down",
            created_at=created,
        )
        s.add_all([rising, falling])
        s.flush()
        series = {
            rising.id: [
                (date(2024, 12, 31), 10.5),
                (date(2025, 12, 31), 11.2),
                (date(2026, 6, 30), 11.9),
                (date(2026, 12, 31), 12.4),
                (date(2027, 12, 31), 99.0),
            ],  # after the report date: never shown
            falling.id: [
                (date(2025, 6, 30), 840.0),
                (date(2025, 12, 31), 810.0),
                (date(2026, 12, 31), 1400.0),
            ],
        }
        for indicator_id, values in series.items():
            for when, value in values:
                s.add(
                    IndicatorValue(
                        organisation_id=org_id,
                        indicator_id=indicator_id,
                        survey_date=when,
                        value=value,
                        delivered_by="test",
                        delivered_at=created,
                        flagged=value == 1400.0,
                    )
                )
        year = Year(url, org_id, late[0].measure.code, late[1].measure.code)
    engine.dispose()
    return year


def prefetch_simulation(folder: Path, tests: set[str]) -> Background | None:
    """The same simulated year on PostgreSQL, for the last test: in a child process started
    before this module's tests (tests/simulated_year.py), in a database of its own that is
    dropped at the end of the session. None without the test or without the server."""
    if "test_postgresql_gives_the_same_documents_as_sqlite" not in tests:
        return None
    name = f"zf_year_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        return None  # the test asks for pg_template, which skips (fails in CI) and says why
    finally:
        admin.dispose()

    def drop() -> None:
        engine = _pg_admin_engine()
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    background = Background(folder, database_url=url, **REPORTS_YEAR)
    background.cleanups.append(drop)
    return background


@pytest.fixture
def postgres_year(prefetched: Background | None, request: pytest.FixtureRequest) -> Year:
    if prefetched is None:
        request.getfixturevalue("pg_template")  # skips, or fails in CI, without PostgreSQL
        pytest.fail("the simulated year on PostgreSQL was not started")
    prefetched.summary()
    return add_what_the_simulation_does_not_make(prefetched.database_url)


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Year:
    path = simulated_database(tmp_path_factory, "reports")
    return add_what_the_simulation_does_not_make(f"sqlite:///{path}")


@pytest.fixture(scope="module")
def session(year: Year) -> Session:
    engine = make_engine(year.url)
    with make_session_factory(engine)() as s:
        yield s  # type: ignore[misc]
    engine.dispose()


def build(
    session: Session, year: Year, kind: str, cycle: int, fmt: str = "html", **kw: object
) -> bytes:
    return build_report(
        session,
        organisation_id=year.org_id,
        kind=kind,
        year=cycle,
        fmt=fmt,
        **kw,  # type: ignore[arg-type]
    ).content


# --- reading the documents back ---------------------------------------------------------


class Tables(HTMLParser):
    """Every table of a page as rows of cell texts, under the id of the heading it follows."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.section = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        ident = dict(attrs).get("id")
        if tag in ("h2", "h3") and ident:
            self.section = ident
        elif tag == "table":
            self.tables.append((self.section, []))
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("br", "li") and self._cell is not None:
            self._cell.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(
                re.sub(r"[ \t\r\n]+", " ", "".join(self._cell).replace("\u00ad", "")).strip(" |")
            )
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1][1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def in_section(self, section: str) -> list[list[list[str]]]:
        return [rows for s, rows in self.tables if s == section]


def tables(html: bytes) -> Tables:
    parser = Tables()
    parser.feed(html.decode("utf-8"))
    return parser


def pdf_text(pdf: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


def pct(numerator: int, denominator: int) -> str:
    """German percent with one decimal, rounded half up, computed independently of the code."""
    if denominator == 0:
        return "–"
    value = (Decimal(numerator) * 100 / Decimal(denominator)).quantize(
        Decimal("0.1"), ROUND_HALF_UP
    )
    return f"{value}".replace(".", ",") + f"{NBSP}%"


def last_event_day(session: Session, cycle_year: int) -> date:
    raw = session.execute(
        text(
            "SELECT max(a.at) FROM audit_event a JOIN measure_cycle mc ON mc.id = a.measure_cycle_id"
            " JOIN cycle c ON c.id = mc.cycle_id WHERE c.year = :y"
        ),
        {"y": cycle_year},
    ).scalar_one()
    moment = datetime.fromisoformat(str(raw)).replace(tzinfo=UTC)
    return moment.astimezone(BERLIN).date()


RATES_SQL = """
SELECT {key} AS grp,
  count(*) AS measures,
  sum(CASE WHEN EXISTS (SELECT 1 FROM audit_event a WHERE a.measure_cycle_id = mc.id
        AND a.to_state = 'target_agreement'
        AND (a.from_state IS NULL OR a.from_state <> 'target_agreement')) THEN 1 ELSE 0 END) AS asked,
  sum(CASE WHEN ta.decision = 'implement' AND ta.submitted_at IS NOT NULL THEN 1 ELSE 0 END) AS agreed,
  sum(CASE WHEN r.submitted_at IS NOT NULL THEN 1 ELSE 0 END) AS reviewed,
  sum(CASE WHEN r.submitted_at IS NOT NULL AND r.achievement = 'erreicht' THEN 1 ELSE 0 END) AS achieved,
  sum(CASE WHEN r.submitted_at IS NOT NULL AND r.achievement = 'teilweise' THEN 1 ELSE 0 END) AS partly
FROM measure_cycle mc
JOIN cycle c ON c.id = mc.cycle_id
JOIN measure m ON m.id = mc.measure_id
JOIN goal g ON g.id = m.goal_id
JOIN field f ON f.id = g.field_id
JOIN department d ON d.id = m.department_id
LEFT JOIN target_agreement ta ON ta.measure_cycle_id = mc.id
LEFT JOIN review r ON r.measure_cycle_id = mc.id
WHERE c.year = :year
GROUP BY {key}
"""


def expected_rates(session: Session, cycle_year: int, key: str) -> dict[str, list[str]]:
    """Group -> the table's cells: measures, asked, agreed, rate, reviews, achieved, partly, rates."""
    out = {}
    for grp, measures, asked, agreed, reviewed, achieved, partly in session.execute(
        text(RATES_SQL.format(key=key)), {"year": cycle_year}
    ):
        out[str(grp)] = [
            str(measures),
            str(asked),
            str(agreed),
            pct(agreed, asked),
            str(reviewed),
            str(achieved),
            str(partly),
            pct(achieved, reviewed),
            pct(achieved + partly, reviewed),
        ]
    return out


# --- the tests ----------------------------------------------------------------------------


def test_status_quo_pdf_has_its_sections_and_every_measures_decision(
    session: Session, year: Year
) -> None:
    pdf = build(session, year, "status-quo", 2026, "pdf")
    assert pdf.startswith(b"%PDF-")
    content, pages = pdf_text(pdf)
    assert pages >= 3
    for heading in (
        "Status-Quo-Bericht",
        "Stadt Simulationshausen",
        "Inhalt",
        "Überblick",
        "Handlungsfeld A: Wirtschaft/Handel/Arbeit",
        "Handlungsfeld B: Bildung und Sprache",
        "Handlungsfeld C: Zusammenleben",
        "Ziel A1 (Rang 1)",
        "Methodische Hinweise",
        f"Seite 1 von {pages}",
        f"Seite {pages} von {pages}",
    ):
        assert heading in content, heading
    html = build(session, year, "status-quo", 2026)
    labels = {"keep": "beibehalten", "adapt": "anpassen", "drop": "streichen"}
    expected = {
        # The status is one of the Erstgespräch's codes; the report shows its German label.
        code: [labels[decision], STATUS_DE.get(status, status)]
        for code, decision, status in session.execute(
            text(
                "SELECT m.code, i.decision, i.implementation_status FROM interview i"
                " JOIN measure_cycle mc ON mc.id = i.measure_cycle_id JOIN cycle c ON c.id = mc.cycle_id"
                " JOIN measure m ON m.id = mc.measure_id WHERE c.year = 2026"
            )
        )
    }
    shown = {
        row[0]: row[3:5]
        for _section, rows in tables(html).tables
        for row in rows
        if len(row) == 6 and re.match(r"^[A-C]\d\.\d+$", row[0])
    }
    assert len(expected) == 36 and shown == expected
    totals = dict(
        session.execute(
            text(
                "SELECT i.decision, count(*) FROM interview i JOIN measure_cycle mc"
                " ON mc.id = i.measure_cycle_id JOIN cycle c ON c.id = mc.cycle_id"
                " WHERE c.year = 2026 GROUP BY i.decision"
            )
        ).all()
    )
    page = html.decode()
    for decision, label in labels.items():
        assert f"<strong>{totals.get(decision, 0)}</strong><span>{label}</span>" in page


def test_annual_report_rates_match_independent_sql(session: Session, year: Year) -> None:
    pdf = build(session, year, "annual", 2026, "pdf")
    content, pages = pdf_text(pdf)
    for heading in (
        "Jahresbericht",
        "Inhalt",
        "Vereinbarung und Zielerreichung nach Handlungsfeldern",
        "nach Zielrang",
        "je Fachbereich",
        "Veränderungen gegenüber 2025",
        "Verzug: was überfällig ist und warum",
        "Kennzahlen und Wirkungsindikatoren",
        "Offene Entscheidungen für die Steuerungsgruppe",
        "Methodische Hinweise",
        "Vereinbarungsquote",
        f"Seite {pages} von {pages}",
    ):
        assert heading in content, heading
    page = tables(build(session, year, "annual", 2026))
    by_field = expected_rates(session, 2026, "f.code")
    by_rank = expected_rates(session, 2026, "g.rank")
    by_department = expected_rates(session, 2026, "d.name")
    total = expected_rates(session, 2026, "c.year")["2026"]
    for section, expected, label in (
        ("handlungsfelder", by_field, lambda row: row[0].split(" ")[0]),
        ("zielrang", by_rank, lambda row: row[0].removeprefix("Rang ")),
        ("fachbereiche", by_department, lambda row: row[0]),
    ):
        [rows] = page.in_section(section)
        body = {label(r): r[1:] for r in rows[1:-1]}
        assert body == expected, section
        assert rows[-1] == ["Gesamt", *total]
    assert total[3] != "–" and total[7] != "–"  # 2026 has agreements and reviews
    # The report date is the cycle's last event, and it is printed.
    day = last_event_day(session, 2026)
    assert f"Stand: {day.day}." in content and str(day.year) in content


def test_changes_against_last_year_are_differences_of_the_same_rates(
    session: Session, year: Year
) -> None:
    page = tables(build(session, year, "annual", 2027))
    [rows] = page.in_section("vorjahr")
    now = expected_rates(session, 2027, "f.code")
    before = expected_rates(session, 2026, "f.code")
    checked = 0
    for row in rows:
        code = row[0].split(" ")[0]
        if code in now and row[0].startswith(code + " "):
            assert row[1:3] == [now[code][3], before[code][3]]
            assert row[4:6] == [now[code][7], before[code][7]]
            diff = Decimal(now[code][3][:-2].replace(",", ".")) - Decimal(
                before[code][3][:-2].replace(",", ".")
            )
            # Rounded rates may differ from the rounded difference by 0.1 point at most.
            shown = Decimal(
                row[3]
                .replace("Pp.", "")
                .replace(NBSP, "")
                .replace(",", ".")
                .replace("−", "-")
                .replace("±", "")
            )
            assert abs(shown - diff) <= Decimal("0.1"), row
            checked += 1
    assert checked == 3
    assert rows[1][0] == "Alle Maßnahmen"


def test_late_items_with_reminders_escalation_and_why(session: Session, year: Year) -> None:
    day = last_event_day(session, 2026)
    expected = {
        code: (due, level)
        for code, due, level in session.execute(
            text(
                "SELECT m.code, mc.due_on, mc.escalation_level FROM measure_cycle mc"
                " JOIN cycle c ON c.id = mc.cycle_id JOIN measure m ON m.id = mc.measure_id"
                " WHERE c.year = 2026 AND mc.due_on < :day AND mc.state IN"
                " ('initial_interview', 'target_agreement', 'review', 'assessment')"
            ),
            {"day": day.isoformat()},
        )
    }
    reminders = dict(
        session.execute(
            text(
                "SELECT m.code, count(o.id) FROM measure_cycle mc JOIN cycle c ON c.id = mc.cycle_id"
                " JOIN measure m ON m.id = mc.measure_id JOIN outbox_message o"
                " ON o.measure_cycle_id = mc.id AND o.kind IN ('reminder', 'final_reminder')"
                " AND o.status = 'sent' AND o.created_at >= mc.entered_state_at"
                " WHERE c.year = 2026 GROUP BY m.code"
            )
        ).all()
    )
    [rows] = tables(build(session, year, "annual", 2026)).in_section("verzug")
    shown = {r[0]: r for r in rows[1:]}
    assert expected and set(shown) == set(expected)
    for code, (due, level) in expected.items():
        row = shown[code]
        assert row[3] == date.fromisoformat(str(due)).strftime("%d.%m.%Y")
        assert int(row[4]) == (day - date.fromisoformat(str(due))).days
        assert int(row[5]) == reminders.get(code, 0)
        # Named by whom the escalation reached under the default policy, not by its level.
        assert row[6] == {0: "–", 1: "Amtsleitung", 2: "Steuerungsgruppe"}[level]
        assert row[7].startswith(("Zielvereinbarung fehlt", "Rückmeldung zur Zielerreichung fehlt"))
    days = [int(r[4]) for r in rows[1:]]
    assert days == sorted(days, reverse=True)


# The stays a 2027 report shows: its own and the still open ones of earlier cycles.
IN_VIEW_OF_2027 = (
    "(c.year = 2027 OR (c.year < 2027 AND mc.state NOT IN"
    " ('carried_forward', 'deferred', 'dropped', 'completed')))"
)


def test_open_decisions_and_the_reasons_named_in_2027(session: Session, year: Year) -> None:
    # On the meeting day both agreements picked as late are late (the simulated dates move
    # with the simulation; the cycle's last event may come before the second one's due date).
    page = tables(build(session, year, "annual", 2027, report_date=MEETING_DAY))
    [drops] = page.in_section("entscheidungen-streichung")
    assert [r[0] for r in drops[1:]] == [year.drop_proposed]
    assert "Angebot wird vom Land übernommen" in drops[1][4]
    assert page.in_section("entscheidungen-bewertung") == []  # "Keine.": 2027 has no reviews yet
    # The 2026 backlog still open counts too, marked with its cycle (issue 12).
    open_escalations = {
        code if cycle_year == 2027 else f"{code} | aus {cycle_year}"
        for code, cycle_year, context, stay in session.execute(
            text(
                "SELECT m.code, c.year, o.context, mc.stay FROM outbox_message o"
                " JOIN measure_cycle mc ON mc.id = o.measure_cycle_id JOIN cycle c ON c.id = mc.cycle_id"
                f" JOIN measure m ON m.id = mc.measure_id WHERE {IN_VIEW_OF_2027}"
                " AND o.kind = 'digest_item' AND o.status IN ('pending', 'included')"
            )
        )
        if json.loads(context)["stay"] == stay
    }
    [escalated] = page.in_section("entscheidungen-eskaliert")
    assert open_escalations and {r[0] for r in escalated[1:]} == open_escalations
    [late] = page.in_section("verzug")
    reasons = {r[0]: r[7] for r in late[1:]}
    assert reasons[year.drop_proposed].startswith("Streichung vorgeschlagen")
    assert (
        "Hindernisse laut Review des Vorjahres: Personalwechsel im Sachgebiet"
        in reasons[year.obstacles]
    )


def test_indicators_with_series_until_the_report_date(session: Session, year: Year) -> None:
    html = build(session, year, "annual", 2027).decode()
    section = html[html.index('id="kennzahlen"') : html.index('id="entscheidungen"')]
    assert "K01: Ausbildungsquote junger Zugewanderter" in section
    assert "Letzter Wert: <strong>12,4</strong> (vorheriger Wert: 11,9)" in section
    assert "langfristiger Trend (alle Werte bis zum Stichtag): steigend" in section
    assert "auf Kurs" in section
    assert "99,0" not in section  # a value surveyed after the report date
    assert section.count("<polyline") == 2 and section.count('stroke="#b3261e"') == 1
    assert (
        "Ziele: A1; " in section.replace("Ziele: A1;", "Ziele: A1; ")
        and "Maßnahmen: A1.1" in section
    )


def test_meeting_pack_for_an_entered_meeting(session: Session, year: Year) -> None:
    pdf = build(session, year, "meeting", 2027, "pdf", meeting_date=MEETING_DAY)
    content, _ = pdf_text(pdf)
    for heading in (
        "Sitzungsunterlage der Steuerungsgruppe",
        "Frühjahrssitzung",
        "20. Mai 2027",
        "Weitergeleitete Maßnahmen",
        "Fehlende Rückmeldungen",
        "Erbetene Entscheidungen",
    ):
        assert heading in content, heading
    page = tables(build(session, year, "meeting", 2027, meeting_date=MEETING_DAY))
    missing = sorted(
        code if cycle_year == 2027 else f"{code} | aus {cycle_year}"
        for code, cycle_year in session.execute(
            text(
                "SELECT m.code, c.year FROM measure_cycle mc JOIN cycle c ON c.id = mc.cycle_id"
                f" JOIN measure m ON m.id = mc.measure_id WHERE {IN_VIEW_OF_2027}"
                " AND mc.due_on < :day AND mc.state IN ('target_agreement', 'review')"
            ),
            {"day": MEETING_DAY.isoformat()},
        )
    )
    [rows] = page.in_section("fehlend")
    assert sorted(r[0] for r in rows[1:]) == missing and year.drop_proposed in missing
    [drops] = page.in_section("entscheidungen-streichung")
    assert [r[0] for r in drops[1:]] == [year.drop_proposed]
    # Without a date the pack is for the first meeting entered after the cycle's last event.
    assert build(session, year, "meeting", 2027) == build(
        session, year, "meeting", 2027, meeting_date=MEETING_DAY
    )


def test_same_data_gives_the_same_bytes(session: Session, year: Year, tmp_path: Path) -> None:
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(year.url.removeprefix("sqlite:///"), copy)
    engine = make_engine(f"sqlite:///{copy}")
    with make_session_factory(engine)() as other:
        for kind, cycle in (
            ("status-quo", 2026),
            ("annual", 2026),
            ("annual", 2027),
            ("meeting", 2027),
        ):
            first = build(session, year, kind, cycle)
            assert first == build(other, year, kind, cycle), kind
            assert b"<html" in first and first.count(b"<svg") >= (0 if kind == "meeting" else 1)
        assert build(session, year, "annual", 2026, "pdf") == build(
            other, year, "annual", 2026, "pdf"
        )
    engine.dispose()
    # A different report date is a different document: the date is data, not decoration.
    assert build(session, year, "annual", 2026, report_date=date(2027, 1, 1)) != build(
        session, year, "annual", 2026
    )


def test_a_cycle_that_does_not_exist_is_explained(session: Session, year: Year) -> None:
    with pytest.raises(ReportUnavailable, match="keinen Zyklus 2031"):
        build(session, year, "annual", 2031)


def test_first_pages_as_png_for_people_to_look_at(
    session: Session, year: Year, tmp_path: Path
) -> None:
    if shutil.which("pdftoppm") is None:
        if IN_CI:
            pytest.fail("pdftoppm is missing: apt-get install poppler-utils")
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    out = Path(OUTPUT) / "reports"
    out.mkdir(parents=True, exist_ok=True)
    for kind, cycle, extra in (
        ("status-quo", 2026, {}),
        ("annual", 2026, {}),
        ("annual", 2027, {}),
        ("meeting", 2027, {"meeting_date": MEETING_DAY}),
    ):
        pdf = tmp_path / f"{kind}-{cycle}.pdf"
        pdf.write_bytes(build(session, year, kind, cycle, "pdf", **extra))
        prefix = out / f"{kind}-{cycle}"
        for old in out.glob(f"{kind}-{cycle}-*.png"):
            old.unlink()
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "4", str(pdf), str(prefix)],
            check=True,
        )
        pngs = sorted(out.glob(f"{kind}-{cycle}-*.png"))
        assert len(pngs) >= 2
        from PIL import Image

        with Image.open(pngs[0]) as first:
            assert abs(first.width / first.height - 210 / 297) < 0.01  # A4 portrait


def test_cli_writes_the_same_pdf_and_explains_errors(year: Year, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIELFLOW_")}
    env.update(ZIELFLOW_DATABASE_URL=year.url, ZIELFLOW_VAR_DIR=str(tmp_path / "var"))

    def zielflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "workflow.cli", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    out = tmp_path / "jahresbericht.html"
    done = zielflow("report", "annual", "--cycle", "2026", "--format", "html", "--output", str(out))
    assert done.returncode == 0, done.stderr
    engine = make_engine(year.url)
    with make_session_factory(engine)() as s:
        assert out.read_bytes() == build(s, year, "annual", 2026)
    engine.dispose()
    pdf = tmp_path / "sitzung.pdf"
    done = zielflow(
        "report",
        "meeting",
        "--cycle",
        "2027",
        "--format",
        "pdf",
        "--output",
        str(pdf),
        "--meeting-date",
        "2027-05-20",
        "--org",
        "simulation",
    )
    assert done.returncode == 0, done.stderr
    assert pdf.read_bytes().startswith(b"%PDF-")
    missing = zielflow("report", "annual", "--cycle", "2031", "--output", str(tmp_path / "x.html"))
    assert missing.returncode == 1 and "Es gibt keinen Zyklus 2031." in missing.stderr
    wrong = zielflow("report", "yearly", "--cycle", "2026", "--output", str(tmp_path / "x.html"))
    assert wrong.returncode == 1 and "Unbekannter Bericht 'yearly'" in wrong.stderr
    bad_day = zielflow(
        "report",
        "meeting",
        "--cycle",
        "2027",
        "--output",
        str(tmp_path / "x.html"),
        "--meeting-date",
        "20.05.2027",
    )
    assert bad_day.returncode == 1 and "kein Datum" in bad_day.stderr


@pytest.mark.postgres
def test_postgresql_gives_the_same_documents_as_sqlite(
    session: Session, year: Year, postgres_year: Year
) -> None:
    """Production runs PostgreSQL: the same simulated year there makes the same bytes."""
    on_postgres, postgres_url = postgres_year, postgres_year.url
    engine = make_engine(postgres_url)
    with make_session_factory(engine)() as pg:
        for kind, cycle in (("status-quo", 2026), ("annual", 2026), ("annual", 2027)):
            assert build(pg, on_postgres, kind, cycle) == build(session, year, kind, cycle), kind
        meeting = {"meeting_date": MEETING_DAY}
        assert build(pg, on_postgres, "meeting", 2027, **meeting) == build(
            session, year, "meeting", 2027, **meeting
        )
    engine.dispose()
