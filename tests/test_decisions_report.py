"""The Jahresbericht lists the year's decisions and recommendations, by body and meeting day."""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.decision_support import EARLIER, LATER, add_meeting, build
from workflow.bodies.models import BodyKind
from workflow.bodies.service import create_body
from workflow.db import unit_of_work
from workflow.decisions import service
from workflow.reports.build import build_report
from workflow.runtime import Runtime


def _section(html: str) -> str:
    return html[html.index('id="gremien"') : html.index('id="methode"')]


def test_the_annual_report_lists_the_years_decisions_by_body(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite)
    with rt_sqlite.sessions() as s:
        empty = build_report(
            s, organisation_id=world.organisation_id, kind="annual", year=2026
        ).content.decode()
    assert "Für 2026 sind keine Beschlüsse oder Empfehlungen der Gremien erfasst." in _section(
        empty
    )
    with unit_of_work(rt_sqlite.sessions) as s:
        record = service.record_decision
        common: dict[str, Any] = {"session": s, "clock": rt_sqlite.clock, "actor": "user:1"}
        record(**common, meeting_id=world.next_meeting_id, kind="resolution",
               text="Zweite Sitzung: <Termin> im Herbst.")  # fmt: skip
        record(**common, meeting_id=world.meeting_id, kind="recommendation",
               addressee="council", text="Dem Rat wird empfohlen, den Bericht anzunehmen.")  # fmt: skip
        board = create_body(
            session=s,
            organisation_id=world.organisation_id,
            name="Begleitgremium",
            kind=BodyKind.ADVISORY_BOARD.value,
        )
        board_meeting = add_meeting(s, board.id, date(2026, 1, 20))
        record(**common, meeting_id=board_meeting.id, kind="resolution",
               action="drop_measure", measure_cycle_id=world.seed.item_ids[0],
               text="Verworfen mangels Träger.")  # fmt: skip
        last_year = add_meeting(s, world.body_id, date(2025, 12, 4))
        record(**common, meeting_id=last_year.id, kind="resolution", text="Aus dem Vorjahr.")
    with rt_sqlite.sessions() as s:
        html = build_report(
            s, organisation_id=world.organisation_id, kind="annual", year=2026
        ).content.decode()
    section = _section(html)
    assert "Beschlüsse und Empfehlungen der Gremien 2026" in html  # in the contents, too
    assert section.index("Begleitgremium (1 Eintrag)") < section.index(
        "Steuerungsgruppe Integration (2 Einträge)"
    )
    assert "Aus dem Vorjahr." not in section
    rows = section.split("<tr>")[1:]
    texts = [r for r in rows if "<td" in r]
    assert "Verworfen mangels Träger." in texts[0] and "erledigt" in texts[0]
    assert "Maßnahme streichen" in texts[0] and "A1.1" in texts[0]
    assert EARLIER.strftime("%d.%m.%Y") in texts[1] and "an: Rat<" in texts[1]
    assert "Empfehlung" in texts[1] and "offen" in texts[1]
    assert LATER.strftime("%d.%m.%Y") in texts[2]
    assert "Zweite Sitzung: &lt;Termin&gt; im Herbst." in texts[2]  # escaped
