"""Revision 0016 marks an existing agreement whose stay has milestone rows or is past Umsetzung
and leaves the others to the sweep's catch-up, on SQLite and PostgreSQL, with rows of the
previous head."""

from __future__ import annotations

from sqlalchemy import select, text

from tests.test_migration_upgrade import empty_url, fill
from workflow.cycles.models import TargetAgreement
from workflow.db import make_engine
from workflow.migrate import upgrade

__all__ = ["empty_url"]


def test_the_revision_marks_the_agreements_whose_stay_has_milestone_rows(empty_url: str) -> None:
    upgrade(empty_url, "0015")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            fill(conn)
            # One stay takes every milestone row (other rows point at them, so they stay), the
            # others have none: both kinds are upgraded.
            stays = list(
                conn.execute(text("SELECT measure_cycle_id FROM target_agreement ORDER BY id"))
                .scalars()
                .all()
            )[:3]
            kept = stays[0]
            conn.execute(
                text("UPDATE milestone SET measure_cycle_id = :kept, position = id"),
                {"kept": kept},
            )
            with_rows = set(
                conn.execute(text("SELECT DISTINCT measure_cycle_id FROM milestone")).scalars()
            )
            # Stays before, in and past Umsetzung, whatever the filled rows held.
            for stay, state in zip(
                stays, ("implementation", "target_agreement", "review"), strict=True
            ):
                conn.execute(
                    text("UPDATE measure_cycle SET state = :state WHERE id = :id"),
                    {"state": state, "id": stay},
                )
        assert len(stays) == 3 and with_rows == {kept}
        upgrade(empty_url, "head")
        with engine.connect() as conn:
            marks = dict(
                conn.execute(
                    select(TargetAgreement.measure_cycle_id, TargetAgreement.milestones_synced)
                ).all()
            )
    finally:
        engine.dispose()
    # The first with rows, the second before Umsetzung without, the third past it.
    assert {stay: marks[stay] for stay in stays} == {stay: stay != stays[1] for stay in stays}
