"""``zielflow meeting add|list|agenda`` on both databases: German output with real plurals,
a refusal is one German line and exit status 1."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from typer.testing import CliRunner, Result

from tests.meeting_world import build
from workflow.bodies.models import Meeting
from workflow.cli import app
from workflow.meetings.models import AgendaItem
from workflow.runtime import Runtime


def zielflow(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def _refused(result: Result) -> str:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines  # one German line, no traceback
    return lines[0]


def test_meeting_add_list_and_agenda(rt: Runtime) -> None:
    w = build(rt)
    out = _ok(
        zielflow(
            "meeting", "add", "steuerungsgruppe", "--date", "2026-05-06", "--time", "17:00",
            "--place", "Rathaus, Raum 101", "--title", "Frühjahrssitzung",
        )
    )  # fmt: skip
    with rt.sessions() as s:
        meeting = s.scalars(select(Meeting).where(Meeting.held_on == date(2026, 5, 6))).one()
        assert (meeting.starts_at, meeting.place, meeting.title) == (
            "17:00",
            "Rathaus, Raum 101",
            "Frühjahrssitzung",
        )
    assert out.strip() == (
        f"Sitzung des Gremiums „Steuerungsgruppe“ am 06.05.2026, 17:00 Uhr, Ort: Rathaus, Raum 101 "
        f"angelegt, Nummer {meeting.id}. Tagesordnung vorschlagen: "
        f"zielflow meeting agenda {meeting.id} --propose"
    )
    listed = _ok(zielflow("meeting", "list", str(w.bodies["all"]))).splitlines()
    assert (
        listed[2]
        == f"{meeting.id}  06.05.2026, 17:00 Uhr  Rathaus, Raum 101  Frühjahrssitzung – 0 Punkte"
    )
    assert listed[0].endswith("15.01.2026 – 0 Punkte") and len(listed) == 4

    empty = _ok(zielflow("meeting", "agenda", str(meeting.id)))
    assert "ist noch nicht festgelegt" in empty
    proposal = _ok(zielflow("meeting", "agenda", str(meeting.id), "--propose")).splitlines()
    assert proposal[0] == "Vorgeschlagen für die Sitzung am 06.05.2026: 10 Punkte"
    assert proposal[1] == "1. Offener Beschluss: Bericht über die Sprachkurse (open)"
    assert proposal[3] == "2. Bericht aus dem Handlungsfeld: AF Bildung und Sprache"
    assert proposal[4].startswith("   1 Maßnahme in Umsetzung")
    with rt.sessions() as s:  # --propose alone stores nothing
        assert s.scalars(select(AgendaItem)).all() == []
    accepted = _ok(zielflow("meeting", "agenda", str(meeting.id), "--propose", "--accept"))
    assert accepted.strip().endswith("Die Tagesordnung ist gespeichert: 10 Punkte.")
    stored = _ok(zielflow("meeting", "agenda", str(meeting.id))).splitlines()
    assert stored[0] == "TOP 1  Offener Beschluss: Bericht über die Sprachkurse (open)"
    assert len(stored) == 10
    assert (
        _ok(zielflow("meeting", "list", "Steuerungsgruppe")).splitlines()[2].endswith("– 10 Punkte")
    )
    # An indicators-only body: one item, in the singular.
    monitoring = _ok(
        zielflow("meeting", "agenda", str(w.meeting["indicators"]), "--propose")
    ).splitlines()
    assert monitoring[0] == "Vorgeschlagen für die Sitzung am 20.03.2026: 2 Punkte"


def test_meeting_commands_refuse_in_one_german_line(rt: Runtime) -> None:
    w = build(rt)
    assert _refused(zielflow("meeting", "add", "Steuerungsgruppe", "--date", "2026-03-20")) == (
        "Das Gremium „Steuerungsgruppe“ hat am 20.03.2026 bereits eine Sitzung."
    )
    assert _refused(zielflow("meeting", "add", "Steuerungsgruppe", "--date", "20.03.2026")) == (
        "--date '20.03.2026' ist kein Datum (JJJJ-MM-TT)."
    )
    assert "keine Uhrzeit" in _refused(
        zielflow("meeting", "add", "Steuerungsgruppe", "--date", "2026-04-01", "--time", "25:00")
    )
    assert _refused(zielflow("meeting", "add", "Rat", "--date", "2026-04-01")) == (
        "Das Gremium „Rat“ gibt es nicht."
    )
    assert _refused(zielflow("meeting", "list", "Rat")) == "Das Gremium „Rat“ gibt es nicht."
    assert _refused(zielflow("meeting", "agenda", "999999")) == "Die Sitzung 999999 gibt es nicht."
    with rt.sessions() as s:
        assert len(s.scalars(select(Meeting)).all()) == 6  # nothing added
    one = _ok(zielflow("meeting", "list", str(w.bodies["indicators"])))
    assert one.strip().endswith("20.03.2026 – 0 Punkte")
    assert _ok(zielflow("meeting", "add", "Monitoringgruppe", "--date", "2026-04-01"))
    with rt.sessions() as s:
        item = AgendaItem(
            meeting_id=w.meeting["indicators"], position=1, kind="other", title="Eins", minutes=""
        )
        s.add(item)
        s.commit()
    listed = _ok(zielflow("meeting", "list", "Monitoringgruppe")).splitlines()
    assert listed[0].endswith("– 1 Punkt")
