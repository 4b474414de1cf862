"""The stay's copy of its measure's code (revision 0014) equals the measure's code after every
kind of write, on both databases: the list sorts and pages by it (workflow/cycles/item_pages.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.dashboard_seed import seed
from tests.test_migration_upgrade import empty_url, filled_then_upgraded
from workflow import runtime
from workflow.catalogue.models import Measure
from workflow.cli import app
from workflow.cycles import code_copy
from workflow.cycles.models import MeasureCycle
from workflow.db import unit_of_work

__all__ = ["empty_url"]


def _mismatched(session: Session) -> list[tuple[int, str | None, str]]:
    """(stay id, its copy, the measure's code) of every stay whose copy differs."""
    return [
        (row.id, row.measure_code, row.code)
        for row in session.execute(
            select(MeasureCycle.id, MeasureCycle.measure_code, Measure.code)
            .join(Measure, Measure.id == MeasureCycle.measure_id)
            .where(MeasureCycle.measure_code.is_distinct_from(Measure.code))
        )
    ]


def test_the_revision_copies_the_code_of_the_stays_already_there(empty_url: str) -> None:
    with filled_then_upgraded(empty_url, "0013") as (engine, counts), Session(engine) as session:
        assert counts["measure_cycle"]
        assert _mismatched(session) == []
        unset = select(func.count()).where(MeasureCycle.measure_code.is_(None))
        assert session.scalar(unset) == 0


def test_the_copy_follows_every_write(rt: runtime.Runtime) -> None:
    s = seed(rt)  # the cycle's stays are written by open_cycle through the ORM
    with unit_of_work(rt.sessions) as session:
        stays = session.scalars(
            select(MeasureCycle).where(MeasureCycle.cycle_id == s.cycle_id)
        ).all()
        assert stays and all(mc.measure_code for mc in stays)
        assert _mismatched(session) == []
        first, second = stays[0], stays[1]
        first_code = session.get_one(Measure, first.measure_id).code
        assert first.measure_code == first_code
        second_measure = second.measure_id

    # A code written directly is replaced by the measure's.
    with unit_of_work(rt.sessions) as session:
        session.execute(
            update(MeasureCycle).where(MeasureCycle.id == first.id).values(measure_code="ZZ-FALSCH")
        )
    with unit_of_work(rt.sessions) as session:
        assert session.get_one(MeasureCycle, first.id).measure_code == first_code

    # A measure's new code reaches all its stays; a stay moved to another measure takes that one's.
    with unit_of_work(rt.sessions) as session:
        session.execute(update(Measure).where(Measure.id == second_measure).values(code="Z-9.9"))
    with unit_of_work(rt.sessions) as session:
        assert session.get_one(MeasureCycle, second.id).measure_code == "Z-9.9"
        assert _mismatched(session) == []
    with unit_of_work(rt.sessions) as session:
        template = session.get_one(Measure, second_measure)
        copied = {c.key: getattr(template, c.key) for c in Measure.__table__.columns}
        other = Measure(**{**copied, "id": None, "code": "Y-1.1"})
        session.add(other)
        session.flush()
        session.execute(
            update(MeasureCycle).where(MeasureCycle.id == second.id).values(measure_id=other.id)
        )
    with unit_of_work(rt.sessions) as session:
        assert session.get_one(MeasureCycle, second.id).measure_code == "Y-1.1"
        assert _mismatched(session) == []


def _without_triggers(session: Session) -> None:
    """What a data-only restore with triggers disabled leaves: writes that bypass the copy."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE measure_cycle DISABLE TRIGGER measure_code_stay"))
        session.execute(text("ALTER TABLE measure DISABLE TRIGGER measure_code_measure"))
    else:
        for name in ("measure_code_stay_update", "measure_code_measure"):
            session.execute(text(f"DROP TRIGGER {name}"))


def test_db_check_names_a_stale_copy_and_repair_takes_the_measures_code(
    rt: runtime.Runtime, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZIELFLOW_DATABASE_URL", database_url)
    runner, s = CliRunner(), seed(rt)
    before = runner.invoke(app, ["db", "check"]).output
    assert "Die Maßnahmen im Zyklus führen den Code ihrer Maßnahme." in before
    with unit_of_work(rt.sessions) as session:
        _without_triggers(session)
        first, second = sorted(s.item_ids)[:2]
        session.execute(
            update(MeasureCycle).where(MeasureCycle.id == first).values(measure_code="ZZ-ALT")
        )
        moved = session.get_one(MeasureCycle, second).measure_id
        session.execute(update(Measure).where(Measure.id == moved).values(code="Z-NEU"))
        first_code = session.scalar(
            select(Measure.code).join(MeasureCycle).where(MeasureCycle.id == first)
        )
        stale = _mismatched(session)
    assert {row[0] for row in stale} >= {first, second}
    found = runner.invoke(app, ["db", "check"])
    assert found.exit_code == 1
    assert f"{len(stale)} Maßnahme" in found.output and "führ" in found.output
    assert f"ID {first}: geführt ZZ-ALT, Code der Maßnahme {first_code}" in found.output
    assert f"ID {second}: geführt" in found.output and "Code der Maßnahme Z-NEU" in found.output
    assert "zielflow db check --repair" in found.output
    assert "Die Zählungen des Verfahrensstands stimmen" in found.output  # the counts are fine
    repaired = runner.invoke(app, ["db", "check", "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert "richtiggestellt" in repaired.output
    with unit_of_work(rt.sessions) as session:
        assert _mismatched(session) == []
        assert session.get_one(MeasureCycle, second).measure_code == "Z-NEU"
    again = runner.invoke(app, ["db", "check"])
    assert again.exit_code == 0 and "führen den Code ihrer Maßnahme" in again.output


def test_db_check_in_english_names_the_stale_copies(
    rt_sqlite: runtime.Runtime, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = seed(rt_sqlite)
    monkeypatch.setenv("ZIELFLOW_DATABASE_URL", sqlite_url)
    with unit_of_work(rt_sqlite.sessions) as session:
        _without_triggers(session)
        session.execute(update(MeasureCycle).values(measure_code="ZZ-ALT"))
    monkeypatch.setattr(code_copy, "SHOWN", 3)  # the seed has fewer stays than the real limit
    assert len(s.item_ids) > 3
    found = CliRunner().invoke(app, ["--lang", "en", "db", "check"])
    assert found.exit_code == 1
    assert f"{len(s.item_ids)} measures in the cycle do not carry the code" in found.output
    assert found.output.count(": kept ZZ-ALT, code of the measure ") == 3
    assert f"and {len(s.item_ids) - 3} more" in found.output
    assert "sets the differences right from the measures" in found.output
