"""the measure's code on its stays

Revision ID: 0014
Revises: 0013

The measures-in-cycle list sorts by the measure's code. With the code only on ``measure``,
a page had to join every matching stay to its measure before it could sort them (a page of
a thousand matching stays read ten thousand measures), and no index could serve the order.
``measure_cycle.measure_code`` now holds a copy, kept by triggers on PostgreSQL and SQLite
alike: set when a stay is written or moved to another measure (a value written directly is
overwritten), and changed on every stay when a measure's code changes. The existing stays
get theirs from this revision. The index on (organisation_id, measure_code, id) serves the
list's order and its keyset walk within one organisation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_STATEMENTS = (
    """
CREATE FUNCTION measure_code_of_stay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT code INTO NEW.measure_code FROM measure WHERE id = NEW.measure_id;
    RETURN NEW;
END $$
""",
    "CREATE TRIGGER measure_code_stay BEFORE INSERT OR UPDATE OF measure_id, measure_code "
    "ON measure_cycle FOR EACH ROW EXECUTE FUNCTION measure_code_of_stay()",
    """
CREATE FUNCTION measure_code_of_measure() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE measure_cycle SET measure_code = NEW.code WHERE measure_id = NEW.id;
    RETURN NULL;
END $$
""",
    "CREATE TRIGGER measure_code_measure AFTER UPDATE OF code ON measure FOR EACH ROW "
    "WHEN (OLD.code IS DISTINCT FROM NEW.code) EXECUTE FUNCTION measure_code_of_measure()",
)

# SQLite's triggers cannot change the row being written: they correct it right after.
_SQLITE_COPY = (
    "UPDATE measure_cycle SET measure_code = (SELECT code FROM measure "
    "WHERE measure.id = NEW.measure_id) WHERE id = NEW.id;"
)
SQLITE_STATEMENTS = (
    f"CREATE TRIGGER measure_code_stay_insert AFTER INSERT ON measure_cycle BEGIN {_SQLITE_COPY} END",
    "CREATE TRIGGER measure_code_stay_update AFTER UPDATE OF measure_id, measure_code "
    "ON measure_cycle WHEN NEW.measure_code IS NOT "
    "(SELECT code FROM measure WHERE measure.id = NEW.measure_id) "
    f"BEGIN {_SQLITE_COPY} END",
    "CREATE TRIGGER measure_code_measure AFTER UPDATE OF code ON measure "
    "WHEN OLD.code IS NOT NEW.code "
    "BEGIN UPDATE measure_cycle SET measure_code = NEW.code WHERE measure_id = NEW.id; END",
)


def upgrade() -> None:
    op.add_column("measure_cycle", sa.Column("measure_code", sa.String(length=32), nullable=True))
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(
            "UPDATE measure_cycle SET measure_code = measure.code "
            "FROM measure WHERE measure.id = measure_cycle.measure_id"
        )
    else:
        op.execute(
            "UPDATE measure_cycle SET measure_code = "
            "(SELECT code FROM measure WHERE measure.id = measure_cycle.measure_id)"
        )
    for statement in PG_STATEMENTS if postgres else SQLITE_STATEMENTS:
        op.execute(statement)
    op.create_index(
        "ix_measure_cycle_org_code",
        "measure_cycle",
        ["organisation_id", "measure_code", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_measure_cycle_org_code", table_name="measure_cycle")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS measure_code_stay ON measure_cycle")
        op.execute("DROP TRIGGER IF EXISTS measure_code_measure ON measure")
        op.execute("DROP FUNCTION IF EXISTS measure_code_of_stay()")
        op.execute("DROP FUNCTION IF EXISTS measure_code_of_measure()")
    else:
        for name in (
            "measure_code_stay_insert",
            "measure_code_stay_update",
            "measure_code_measure",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("measure_cycle") as batch:
        batch.drop_column("measure_code")
