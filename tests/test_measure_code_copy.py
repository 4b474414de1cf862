"""The stay's copy of its measure's code (revision 0014) equals the measure's code after every
kind of write, on both databases: the list sorts and pages by it (workflow/cycles/item_pages.py)."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tests.dashboard_seed import seed
from tests.test_migration_upgrade import empty_url, filled_then_upgraded
from workflow import runtime
from workflow.catalogue.models import Measure
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
