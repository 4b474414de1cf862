"""The latest status of a measure, and where it shows: pipeline, measure page, steering view,
meeting pack, per-field status sheet (HTML and PDF) and the Jahresbericht's counts."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import event, func, select
from typer.testing import CliRunner

from api.app import create_app
from tests import factories
from tests.dashboard_seed import EMAILS, Seed, login, seed
from tests.status_support import answer, cycle, milestone, stay
from workflow.accounts import Role
from workflow.bodies.models import Body, BodyField, BodyKind, BodyMember, BodyScope, Meeting
from workflow.catalogue.models import Contact, Field, Goal, Measure
from workflow.cli import app
from workflow.clock import FrozenClock
from workflow.cycles.models import MeasureCycle
from workflow.db import unit_of_work
from workflow.meetings.models import AgendaItem
from workflow.meetings.pack import render_pack
from workflow.meetings.pack_data import pack_of
from workflow.milestones.models import MilestoneStatus
from workflow.reports.build import build_report
from workflow.runtime import Runtime
from workflow.status_checks.latest import LatestStatus, latest_statuses


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_latest_status_rules(rt: Runtime) -> None:
    """Newest answer wins (ties: highest id); a milestone missed after it makes it "delayed"
    from the first day past the grace period; "done" stands; no answer and no miss: absent."""
    with unit_of_work(rt.sessions) as session:
        org = factories.organisation(session)
        ms = factories.measures(session, org, 7)
        c = cycle(session, org.id, 2027, grace_days=14)
        mcs = [stay(session, m, c) for m in ms]
        ids = [m.id for m in ms]
        today = date(2027, 6, 30)
        # 0: an older "at risk", then a newer "on track": the newer answer wins.
        answer(session, measure=ms[0], cycle_id=c.id, stand="at_risk", at=_at(date(2027, 3, 1)))
        answer(session, measure=ms[0], cycle_id=c.id, stand="on_track", at=_at(date(2027, 5, 2)))
        # 1: two answers at the same moment: the one written last (highest id) wins.
        answer(session, measure=ms[1], cycle_id=c.id, stand="on_track", at=_at(date(2027, 5, 2)))
        answer(session, measure=ms[1], cycle_id=c.id, stand="at_risk", at=_at(date(2027, 5, 2)))
        # 2: on track in April, then a milestone due 1 May missed (grace 14 days) -> delayed
        #    from 16 May; a second, later miss does not move that day.
        answer(session, measure=ms[2], cycle_id=c.id, stand="on_track", at=_at(date(2027, 4, 1)))
        milestone(session, mcs[2], date(2027, 5, 1))
        milestone(session, mcs[2], date(2027, 6, 1))
        # 3: a milestone missed before the answer: the answer is newer and stands.
        milestone(session, mcs[3], date(2027, 3, 1))
        answer(session, measure=ms[3], cycle_id=c.id, stand="on_track", at=_at(date(2027, 4, 1)))
        # 4: "done" is never overridden by a later miss.
        answer(session, measure=ms[4], cycle_id=c.id, stand="done", at=_at(date(2027, 4, 1)))
        milestone(session, mcs[4], date(2027, 5, 1))
        # 5: no answer; one milestone still within its grace, one reached late: nothing.
        milestone(session, mcs[5], date(2027, 6, 20))
        milestone(session, mcs[5], date(2027, 1, 10), status=MilestoneStatus.REACHED)
        # 6: no answer, a milestone missed: delayed from the day after the grace period.
        milestone(session, mcs[6], date(2027, 6, 15))
        milestone(session, mcs[6], date(2027, 6, 10))
        # An unanswered item (no stand) of measure 5 counts as nothing.
        got = latest_statuses(session, organisation_id=org.id, today=today, measure_ids=ids)
        assert got == {
            ids[0]: LatestStatus("on_track", date(2027, 5, 2), "answer"),
            ids[1]: LatestStatus("at_risk", date(2027, 5, 2), "answer"),
            ids[2]: LatestStatus("delayed", date(2027, 5, 16), "milestone"),
            ids[3]: LatestStatus("on_track", date(2027, 4, 1), "answer"),
            ids[4]: LatestStatus("done", date(2027, 4, 1), "answer"),
            ids[6]: LatestStatus("delayed", date(2027, 6, 25), "milestone"),
        }
        # Grace boundary: due 15 June + 14 days = 29 June is not yet missed on 29 June.
        edge = latest_statuses(
            session, organisation_id=org.id, today=date(2027, 6, 24), measure_ids=[ids[6]]
        )
        assert edge == {}
        # Without a filter: the same answer for the whole organisation; another one sees none.
        assert latest_statuses(session, organisation_id=org.id, today=today) == got
        other = factories.organisation(session, "anderswo")
        assert latest_statuses(session, organisation_id=other.id, today=today) == {}
        assert latest_statuses(session, organisation_id=org.id, today=today, measure_ids=[]) == {}


def test_latest_status_is_one_query_for_many_measures(rt: Runtime) -> None:
    with unit_of_work(rt.sessions) as session:
        org = factories.organisation(session)
        ms = factories.measures(session, org, 12)
        c = cycle(session, org.id, 2027)
        for i, m in enumerate(ms):
            mc = stay(session, m, c)
            answer(session, measure=m, cycle_id=c.id, stand="on_track", at=_at(date(2027, 4, 1)))
            if i % 2:
                milestone(session, mc, date(2027, 5, 1))
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            got = latest_statuses(
                session,
                organisation_id=org.id,
                today=date(2027, 7, 1),
                measure_ids=[m.id for m in ms],
            )
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(got) == 12
        assert sum(1 for s in got.values() if s.stand == "delayed") == 6
        # organisation's time zone, newest cycle's policy, answers, missed milestones
        assert len(statements) <= 4, statements


# --- where it shows (SQLite: the subject is the page or document, not the database) ------

NOTE = "Die Räume fehlen noch."


@dataclass
class Shown:
    seed: Seed
    first: int  # measure-in-cycle answered "gefährdet" (after an older "im Plan")
    second: int  # a milestone missed: "verzögert"
    third: int  # answered "abgeschlossen"
    quiet: int  # nothing known
    field_code: str  # the field of the first two
    other_field: str
    field_id: int
    contact_name: str


def _statuses(rt: Runtime) -> Shown:
    s = seed(rt)
    with unit_of_work(rt.sessions) as session:
        stays = [session.get(MeasureCycle, i) for i in s.item_ids]
        first, second, third = stays[0], stays[1], stays[2]
        assert first is not None and second is not None and third is not None
        measure = session.get(Measure, first.measure_id)
        done = session.get(Measure, third.measure_id)
        assert measure is not None and done is not None
        answer(
            session,
            measure=measure,
            cycle_id=s.cycle_id,
            stand="on_track",
            at=_at(date(2026, 2, 2)),
        )
        answer(
            session,
            measure=measure,
            cycle_id=s.cycle_id,
            stand="at_risk",
            at=_at(date(2026, 2, 20)),
            note=NOTE,
        )
        answer(session, measure=done, cycle_id=s.cycle_id, stand="done", at=_at(date(2026, 2, 25)))
        milestone(session, second, date(2026, 1, 15), text="Träger ausgewählt")
        milestone(session, second, date(2026, 9, 30), text="Erster Kurs beginnt")
        contact = session.get(Contact, measure.contact_id)
        field = measure.goal.field
        other = session.scalars(
            select(Field.code).where(
                Field.organisation_id == s.organisation_id, Field.id != field.id
            )
        ).first()
        assert contact is not None and other is not None
        quiet = next(
            mc.id
            for mc in stays[3:]
            if mc is not None and session.get(Measure, mc.measure_id).goal.field_id == field.id  # type: ignore[union-attr]
        )
        return Shown(
            s, first.id, second.id, third.id, quiet, field.code, other, field.id, contact.name
        )


def _card(html: str, item_id: int) -> str:
    start = html.index(f'href="/massnahmen/{item_id}"')
    return html[start : html.index("</li>", start)]


def _section(html: str, start: str, end: str) -> str:
    part = html[html.index(start) :]
    return part[: part.index(end)]


def _row(html: str, marker: str) -> str:
    return _section(html, marker, "</tr>")


def pdf_text(pdf: bytes) -> str:
    """The PDF's words, one space between each (table cells wrap lines anywhere)."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def test_status_on_the_pages_and_the_status_sheet(rt_sqlite: Runtime, clock: FrozenClock) -> None:
    w = _statuses(rt_sqlite)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)

    # The pipeline: the word, the date, and why, on each card; nothing where nothing is known.
    pipeline = client.get("/pipeline")
    assert pipeline.status_code == 200
    first = _card(pipeline.text, w.first)
    assert 'data-stand="at_risk">gefährdet</span>' in first and "Stand vom 20.02.2026" in first
    second = _card(pipeline.text, w.second)
    # Missed 15 January + 14 days of grace: delayed from 30 January.
    assert 'data-stand="delayed">verzögert</span>' in second
    assert "Stand vom 30.01.2026 · Meilenstein nicht erreicht" in second
    assert 'data-stand="done">abgeschlossen</span>' in _card(pipeline.text, w.third)
    assert "data-stand" not in _card(pipeline.text, w.quiet)
    english = client.get("/pipeline?lang=en").text
    assert (
        'data-stand="at_risk">at risk</span> <small class="stand-date">as of 20/02/2026'
        in _card(english, w.first)
    )

    # The measure page: the badge, and every answer with date, who and text, newest first.
    page = client.get(f"/massnahmen/{w.first}").text
    latest = _section(page, 'data-testid="latest-status"', "</dd>")
    assert 'class="stand stand-at_risk" data-stand="at_risk">gefährdet<' in latest
    answers = _section(page, 'id="status-answers-title"', "</section>")
    rows = answers.split("<tr>")[2:]  # after the header row
    assert len(rows) == 2
    assert "20.02.2026" in rows[0] and w.contact_name in rows[0]
    assert "gefährdet" in rows[0] and NOTE in rows[0]
    assert "02.02.2026" in rows[1] and "im Plan" in rows[1]
    assert "contact:" not in answers
    quiet = client.get(f"/massnahmen/{w.quiet}").text
    assert "ohne Angabe" in _section(quiet, 'data-testid="latest-status"', "</dd>")
    assert "Zu dieser Maßnahme liegen noch keine Antworten auf Sachstandsabfragen vor." in quiet

    # The reports page links the sheet; the sheet lists the field by goal.
    reports = client.get("/berichte").text
    form = _section(reports, 'action="/berichte/sachstand"', "</form>")
    assert f'value="{w.field_code}"' in form
    sheet = client.get(f"/berichte/sachstand?feld={w.field_code}")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/html")
    html = sheet.text
    assert "<h1>Sachstand nach Handlungsfeld</h1>" in html and "Stand: 02.03.2026" in html
    with unit_of_work(rt_sqlite.sessions) as session:
        codes = {
            mc_id: session.get(MeasureCycle, mc_id).measure.code  # type: ignore[union-attr]
            for mc_id in (w.first, w.second, w.third, w.quiet)
        }
        in_field = session.scalars(
            select(func.count(Measure.id))
            .join(Goal, Goal.id == Measure.goal_id)
            .where(Goal.field_id == w.field_id, Measure.status == "active")
        ).one()
    row = _row(html, f'data-measure="{codes[w.first]}"')
    assert "gefährdet" in row and "20.02.2026" in row and NOTE in row and "keiner offen" in row
    row = _row(html, f'data-measure="{codes[w.second]}"')
    assert "verzögert" in row and "30.01.2026" in row and "Meilenstein nicht erreicht" in row
    assert "15.01.2026: Träger ausgewählt" in row and "weitere offen: 1" in row
    assert "ohne Angabe" in _row(html, f'data-measure="{codes[w.quiet]}"')
    assert html.count("<tr data-measure=") == in_field
    summary = _section(html, '<table class="summary">', "</table>")
    third_in_field = f'data-measure="{codes[w.third]}"' in html
    expected = {
        "im Plan": 0,
        "verzögert": 1,
        "gefährdet": 1,
        "abgeschlossen": 1 if third_in_field else 0,
        "ohne Angabe": in_field - (3 if third_in_field else 2),
    }
    for word, n in expected.items():
        assert f'<tr><td>{word}</td><td class="num">{n}</td></tr>' in summary, (word, summary)
    pdf = client.get(f"/berichte/sachstand?feld={w.field_code}&format=pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "Sachstand nach Handlungsfeld" in text and NOTE in text
    assert "gefährdet" in text and "verzögert" in text and "Träger ausgewählt" in text
    assert (
        "Status by field of action"
        in client.get(f"/berichte/sachstand?feld={w.field_code}&lang=en").text
    )
    missing = client.get("/berichte/sachstand?feld=XYZ")
    assert missing.status_code == 404 and "XYZ" in missing.text

    # A steering account sees the fields its bodies follow, and no other.
    with unit_of_work(rt_sqlite.sessions) as session:
        body = Body(
            organisation_id=w.seed.organisation_id,
            name="Begleitgremium",
            kind=BodyKind.ADVISORY_BOARD.value,
            scope=BodyScope.SOME_FIELDS.value,
        )
        session.add(body)
        session.flush()
        session.add(BodyField(body_id=body.id, field_id=w.field_id))
        session.add(
            BodyMember(
                body_id=body.id,
                name="Petra Vorsitz",
                email=EMAILS[Role.STEERING],
                user_id=w.seed.user_ids[Role.STEERING],
            )
        )
    member = TestClient(create_app())
    login(member, Role.STEERING)
    assert member.get(f"/berichte/sachstand?feld={w.field_code}").status_code == 200
    refused = member.get(f"/berichte/sachstand?feld={w.other_field}")
    assert refused.status_code == 403
    offered = _section(member.get("/berichte").text, 'data-testid="status-sheet"', "</form>")
    assert f'value="{w.field_code}"' in offered and f'value="{w.other_field}"' not in offered

    # The steering view: the badge beside each overdue item.
    clock.advance(timedelta(days=70))  # past every Erstgespräch's deadline: all overdue
    login(client, Role.COORDINATOR)  # the first session has expired by then
    steering = client.get("/steuerung").text
    table = _section(steering, 'class="overdue-list"', "</table>")
    assert '<th scope="col">Stand der Umsetzung</th>' in table
    row = _row(table, f'href="/massnahmen/{w.first}"')
    assert 'data-stand="at_risk">gefährdet</span>' in row and "Stand vom 20.02.2026" in row
    assert "ohne Angabe" in _row(table, f'href="/massnahmen/{w.quiet}"')


def test_status_in_the_meeting_pack_the_annual_report_and_the_cli(
    rt_sqlite: Runtime, tmp_path: Path
) -> None:
    w = _statuses(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as session:
        board = Body(
            organisation_id=w.seed.organisation_id,
            name="Begleitgremium",
            kind=BodyKind.ADVISORY_BOARD.value,
            scope=BodyScope.SOME_FIELDS.value,
        )
        session.add(board)
        session.flush()
        session.add(BodyField(body_id=board.id, field_id=w.field_id))
        meeting = Meeting(body_id=board.id, held_on=date(2026, 3, 18), title="Frühjahrssitzung")
        session.add(meeting)
        session.flush()
        session.add(AgendaItem(meeting_id=meeting.id, position=1, title="Bericht aus dem Feld"))
        first = session.get(MeasureCycle, w.first)
        assert first is not None
        code = first.measure.code
        de = render_pack(pack_of(session, meeting), "de")
        en = render_pack(pack_of(session, meeting), "en")
        # Independently: the measures the report counts, one per measure of the cycle.
        measures = session.scalars(
            select(func.count(func.distinct(MeasureCycle.measure_id))).where(
                MeasureCycle.cycle_id == w.seed.cycle_id
            )
        ).one()
        annual = build_report(
            session,
            organisation_id=w.seed.organisation_id,
            kind="annual",
            year=2026,
            report_date=date(2026, 3, 2),
        ).content.decode()
    section = _section(de, '<section id="stand">', "</section>")
    assert '<a href="#stand">' in de  # in the contents
    assert "<h2>Stand der Umsetzung</h2>" in section
    assert f"Handlungsfeld {w.field_code}:" in section
    assert f"Handlungsfeld {w.other_field}:" not in section  # the board follows one field
    row = _row(section, f'data-measure="{code}"')
    assert "<strong>gefährdet</strong>" in row and "20.02.2026" in row
    assert "verzögert</strong> (Meilenstein nicht erreicht)" in section
    assert "<h2>State of implementation</h2>" in en
    assert "<strong>at risk</strong>" in _row(en, f'data-measure="{code}"')

    table = _section(annual, '<table class="stands">', "</table>")
    assert '<h3 id="stand-der-umsetzung">Stand der Umsetzung</h3>' in annual
    expected = {"im Plan": 0, "verzögert": 1, "gefährdet": 1, "abgeschlossen": 1}
    expected["ohne Angabe"] = measures - 3
    for word, n in expected.items():
        assert f'<tr><td>{word}</td><td class="num">{n}</td></tr>' in table, (word, table)
    assert f'<tr class="total"><td>Gesamt</td><td class="num">{measures}</td></tr>' in table

    # The same sheet from the command line, as of the clock's day; a wrong field is one line.
    out = tmp_path / "sachstand.pdf"
    done = CliRunner().invoke(
        app, ["report", "status-sheet", "--field", w.field_code, "--out", str(out)]
    )
    assert done.exit_code == 0, (done.stdout, done.stderr)
    assert f"sachstand-musterstadt-{w.field_code}-2026-03-02.pdf" in done.stdout
    text = pdf_text(out.read_bytes())
    assert "Sachstand nach Handlungsfeld" in text and NOTE in text and "Stand: 02.03.2026" in text
    wrong = CliRunner().invoke(
        app, ["report", "status-sheet", "--field", "XYZ", "--out", str(tmp_path / "x.pdf")]
    )
    assert wrong.exit_code == 1
    assert wrong.stderr.strip() == "Ein Handlungsfeld mit dem Kürzel 'XYZ' gibt es nicht."
