"""partial index on the stays in Umsetzung

Revision ID: 0013
Revises: 0012

The sweep's scheduled status checks look, per cycle, for the stays in Umsetzung that began
early enough for a month of the policy: a partial index on (cycle_id, entered_state_at) of
just those stays finds them without reading the stays in other phases.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_measure_cycle_implementation",
        "measure_cycle",
        ["cycle_id", "entered_state_at"],
        unique=False,
        postgresql_where=sa.text("state = 'implementation'"),
        sqlite_where=sa.text("state = 'implementation'"),
    )


def downgrade() -> None:
    op.drop_index("ix_measure_cycle_implementation", table_name="measure_cycle")
