"""organisation settings: the office's name and postal address

Revision ID: 0004
Revises: 0003

Existing organisations get the office name every email used to hard-code and no address.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OFFICE_NAME = "Koordinierungsstelle Integration"


def upgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "office_name", sa.String(length=200), nullable=False, server_default=OFFICE_NAME
            )
        )
        batch_op.add_column(
            sa.Column("office_address", sa.String(length=500), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("office_address")
        batch_op.drop_column("office_name")
