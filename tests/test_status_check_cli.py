"""``zielflow status-check``: start with its counts (contacts, measures, left out for lack of a
contact), close, and refusals as one German line with exit status 1. In-process (typer's
runner) against the test's runtime, on SQLite: the rules themselves are tested elsewhere."""

from __future__ import annotations

from sqlalchemy import select, update
from typer.testing import CliRunner, Result

from tests.dashboard_seed import seed
from workflow.catalogue.models import Measure
from workflow.cli import app
from workflow.db import unit_of_work
from workflow.runtime import Runtime
from workflow.status_checks.models import StatusCheck


def zielflow(*args: str) -> Result:
    return CliRunner().invoke(app, ["status-check", *args, "--org", "musterstadt"])


def _ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout.strip()


def _refused(result: Result) -> str:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines  # one German line, no traceback
    return lines[0]


def test_start_counts_contacts_measures_and_those_left_out_then_close(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as s:
        s.execute(update(Measure).where(Measure.code == "B1.3").values(contact_id=None))
    out = _ok(
        zielflow("--cycle", "2026", "--goal", "B1", "--due", "2026-03-31", "--title", "Kurse")
    )
    with rt_sqlite.sessions() as s:
        (check,) = s.scalars(select(StatusCheck))
        assert check.title == "Kurse" and check.created_by.startswith("cli")
    assert out == (
        f"Sachstandsabfrage Nr. {check.id} gestartet (Frist 31.03.2026): 2 Ansprechpersonen "
        "zu 2 Maßnahmen angeschrieben; 1 Maßnahme ohne Ansprechperson nicht abgefragt."
    )
    picked = _ok(zielflow("--cycle", "2026", "--measure", "A1.1", "--due", "2026-03-31"))
    assert "1 Ansprechperson zu 1 Maßnahme angeschrieben." in picked

    closed = _ok(zielflow("--close", str(check.id)))
    assert closed.startswith(f"Sachstandsabfrage Nr. {check.id} abgeschlossen")
    with rt_sqlite.sessions() as s:
        assert s.get(StatusCheck, check.id).closed_at is not None  # type: ignore[union-attr]
    again = _refused(zielflow("--close", str(check.id)))
    assert again == "Diese Sachstandsabfrage ist bereits abgeschlossen."


def test_refusals_are_one_german_line_and_exit_status_1(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite)
    assert _refused(zielflow("--cycle", "2026", "--field", "Q", "--due", "2026-03-31")) == (
        "Das Handlungsfeld „Q“ gibt es nicht."
    )
    past = _refused(zielflow("--cycle", "2026", "--due", "2026-03-01"))
    assert past.startswith("Die Frist darf nicht in der Vergangenheit liegen.")
    assert "Zyklus" in _refused(zielflow("--cycle", "2031", "--due", "2026-03-31"))
    assert _refused(zielflow("--cycle", "2026", "--due", "31.03.2026")) == (
        "--due '31.03.2026' ist kein Datum (JJJJ-MM-TT)."
    )
    assert "--cycle JAHR" in _refused(zielflow("--due", "2026-03-31"))
    assert _refused(zielflow("--close", "999")) == "Diese Sachstandsabfrage gibt es nicht."
    with rt_sqlite.sessions() as s:
        assert s.scalars(select(StatusCheck)).all() == []
