"""address bounces: what the mail system reported about an organisation's addresses

Revision ID: 0009
Revises: 0008

One new table, ``address_bounce``, one row per (organisation, address) that a bounce report
named: ``state`` "ok" or "bouncing", the count of temporary failures, when it started
bouncing, the last report and its reason, and when coordinators were told. Existing data is
untouched: no address has a report yet.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "address_bounce",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="ok", nullable=False),
        sa.Column("temporary_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("bouncing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_report_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_address_bounce_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_bounce")),
        sa.UniqueConstraint(
            "organisation_id", "email", name=op.f("uq_address_bounce_organisation_id_email")
        ),
    )
    with op.batch_alter_table("address_bounce", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_address_bounce_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("address_bounce", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_address_bounce_organisation_id"))
    op.drop_table("address_bounce")
