"""pipeline counts kept by triggers

Revision ID: 0012
Revises: 0011

New tables ``pipeline_count`` (stays counted by cycle, goal, department, state, escalation
level and deadline) and ``pipeline_count_change`` (the -1/+1 rows not yet folded into it).
Triggers on ``measure_cycle`` (insert, delete, and an update of its cycle, measure, state,
level or deadline) and on ``measure`` (a new goal or department) append those rows in the
same transaction as the change, on PostgreSQL and SQLite alike. The counts of the existing
stays are filled in by this revision. A partial index on the stays in Neuplanung serves the
sweep's carry-forward pass.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "cycle_id, goal_id, department_id, state, escalation_level, due_by"
WATCHED = ("cycle_id", "measure_id", "state", "escalation_level", "due_on")

# PostgreSQL: one function for the stay's triggers. The measure row is read FOR SHARE, so a
# concurrent change of the measure's goal or department waits for this transaction (or this
# one for it) and the two never count the same stay under different keys.
PG_FUNCTIONS = """
CREATE FUNCTION pipeline_count_of_stay() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    g integer;
    d integer;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        SELECT goal_id, department_id INTO g, d FROM measure WHERE id = OLD.measure_id FOR SHARE;
        INSERT INTO pipeline_count_change (KEY, n) VALUES (
            OLD.cycle_id, g, d, OLD.state, OLD.escalation_level,
            COALESCE(OLD.due_on, DATE '9999-12-31'), -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF TG_OP = 'INSERT' OR NEW.measure_id <> OLD.measure_id THEN
            SELECT goal_id, department_id INTO g, d
            FROM measure WHERE id = NEW.measure_id FOR SHARE;
        END IF;
        INSERT INTO pipeline_count_change (KEY, n) VALUES (
            NEW.cycle_id, g, d, NEW.state, NEW.escalation_level,
            COALESCE(NEW.due_on, DATE '9999-12-31'), 1);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION pipeline_count_of_measure() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pipeline_count_change (KEY, n)
    SELECT mc.cycle_id, OLD.goal_id, OLD.department_id, mc.state, mc.escalation_level,
           COALESCE(mc.due_on, DATE '9999-12-31'), -1
    FROM measure_cycle mc WHERE mc.measure_id = NEW.id
    UNION ALL
    SELECT mc.cycle_id, NEW.goal_id, NEW.department_id, mc.state, mc.escalation_level,
           COALESCE(mc.due_on, DATE '9999-12-31'), 1
    FROM measure_cycle mc WHERE mc.measure_id = NEW.id;
    RETURN NULL;
END $$;
""".replace("KEY", KEY)


def _changed(old: str, new: str, columns: Sequence[str], differ: str = "IS DISTINCT FROM") -> str:
    return " OR ".join(f"{old}.{c} {differ} {new}.{c}" for c in columns)


PG_TRIGGERS = [
    "CREATE TRIGGER pipeline_count_stay_insert AFTER INSERT ON measure_cycle "
    "FOR EACH ROW EXECUTE FUNCTION pipeline_count_of_stay()",
    "CREATE TRIGGER pipeline_count_stay_delete AFTER DELETE ON measure_cycle "
    "FOR EACH ROW EXECUTE FUNCTION pipeline_count_of_stay()",
    f"CREATE TRIGGER pipeline_count_stay_update AFTER UPDATE OF {', '.join(WATCHED)} "
    f"ON measure_cycle FOR EACH ROW WHEN ({_changed('OLD', 'NEW', WATCHED)}) "
    "EXECUTE FUNCTION pipeline_count_of_stay()",
    "CREATE TRIGGER pipeline_count_measure_update AFTER UPDATE OF goal_id, department_id "
    f"ON measure FOR EACH ROW WHEN ({_changed('OLD', 'NEW', ('goal_id', 'department_id'))}) "
    "EXECUTE FUNCTION pipeline_count_of_measure()",
]


def _sqlite_row(row: str, sign: int) -> str:
    """The change row of stay ``row`` (OLD or NEW), its goal and department read from measure."""
    return (
        f"INSERT INTO pipeline_count_change ({KEY}, n) "
        f"SELECT {row}.cycle_id, m.goal_id, m.department_id, {row}.state, "
        f"{row}.escalation_level, COALESCE({row}.due_on, '9999-12-31'), {sign} "
        f"FROM measure m WHERE m.id = {row}.measure_id;"
    )


def _sqlite_measure_rows(row: str, sign: int) -> str:
    return (
        f"INSERT INTO pipeline_count_change ({KEY}, n) "
        f"SELECT mc.cycle_id, {row}.goal_id, {row}.department_id, mc.state, "
        f"mc.escalation_level, COALESCE(mc.due_on, '9999-12-31'), {sign} "
        f"FROM measure_cycle mc WHERE mc.measure_id = NEW.id;"
    )


SQLITE_TRIGGERS = [
    "CREATE TRIGGER pipeline_count_stay_insert AFTER INSERT ON measure_cycle "
    f"BEGIN {_sqlite_row('NEW', 1)} END",
    "CREATE TRIGGER pipeline_count_stay_delete AFTER DELETE ON measure_cycle "
    f"BEGIN {_sqlite_row('OLD', -1)} END",
    f"CREATE TRIGGER pipeline_count_stay_update AFTER UPDATE OF {', '.join(WATCHED)} "
    f"ON measure_cycle FOR EACH ROW WHEN {_changed('OLD', 'NEW', WATCHED, 'IS NOT')} "
    f"BEGIN {_sqlite_row('OLD', -1)} {_sqlite_row('NEW', 1)} END",
    "CREATE TRIGGER pipeline_count_measure_update AFTER UPDATE OF goal_id, department_id "
    f"ON measure FOR EACH ROW WHEN {_changed('OLD', 'NEW', ('goal_id', 'department_id'), 'IS NOT')} "
    f"BEGIN {_sqlite_measure_rows('OLD', -1)} {_sqlite_measure_rows('NEW', 1)} END",
]


def upgrade() -> None:
    op.create_table(
        "pipeline_count",
        sa.Column("cycle_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("goal_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("department_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("escalation_level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("due_by", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "cycle_id",
            "goal_id",
            "department_id",
            "state",
            "escalation_level",
            "due_by",
            name=op.f("pk_pipeline_count"),
        ),
    )
    op.create_table(
        "pipeline_count_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("due_by", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_count_change")),
    )
    op.create_index(
        "ix_measure_cycle_replanning",
        "measure_cycle",
        ["id"],
        unique=False,
        postgresql_where=sa.text("state = 'replanning'"),
        sqlite_where=sa.text("state = 'replanning'"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    no_deadline = "DATE '9999-12-31'" if postgres else "'9999-12-31'"
    op.execute(
        f"INSERT INTO pipeline_count ({KEY}, n) "
        f"SELECT mc.cycle_id, m.goal_id, m.department_id, mc.state, mc.escalation_level, "
        f"COALESCE(mc.due_on, {no_deadline}), count(*) "
        "FROM measure_cycle mc JOIN measure m ON m.id = mc.measure_id "
        f"GROUP BY mc.cycle_id, m.goal_id, m.department_id, mc.state, mc.escalation_level, "
        f"COALESCE(mc.due_on, {no_deadline})"
    )
    if postgres:
        op.execute(PG_FUNCTIONS)
    for statement in PG_TRIGGERS if postgres else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS pipeline_count_measure_update ON measure"
        if op.get_bind().dialect.name == "postgresql"
        else "DROP TRIGGER IF EXISTS pipeline_count_measure_update"
    )
    for name in ("insert", "delete", "update"):
        op.execute(
            f"DROP TRIGGER IF EXISTS pipeline_count_stay_{name}"
            + (" ON measure_cycle" if op.get_bind().dialect.name == "postgresql" else "")
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS pipeline_count_of_stay()")
        op.execute("DROP FUNCTION IF EXISTS pipeline_count_of_measure()")
    op.drop_index("ix_measure_cycle_replanning", table_name="measure_cycle")
    op.drop_table("pipeline_count_change")
    op.drop_table("pipeline_count")
