"""salutations and terms: how a person is addressed, which words an organisation uses

Revision ID: 0008
Revises: 0007

Contacts and body members gain ``salutation`` ("frau", "herr" or "" for not stated); an
organisation gains ``unit_term`` ("fachbereich" or "amt") and ``council_term`` ("" for the
default of its kind). Existing rows keep today's behaviour: no salutation ("Guten Tag,"),
"Fachbereich", and the council named by the organisation's kind.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("salutation", sa.String(length=8), nullable=False, server_default="")
        )
    with op.batch_alter_table("body_member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("salutation", sa.String(length=8), nullable=False, server_default="")
        )
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "unit_term", sa.String(length=16), nullable=False, server_default="fachbereich"
            )
        )
        batch_op.add_column(
            sa.Column("council_term", sa.String(length=16), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("council_term")
        batch_op.drop_column("unit_term")
    with op.batch_alter_table("body_member", schema=None) as batch_op:
        batch_op.drop_column("salutation")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("salutation")
