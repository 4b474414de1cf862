"""Migrations build the schema from empty on both databases, and it matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from workflow.db import make_engine
from workflow.migrate import compare_type, include_object_on
from workflow.models import Base


def test_upgrade_from_empty_matches_the_models(database_url: str) -> None:
    # database_url is already migrated from empty by the template fixture.
    engine = make_engine(database_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "compare_type": compare_type,
                "include_object": include_object_on(conn.dialect.name),
            },
        )
        diff = compare_metadata(ctx, Base.metadata)
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert diff == [], diff
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_due_index_is_partial_on_next_action_at(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        indexes = {ix["name"]: ix for ix in inspect(conn).get_indexes("measure_cycle")}
    engine.dispose()
    assert indexes["ix_measure_cycle_next_action_at"]["column_names"] == ["next_action_at"]
