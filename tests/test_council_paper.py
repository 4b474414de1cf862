"""The council paper (Mitteilungsvorlage) and the report fixes of issue 13 ("Papers for the council").

Data on both databases; files, page and CLI on SQLite. Each format is read back with its own
reader (python-docx, odfdo, pdftotext), never by looking at our own rendering code.
"""

from __future__ import annotations

import io
import re
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

from docx import Document as DocxDocument
from fastapi.testclient import TestClient
from odfdo import Document as OdtDocument
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from api.app import create_app
from tests.dashboard_seed import csrf_headers, login, seed
from workflow.accounts import Role
from workflow.bodies.service import create_body
from workflow.catalogue.models import Field, Goal, Measure
from workflow.cli import app
from workflow.cycles.models import AuditEvent, Cycle, MeasureCycle, TargetAgreement
from workflow.db import unit_of_work
from workflow.deadlines import DeadlinePolicy, EscalationStep, EscalationTarget
from workflow.indicators.models import Indicator, IndicatorValue
from workflow.machine import State
from workflow.meetings.service import add_meeting
from workflow.reports import data
from workflow.reports.build import build_report
from workflow.reports.council import council_paper
from workflow.reports.council_render import build_council
from workflow.reports.council_store import PaperInput, save_paper
from workflow.runtime import Runtime

YEAR = 2026
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ASSESSMENT = "Das Begleitgremium sieht im Handlungsfeld A gute Fortschritte bei den Lotsen."


def _field_a(session: Session, org_id: int) -> tuple[int, list[int]]:
    """Field A's id and its measures' stays in the cycle, by measure code."""
    field_id = session.scalars(
        select(Field.id).where(Field.organisation_id == org_id, Field.code == "A")
    ).one()
    items = list(
        session.scalars(
            select(MeasureCycle.id)
            .join(Measure, Measure.id == MeasureCycle.measure_id)
            .join(Goal, Goal.id == Measure.goal_id)
            .where(Goal.field_id == field_id)
            .order_by(Measure.code)
        )
    )
    return field_id, items


def _seeded(rt: Runtime) -> tuple[int, int, int]:
    """The example cycle with field A's first measures moved on: two in Umsetzung with an
    agreement, one completed, one Zielvereinbarung overdue; a stored paper and text."""
    s = seed(rt, YEAR)
    with unit_of_work(rt.sessions) as session:
        field_id, items = _field_a(session, s.organisation_id)
        for mc_id, state in zip(
            items[:4],
            (State.IMPLEMENTATION, State.IMPLEMENTATION, State.COMPLETED, State.TARGET_AGREEMENT),
            strict=True,
        ):
            session.execute(
                update(MeasureCycle)
                .where(MeasureCycle.id == mc_id)
                # Two weeks before the report date: the agreement is overdue then.
                .values(state=state.value, due_on=date(2026, 2, 16))
            )
        for mc_id in items[:2]:
            session.add(
                TargetAgreement(measure_cycle_id=mc_id, decision="implement", submitted_at=NOW)
            )
        save_paper(
            session=session,
            organisation_id=s.organisation_id,
            year=YEAR,
            typed=PaperInput(
                subject="Kurzbericht Integration 2026",
                public=False,
                introduction="Der Rat hat 2019 das Integrationskonzept beschlossen.",
                consultation=(("Begleitgremium", "04.03.2026"), ("Integrationsausschuss", "")),
                attachments=("Jahresbericht 2026 (PDF)", "Status-Quo-Bericht"),
                field_texts={field_id: ASSESSMENT},
            ),
            by="user:1",
            now=NOW,
        )
        measures_a = len(items)
    return s.organisation_id, field_id, measures_a


def _paper(rt: Runtime, org_id: int):  # type: ignore[no-untyped-def]
    with rt.sessions() as session:
        scope = data.scope_for(
            session, organisation_id=org_id, year=YEAR, report_date=date(2026, 3, 2)
        )
        return council_paper(session, scope)


def test_the_paper_joins_stored_parts_and_the_cycles_figures(rt: Runtime) -> None:
    org_id, field_id, measures_a = _seeded(rt)
    paper = _paper(rt, org_id)
    assert paper.subject == "Kurzbericht Integration 2026" and paper.public is False
    assert [(c.body, c.on) for c in paper.consultation] == [
        ("Begleitgremium", date(2026, 3, 4)),
        ("Integrationsausschuss", None),
    ]
    assert paper.attachments == ("Jahresbericht 2026 (PDF)", "Status-Quo-Bericht")
    a = next(f for f in paper.fields if f.code == "A")
    assert (a.field_id, a.assessment) == (field_id, ASSESSMENT)
    assert (a.measures, a.implementing, a.agreed, a.completed, a.overdue) == (
        measures_a,
        2,
        2,
        1,
        1,
    )
    assert a.figures == (
        f"Zum Handlungsfeld gehören {measures_a} Maßnahmen. Davon sind 2 in Umsetzung und "
        "1 abgeschlossen. 2 Zielvereinbarungen wurden geschlossen. "
        "Bei 1 Maßnahme ist eine Frist überschritten."
    )
    others = [f for f in paper.fields if f.code != "A"]
    assert others and all(f.assessment == "" and f.agreed == 0 for f in others)
    with rt.sessions() as session:
        total = len(list(session.scalars(select(MeasureCycle.id))))
    assert paper.measures == total and paper.overdue == 1 and paper.completed == 1
    assert "(n)" not in paper.summary and "Maßnahme(n)" not in a.figures


def test_defaults_name_the_subject_the_annual_report_and_the_bodies_meeting_next(
    rt_sqlite: Runtime,
) -> None:
    s = seed(rt_sqlite, YEAR)
    with unit_of_work(rt_sqlite.sessions) as session:
        for name, days in (
            ("Begleitgremium", (date(2026, 2, 1), date(2026, 6, 10), date(2026, 9, 1))),
            ("Steuerungsgruppe", (date(2026, 5, 5),)),
        ):
            kind = "advisory_board" if name == "Begleitgremium" else "steering_group"
            body = create_body(
                session=session, organisation_id=s.organisation_id, name=name, kind=kind
            )
            for day in days:
                add_meeting(session=session, body_id=body.id, held_on=day, now=NOW)
    paper = _paper(rt_sqlite, s.organisation_id)
    assert paper.subject == "Integrationsplan: Kurzbericht zum Stand der Umsetzung 2026"
    assert paper.public is True
    assert paper.attachments == ("Jahresbericht 2026 (PDF)",)
    # Each body once, with its next meeting after the report date (2 March), earliest first.
    assert [(c.body, c.on) for c in paper.consultation] == [
        ("Steuerungsgruppe", date(2026, 5, 5)),
        ("Begleitgremium", date(2026, 6, 10)),
    ]


def _docx_text(content: bytes) -> str:
    doc = DocxDocument(io.BytesIO(content))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def _odt_text(content: bytes) -> str:
    doc = OdtDocument(io.BytesIO(content))
    cells = [str(v) for t in doc.body.get_tables() for row in t.get_values() for v in row]
    return doc.get_formatted_text() + "\n" + "\n".join(cells)


def _pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "vorlage.pdf"
    path.write_bytes(content)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_docx_odt_and_pdf_carry_subject_consultation_and_a_fields_text(
    rt_sqlite: Runtime, tmp_path: Path
) -> None:
    org_id, _, _ = _seeded(rt_sqlite)
    texts = {}
    with rt_sqlite.sessions() as session:
        for fmt in ("docx", "odt", "pdf"):
            rendered = build_council(session, organisation_id=org_id, year=YEAR, fmt=fmt)
            assert rendered.filename.endswith(f".{fmt}")
            texts[fmt] = rendered.content
    read = {
        "docx": _docx_text(texts["docx"]),
        "odt": _odt_text(texts["odt"]),
        "pdf": " ".join(_pdf_text(texts["pdf"], tmp_path).split()),
    }
    for fmt, text in read.items():
        flat = " ".join(text.split())
        assert "Mitteilungsvorlage" in flat, fmt
        assert "Betreff" in flat and "Kurzbericht Integration 2026" in flat, fmt
        assert "nicht öffentlich" in flat, fmt
        assert "Beratungsfolge" in flat, fmt
        for row in ("Begleitgremium", "04.03.2026", "Integrationsausschuss", "Kenntnisnahme"):
            assert row in flat, (fmt, row)
        assert ASSESSMENT in flat, fmt
        assert "Anlage 2: Status-Quo-Bericht" in flat, fmt
        for word in ("Vorgänge", "Eskalation", "Stufe", "Protokoll", "(n)"):
            assert word not in flat, (fmt, word)
    # Each body's row keeps its date in the same table row (docx table read cell by cell).
    doc = DocxDocument(io.BytesIO(texts["docx"]))
    rows = [[c.text for c in r.cells] for t in doc.tables for r in t.rows]
    assert ["Begleitgremium", "04.03.2026", "Kenntnisnahme"] in rows
    assert ["Integrationsausschuss", "–", "Kenntnisnahme"] in rows


def test_cli_writes_the_paper_and_refuses_an_unknown_cycle(
    rt_sqlite: Runtime, tmp_path: Path
) -> None:
    _seeded(rt_sqlite)

    def zielflow(*args: str) -> Result:
        return CliRunner().invoke(app, ["report", "council", *args, "--org", "musterstadt"])

    out = tmp_path / "vorlage.docx"
    done = zielflow("--cycle", str(YEAR), "--format", "docx", "--output", str(out))
    assert done.exit_code == 0, (done.stdout, done.stderr)
    assert done.stdout.strip() == f"Ratsvorlage {YEAR} (DOCX) nach {out} geschrieben."
    assert "Kurzbericht Integration 2026" in _docx_text(out.read_bytes())
    missing = zielflow("--cycle", "2031", "--format", "pdf", "--output", str(tmp_path / "x.pdf"))
    assert missing.exit_code == 1 and missing.stderr.strip() == "Es gibt keinen Zyklus 2031."
    assert not (tmp_path / "x.pdf").exists()
    wrong = zielflow("--cycle", str(YEAR), "--format", "rtf", "--output", str(tmp_path / "x"))
    assert wrong.exit_code == 1
    assert wrong.stderr.strip() == "Unbekanntes Format 'rtf'. Möglich: docx, odt, pdf."


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_page_saves_and_shows_typed_values_again_on_error(rt_sqlite: Runtime) -> None:
    s = seed(rt_sqlite, YEAR)
    with rt_sqlite.sessions() as session:
        field_id, _ = _field_a(session, s.organisation_id)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    shown = client.get(f"/berichte/ratsvorlage?zyklus={YEAR}")
    assert shown.status_code == 200
    assert "Integrationsplan: Kurzbericht zum Stand der Umsetzung 2026" in shown.text
    assert f'name="field_{field_id}"' in shown.text
    form = {
        "csrf_token": csrf_headers(client)["X-CSRF-Token"],
        "subject": "Mein Betreff",
        "introduction": "Einleitung, die bleiben soll.",
        "consultation_body_0": "Begleitgremium",
        "consultation_date_0": "31.02.2026",
        "attachment_0": "Jahresbericht",
        f"field_{field_id}": "x" * 5001,
    }
    refused = client.post(f"/berichte/ratsvorlage?zyklus={YEAR}", data=form)
    assert refused.status_code == 422
    page = refused.text
    assert "„31.02.2026“ ist kein gültiges Datum." in _text(page)
    assert "Der Text ist 5001 Zeichen lang; zulässig sind höchstens 5000 Zeichen." in _text(page)
    for typed in ("Mein Betreff", "Einleitung, die bleiben soll.", "31.02.2026", "x" * 5001):
        assert typed in page
    assert 'value="Begleitgremium"' in page and 'value="Jahresbericht"' in page
    assert _paper(rt_sqlite, s.organisation_id).subject != "Mein Betreff"
    form.update({"consultation_date_0": "04.03.2026", f"field_{field_id}": ASSESSMENT})
    saved = client.post(
        f"/berichte/ratsvorlage?zyklus={YEAR}", data=form, follow_redirects=False
    )
    assert saved.status_code == 303
    paper = _paper(rt_sqlite, s.organisation_id)
    assert paper.subject == "Mein Betreff" and paper.public is False
    assert [(c.body, c.on) for c in paper.consultation] == [("Begleitgremium", date(2026, 3, 4))]
    assert next(f for f in paper.fields if f.field_id == field_id).assessment == ASSESSMENT
    file = client.get(f"/berichte/ratsvorlage/datei?zyklus={YEAR}&format=odt")
    assert file.status_code == 200
    assert file.headers["content-type"] == "application/vnd.oasis.opendocument.text"
    assert ASSESSMENT in _odt_text(file.content)
    assert client.get("/berichte/ratsvorlage?zyklus=2031").status_code == 404


# --- Report fixes: what councillors and the steering group read -----------------------------


def _annual_html(rt: Runtime, org_id: int) -> str:
    with rt.sessions() as session:
        return build_report(
            session, organisation_id=org_id, kind="annual", year=YEAR, report_date=date(2026, 3, 2)
        ).content.decode("utf-8")


def _annual_text(rt: Runtime, org_id: int) -> str:
    return _text(_annual_html(rt, org_id))


def test_a_written_indicator_prints_its_latest_report_and_trends_say_what_they_compare(
    rt_sqlite: Runtime,
) -> None:
    s = seed(rt_sqlite, YEAR)
    with unit_of_work(rt_sqlite.sessions) as session:
        written = Indicator(
            organisation_id=s.organisation_id,
            code="W1",
            statement="Zusammenleben im Quartier",
            unit="text",
            direction="up",
            created_at=NOW,
        )
        counted_one = Indicator(
            organisation_id=s.organisation_id,
            code="K1",
            statement="Quote der Ausbildungsplätze",
            unit="percent",
            direction="up",
            created_at=NOW,
        )
        session.add_all([written, counted_one])
        session.flush()
        for day, report in (
            (date(2025, 1, 10), "Alter Bericht."),
            (date(2026, 1, 10), "Neuer Bericht: Nachbarschaftsfeste gut besucht."),
        ):
            session.add(
                IndicatorValue(
                    organisation_id=s.organisation_id,
                    indicator_id=written.id,
                    survey_date=day,
                    value=None,
                    report=report,
                    delivered_by="contact:1",
                    delivered_at=NOW,
                )
            )
        for day, value in (
            (date(2024, 1, 1), 10.0),
            (date(2025, 1, 1), 12.0),
            (date(2026, 1, 1), 15.0),
        ):
            session.add(
                IndicatorValue(
                    organisation_id=s.organisation_id,
                    indicator_id=counted_one.id,
                    survey_date=day,
                    value=value,
                    delivered_by="contact:1",
                    delivered_at=NOW,
                )
            )
    text = _annual_text(rt_sqlite, s.organisation_id)
    block = text[text.index("W1: Zusammenleben im Quartier") :]
    assert "Neuer Bericht: Nachbarschaftsfeste gut besucht." in block
    assert "10.01.2026" in block
    assert "keine Werte" not in block and "Letzter Wert" not in block
    assert "langfristiger Trend (alle Werte bis zum Stichtag): steigend" in text
    assert "Trend: steigend" not in text


def test_the_meeting_pack_takes_the_escalation_days_from_the_cycles_policy(
    rt_sqlite: Runtime,
) -> None:
    s = seed(rt_sqlite, YEAR)
    with unit_of_work(rt_sqlite.sessions) as session:
        cycle = session.get(Cycle, s.cycle_id)
        assert cycle is not None
        policy = DeadlinePolicy.model_validate(cycle.policy)
        steps = [
            EscalationStep(days_overdue=5, target=EscalationTarget.DEPARTMENT_HEAD),
            EscalationStep(days_overdue=10, target=EscalationTarget.STEERING_GROUP),
        ]
        cycle.policy = policy.model_copy(update={"escalation_steps": steps}).model_dump(mode="json")
    with rt_sqlite.sessions() as session:
        html = build_report(
            session,
            organisation_id=s.organisation_id,
            kind="meeting",
            year=YEAR,
            meeting_date=date(2026, 5, 20),
        ).content.decode("utf-8")
    text = _text(html)
    assert "10 Tage nach der Frist" in text and "21 Tage" not in text
    assert "5 Tage nach der Frist" in text


def test_one_agreement_of_four_reads_in_the_singular(rt_sqlite: Runtime) -> None:
    s = seed(rt_sqlite, YEAR)
    with unit_of_work(rt_sqlite.sessions) as session:
        _, items = _field_a(session, s.organisation_id)
        for mc_id in items[:4]:
            session.add(
                AuditEvent(
                    organisation_id=s.organisation_id,
                    measure_cycle_id=mc_id,
                    at=NOW,
                    actor="user:1",
                    event="record_interview",
                    from_state=State.INITIAL_INTERVIEW.value,
                    to_state=State.TARGET_AGREEMENT.value,
                )
            )
        session.add(
            TargetAgreement(measure_cycle_id=items[0], decision="implement", submitted_at=NOW)
        )
    text = _annual_text(rt_sqlite, s.organisation_id)
    assert "1 von 4 angefragten Zielvereinbarungen wurde geschlossen" in text
    assert "wurden geschlossen" not in text


def test_the_annual_report_speaks_plainly_and_explains_its_words(rt_sqlite: Runtime) -> None:
    org_id, _, _ = _seeded(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as session:
        session.execute(
            update(MeasureCycle)
            .where(MeasureCycle.state == State.TARGET_AGREEMENT.value)
            .values(escalation_level=2)
        )
    html = _annual_html(rt_sqlite, org_id)
    # The overdue agreement, escalated twice: named by whom it reached, not by a level.
    assert '<span class="level level-2">Steuerungsgruppe</span>' in html
    text = _text(html)
    forbidden = ("Vorgang", "Vorgänge", "Eskalation Stufe", "Stufe 2", "Stufe\u00a02", "Protokoll")
    for word in forbidden:
        assert word not in text, word
    glossary = text[text.rindex("Begriffe") :]  # the appendix, not the contents
    for term in (
        "Handlungsfeld",
        "Maßnahme",
        "Zielvereinbarung",
        "Umsetzung",
        "Überprüfung der Zielerreichung",
        "Kennzahl",
        "Wirkungsindikator",
    ):
        assert term in glossary, term
