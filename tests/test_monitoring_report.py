"""The monitoring report (issue 16, part 2) on both databases: numbers, marks, texts, bytes, CLI, page.

A small monitoring of three Handlungsfelder is written with the models; every number the
report prints is selected again here with plain SQL and compared with the report's data and
its HTML. The CLI runs in-process (typer's runner) with the commands mounted as the lead
will mount them; the page is mounted on the real app the same way.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from tests import factories
from tests.dashboard_seed import csrf_headers, login, seed
from workflow import cli_lang
from workflow.catalogue.models import Field, Goal, Organisation
from workflow.conference.models import Conference, ConferenceQuestion
from workflow.db import make_engine, make_session_factory, unit_of_work
from workflow.indicators.models import Indicator, IndicatorDimension, IndicatorValue
from workflow.monitoring.models import StatisticsStatement
from workflow.reports.monitoring_cli import monitoring_app, report_monitoring_cmd
from workflow.reports.monitoring_data import (
    IndicatorRow,
    MonitoringReport,
    Value,
    monitoring_report,
)
from workflow.reports.monitoring_html import monitoring_html, render
from workflow.runtime import Runtime

YEAR = 2027
NBSP = "\u00a0"
AT = datetime(2028, 1, 10, 9, 0, tzinfo=UTC)
# A written impact report of several paragraphs: it must appear whole, nothing cut off.
WRITTEN = (
    "\n".join(
        f"Absatz {i}: Die Koordinierungsstelle hat mit Trägern, Schulen & Betrieben "
        f"<Übergang Schule–Beruf> {i * 3} Termine abgestimmt; Ergebnis {i},5 von 10."
        for i in range(1, 31)
    )
    + "\nLetzter Satz des Berichts: Die Vernetzung wird 2028 fortgesetzt."
)


def _value(org: Organisation, ind: Indicator, day: date, **columns: object) -> IndicatorValue:
    return IndicatorValue(
        organisation_id=org.id,
        indicator_id=ind.id,
        survey_date=day,
        delivered_by="contact:test",
        delivered_at=AT,
        **columns,
    )


def build_monitoring(s: Session) -> int:
    """Three fields, four goals, four active indicators and one inactive; returns the org id."""
    org = factories.organisation(s, slug="teststadt")
    fields = {
        code: Field(organisation_id=org.id, code=code, name=name, assumptions=assumptions)
        for code, name, assumptions in (
            ("A", "Wirtschaft, Handel, Arbeit", "1. Hohe Arbeitslosigkeit.\n2. Fachkräftemangel."),
            ("B", "Bildung und Sprache", ""),
            ("C", "Zusammenleben", "Austausch schafft Zusammenleben."),
        )
    }
    s.add_all(fields.values())
    s.flush()
    goals = {
        code: Goal(organisation_id=org.id, field_id=fields[code[0]].id, code=code, name=n, rank=r)
        for code, n, r in (
            ("A2", "Berufliche Sensibilisierung", 1),
            ("A1", "Gezielte Strategie", 1),
            ("A3", "Schlüsselakteure sensibilisieren", 2),
            ("B1", "Frühe Förderung", 1),
        )
    }
    s.add_all(goals.values())
    s.add(
        IndicatorDimension(
            organisation_id=org.id,
            code="staatsangehoerigkeit",
            label="Staatsangehörigkeit",
            categories=[
                {"code": "deutsch", "label": "deutsch"},
                {"code": "nichtdeutsch", "label": "nichtdeutsch"},
            ],
            created_at=AT,
        )
    )
    s.flush()

    def indicator(code: str, unit: str, goal_codes: list[str], **columns: object) -> Indicator:
        ind = Indicator(
            organisation_id=org.id,
            code=code,
            unit=unit,
            direction="up",
            created_at=AT,
            goals=[goals[g] for g in goal_codes],
            **{"statement": f"Aussage {code}", **columns},
        )
        s.add(ind)
        s.flush()
        return ind

    k1 = indicator(
        "K1",
        "percent",
        ["A1"],
        statement="Der Arbeitslosenindex bei Ausländern nähert sich dem Bevölkerungsanteil an.",
        numerator_label="Arbeitslose Ausländerinnen und Ausländer",
        denominator_label="Sozialversicherungspflichtig Beschäftigte am Wohnort",
        district="Stadt Bergisch Gladbach",
        source_label="Jobcenter",
        notes="Nur nach Staatsangehörigkeit differenziert.",
        dimensions=["staatsangehoerigkeit"],
        computation="ratio",
    )
    k2 = indicator("K2", "count", ["A3", "B1"], source_label="Schulverwaltung")
    w1 = indicator("W1", "text", ["A2"])
    s1 = indicator("S1", "scale", ["A1", "B1"])
    gone = indicator("K9", "count", ["B1"], active=False)
    s.add_all(
        [
            _value(org, k1, date(2026, 12, 31), value=7.5, check_state="checked"),
            _value(org, k1, date(2027, 6, 30), value=8.25, check_state="checked"),
            _value(
                org, k1, date(2027, 12, 31), value=29.7, numerator=297, denominator=1000,
                comment="Vorläufiger Wert", check_state="unchecked",
            ),
            _value(
                org, k1, date(2027, 12, 31), cell="staatsangehoerigkeit=nichtdeutsch",
                value=12.5, numerator=125, denominator=1000, check_state="unchecked",
            ),
            _value(
                org, k1, date(2027, 12, 31), cell="staatsangehoerigkeit=deutsch",
                value=5.0, numerator=50, denominator=1000, check_state="confirmed",
            ),
            _value(org, k1, date(2028, 3, 31), value=99.0, check_state="checked"),  # after 2027
            _value(org, k1, date(2027, 6, 30), district="Stadtmitte", value=6.0,
                   check_state="corrected"),
            _value(org, k1, date(2027, 6, 30), district="Bensberg", value=10.0),
            _value(org, k1, date(2027, 3, 31), district="Bensberg", value=11.0),
            _value(org, k1, date(2026, 6, 30), district="Refrath", value=3.0),  # not 2027
            _value(org, k2, date(2025, 2, 15), value=1234, check_state="checked"),
            _value(org, w1, date(2027, 11, 15), report=WRITTEN, check_state="confirmed"),
            _value(org, w1, date(2026, 11, 15), report="Alter Bericht", check_state="checked"),
            _value(
                org, s1, date(2027, 9, 20), counts=[1, 2, 3, 4, 5], value=55 / 15,
                check_state="unchecked",
            ),
            _value(org, gone, date(2027, 1, 1), value=5),
        ]
    )  # fmt: skip
    s.add(
        StatisticsStatement(
            organisation_id=org.id,
            year=YEAR,
            text="Die Schätzung beruht auf dem Verfahren MigraPro.\nStand der Melderegister: 31.12.2027.",
            author="Statistikdienststelle",
            updated_by="test",
            updated_at=AT,
        )
    )
    s.flush()
    return org.id


@pytest.fixture
def org_id(rt: Runtime) -> int:
    with unit_of_work(rt.sessions) as s:
        return build_monitoring(s)


def _report(rt: Runtime, org_id: int, year: int = YEAR) -> MonitoringReport:
    with rt.sessions() as s:
        return monitoring_report(s, organisation_id=org_id, year=year)


def _indicators(report: MonitoringReport) -> dict[str, IndicatorRow]:
    return {
        ind.code: ind
        for f in report.fields
        for g in f.goals
        for ind in (*g.kennzahlen, *g.wirkungsindikatoren)
    }


def _block(html: str, code: str) -> str:
    """The HTML of the first block of indicator ``code``, up to the next indicator or section."""
    start = html.index(f'data-indicator="{code}"')
    ends = [html.find(m, start + 1) for m in ("data-indicator=", "</section>")]
    return html[start : min(e for e in ends if e > 0)]


def _latest(held: dict[str, IndicatorRow], code: str) -> Value:
    found = held[code].latest
    assert found is not None, code
    return found


def _day(raw: object) -> date:
    return raw if isinstance(raw, date) else date.fromisoformat(str(raw)[:10])


def test_numbers_equal_independent_sql(rt: Runtime, org_id: int) -> None:
    report = _report(rt, org_id)
    with rt.sessions() as s:
        counts: dict[str, int] = dict(
            s.execute(
                text(
                    "SELECT f.code, COUNT(DISTINCT ig.indicator_id) FROM field f "
                    "JOIN goal g ON g.field_id = f.id "
                    "JOIN indicator_goal ig ON ig.goal_id = g.id "
                    "JOIN indicator i ON i.id = ig.indicator_id "
                    "WHERE f.organisation_id = :org AND i.active = :yes GROUP BY f.code"
                ),
                {"org": org_id, "yes": True},
            ).all()
        )
        latest = s.execute(
            text(
                "SELECT i.code, v.survey_date, v.value FROM indicator_value v "
                "JOIN indicator i ON i.id = v.indicator_id "
                "WHERE i.organisation_id = :org AND i.active = :yes "
                "AND v.cell = '' AND v.district = '' AND v.survey_date = ("
                "  SELECT MAX(w.survey_date) FROM indicator_value w"
                "  WHERE w.indicator_id = v.indicator_id AND w.cell = '' AND w.district = ''"
                "  AND w.survey_date <= '2027-12-31')"
            ),
            {"org": org_id, "yes": True},
        ).all()
    assert counts == {"A": 4, "B": 2}  # the data is what this test means it to be
    assert {f.code: f.indicator_count for f in report.fields} == {"A": 4, "B": 2, "C": 0}
    assert [f.code for f in report.fields] == ["A", "B", "C"]
    assert [(g.code, g.rank) for g in report.fields[0].goals] == [("A1", 1), ("A2", 1), ("A3", 2)]
    assert report.fields[0].assumptions.startswith("1. Hohe Arbeitslosigkeit.")

    held = _indicators(report)
    assert sorted(held) == sorted(code for code, _, _ in latest) == ["K1", "K2", "S1", "W1"]
    html = monitoring_html(report)
    for code, survey_date, value in latest:
        shown_latest = _latest(held, code)
        assert shown_latest.survey_date == _day(survey_date), code
        assert shown_latest.value == (None if value is None else pytest.approx(value)), code
        assert f'data-date="{code}">{_day(survey_date).strftime("%d.%m.%Y")}<' in html
    for code, shown in (("K1", f"29,7{NBSP}%"), ("K2", "1.234")):
        assert re.search(f'data-value="{code}">{shown}[< ]', html), code
    assert 'data-mean="S1">3,67<' in html
    # Every field's count as the HTML states it.
    for code, n in counts.items():
        assert f'data-field="{code}" data-indicators="{n}"' in html
    # The cells side by side with their labels, in the dimension's order.
    k1 = held["K1"]
    assert [(c.cell_label, c.value) for c in k1.cells] == [
        ("Staatsangehörigkeit: deutsch", 5.0),
        ("Staatsangehörigkeit: nichtdeutsch", 12.5),
    ]
    assert "Arbeitslose Ausländerinnen und Ausländer: 297" in _block(html, "K1")
    # Per district: the latest of 2027 per district, nothing of other years.
    (table,) = report.districts
    assert [(v.district, v.survey_date, v.value) for v in table.rows] == [
        ("Bensberg", date(2027, 6, 30), 10.0),
        ("Stadtmitte", date(2027, 6, 30), 6.0),
    ]
    assert "Refrath" not in html
    assert "Die Schätzung beruht auf dem Verfahren MigraPro." in html


def test_unchecked_values_are_marked_and_written_reports_printed_in_full(
    rt: Runtime, org_id: int
) -> None:
    report = _report(rt, org_id)
    held = _indicators(report)
    assert _latest(held, "K1").unchecked and _latest(held, "S1").unchecked
    assert not _latest(held, "W1").unchecked and not _latest(held, "K2").unchecked
    html = monitoring_html(report)
    assert "ungeprüft" in _block(html, "K1") and "ungeprüft" in _block(html, "S1")
    assert "ungeprüft" not in _block(html, "W1") and "ungeprüft" not in _block(html, "K2")
    # The deutsch cell is confirmed, the nichtdeutsch one is not: one mark among the cells.
    cells = html[html.index('data-cells="K1"') :].split("</table>")[0]
    assert cells.count("data-unchecked") == 1
    # The written report, every line of it, escaped as text.
    block = _block(html, "W1")
    escaped = WRITTEN.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert escaped in block
    assert "Alter Bericht" not in html
    english = monitoring_html(report, "en")
    assert "unchecked" in _block(english, "K1") and "Monitoring report 2027" in english


def test_missing_statement_has_its_slot_and_same_data_gives_same_bytes(
    rt: Runtime, org_id: int, another_database: object
) -> None:
    without = _report(rt, org_id, 2026)
    assert without.statement is None
    assert "keine Stellungnahme der Statistikdienststelle" in monitoring_html(without)
    first = render(_report(rt, org_id), "html").content
    pdf = render(_report(rt, org_id), "pdf").content
    assert pdf.startswith(b"%PDF-")
    assert render(_report(rt, org_id), "pdf").content == pdf
    # The same data in a fresh SQLite database gives the same bytes, whichever database ran.
    engine = make_engine(another_database("sqlite"))  # type: ignore[operator]
    sessions = make_session_factory(engine)
    with unit_of_work(sessions) as s:
        other_org = build_monitoring(s)
    with sessions() as s:
        other = monitoring_report(s, organisation_id=other_org, year=YEAR)
    engine.dispose()
    assert render(other, "html").content == first
    assert render(other, "pdf").content == pdf


def _cli() -> typer.Typer:
    """The commands as workflow/cli.py is to mount them (see the report of this work)."""
    app = typer.Typer()
    report = typer.Typer()
    report.command("monitoring")(report_monitoring_cmd)
    app.add_typer(report, name="report")
    app.add_typer(monitoring_app, name="monitoring")
    return app


def _run(*args: str) -> Result:
    cli_lang.set_language("de")
    return CliRunner().invoke(_cli(), list(args))


def test_cli_writes_the_report_and_keeps_its_texts(
    rt: Runtime, org_id: int, tmp_path: Path
) -> None:
    notes = tmp_path / "annahmen.txt"
    notes.write_text("Neue Annahme eins.\r\nNeue Annahme zwei.  \n", encoding="utf-8")
    done = _run("monitoring", "assumptions", "b", "--text-file", str(notes), "--org", "teststadt")
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == "Annahmen des Handlungsfelds B (Bildung und Sprache) gespeichert."
    statement = tmp_path / "stellungnahme.txt"
    statement.write_text("Neue Schätzung für 2026.", encoding="utf-8")
    done = _run(
        "monitoring", "statement", "--year", "2026", "--text-file", str(statement),
        "--author", "Statistikstelle",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    with rt.sessions() as s:
        assert s.scalar(select(Field.assumptions).where(Field.code == "B")) == (
            "Neue Annahme eins.\nNeue Annahme zwei."
        )
        row = s.scalars(select(StatisticsStatement).where(StatisticsStatement.year == 2026)).one()
        assert (row.text, row.author, row.updated_by) == (
            "Neue Schätzung für 2026.",
            "Statistikstelle",
            "cli",
        )
    unknown = _run("monitoring", "assumptions", "Z", "--text-file", str(notes))
    assert unknown.exit_code == 1, repr(unknown.exception)
    assert unknown.stderr.strip() == "Ein Handlungsfeld „Z“ gibt es nicht."

    out = tmp_path / "monitoring.html"
    done = _run("report", "monitoring", "--year", "2026", "--output", str(out))
    assert done.exit_code == 0, done.output
    assert "monitoring-teststadt-2026.html" in done.stdout
    assert out.read_bytes() == render(_report(rt, org_id, 2026), "html").content
    assert "Neue Schätzung für 2026." in out.read_text(encoding="utf-8")
    pdf = tmp_path / "monitoring.pdf"
    done = _run("report", "monitoring", "--year", "2027", "--output", str(pdf), "--lang", "en")
    assert done.exit_code == 0, done.output
    assert pdf.read_bytes() == render(_report(rt, org_id), "pdf", "en").content
    wrong = _run("report", "monitoring", "--year", "2027", "--output", str(out), "--format", "doc")
    assert wrong.exit_code == 1 and "Unbekanntes Format „doc“" in wrong.stderr


def test_page_coordinator_writes_steering_reads(rt: Runtime) -> None:
    from api.app import create_app
    from api.dashboard import monitoring as monitoring_page
    from workflow.accounts import Role

    seed(rt)

    def client() -> TestClient:
        app = create_app()
        app.include_router(monitoring_page.router)  # until api/dashboard/__init__.py has it
        return TestClient(app)

    coordinator = client()
    login(coordinator, Role.COORDINATOR)
    shown = coordinator.get("/monitoring/2027")
    assert shown.status_code == 200 and 'action="/monitoring/2027/annahmen/A"' in shown.text
    typed = {"text": "Annahme aus dem Formular."}
    assert coordinator.post("/monitoring/2027/annahmen/A", data=typed).status_code == 403
    saved = coordinator.post(
        "/monitoring/2027/annahmen/A",
        data=typed,
        headers=csrf_headers(coordinator),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    too_long = coordinator.post(
        "/monitoring/2027/stellungnahme",
        data={"text": "x" * 20_001, "author": ""},
        headers=csrf_headers(coordinator),
    )
    assert too_long.status_code == 422 and "höchstens 20.000 Zeichen" in too_long.text
    saved = coordinator.post(
        "/monitoring/2027/stellungnahme",
        data={"text": "Stellungnahme aus dem Formular.", "author": "Statistikstelle"},
        headers=csrf_headers(coordinator),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "Die Stellungnahme ist gespeichert." in coordinator.get("/monitoring/2027").text

    steering = client()
    login(steering, Role.STEERING)
    view = steering.get("/monitoring/2027")
    assert view.status_code == 200 and '<form method="post" action="/monitoring' not in view.text
    assert "Annahme aus dem Formular." in view.text
    refused = steering.post(
        "/monitoring/2027/annahmen/A", data=typed, headers=csrf_headers(steering)
    )
    assert refused.status_code == 403
    document = steering.get("/monitoring/2027/bericht")
    assert document.status_code == 200
    assert "Stellungnahme aus dem Formular." in document.text
    assert "Annahme aus dem Formular." in document.text
    assert "Assumptions" in steering.get("/monitoring/2027/bericht?lang=en").text


def test_a_survey_shows_the_scale_labels_its_conference_asked_with(
    rt: Runtime, org_id: int
) -> None:
    labels = ["eigentlich nie", "selten", "manchmal", "oft", "sehr oft"]
    before = _block(monitoring_html(_report(rt, org_id)), "S1")
    assert "Stufe 1" in before and "eigentlich nie" not in before  # no question: numbered
    with unit_of_work(rt.sessions) as s:
        s1 = s.scalars(select(Indicator).where(Indicator.code == "S1")).one()
        conference = Conference(
            organisation_id=org_id,
            title="Integrationskonferenz 2027",
            held_on=date(2027, 9, 20),  # the day of S1's latest value
            survey_code="TESTCODE",
            created_at=datetime(2027, 8, 1, tzinfo=UTC),
            created_by="test",
        )
        s.add(conference)
        s.flush()
        s.add(
            ConferenceQuestion(
                conference_id=conference.id, kind="scale", text="Wie oft …?",
                indicator_id=s1.id, scale_labels=labels,
            )
        )  # fmt: skip
    block = _block(monitoring_html(_report(rt, org_id)), "S1")
    header = block[block.index('data-survey="S1"') :].split("</thead>")[0]
    assert [label in header for label in labels] == [True] * 5
    assert "Stufe" not in header
