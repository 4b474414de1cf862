"""a mark on the target agreement that its milestone rows are written

Revision ID: 0016
Revises: 0015

The sweep's catch-up of milestone rows (``workflow.milestones.sync.backfill``) looked on every
pass at every agreement of every stay in Umsetzung that lists milestones, to find the few
without rows; an agreement whose milestones carry no readable date was read again on every
pass, for ever. ``target_agreement.milestones_synced`` says that the rows were brought in line
with the agreement's list, or that the catch-up owes it nothing because its stay is past
Umsetzung (a stay reaches Umsetzung only from Zielvereinbarung); a partial index holds the
agreements without the mark, so the catch-up reads only those. An existing agreement is marked
if its stay has milestone rows (what the catch-up took as done until now) or is past Umsetzung;
the others are looked at once by the next sweep.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("target_agreement") as batch:
        batch.add_column(
            sa.Column("milestones_synced", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute(
        sa.text(
            "UPDATE target_agreement SET milestones_synced = :synced WHERE EXISTS "
            "(SELECT 1 FROM milestone WHERE milestone.measure_cycle_id = "
            "target_agreement.measure_cycle_id) OR EXISTS "
            "(SELECT 1 FROM measure_cycle WHERE measure_cycle.id = "
            "target_agreement.measure_cycle_id AND measure_cycle.state NOT IN "
            "('initial_interview', 'target_agreement', 'implementation'))"
        ).bindparams(sa.bindparam("synced", True, type_=sa.Boolean()))
    )
    op.create_index(
        "ix_target_agreement_milestones_unsynced",
        "target_agreement",
        ["id"],
        unique=False,
        postgresql_where=sa.text("NOT milestones_synced"),
        sqlite_where=sa.text("milestones_synced = 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_target_agreement_milestones_unsynced", table_name="target_agreement")
    with op.batch_alter_table("target_agreement") as batch:
        batch.drop_column("milestones_synced")
