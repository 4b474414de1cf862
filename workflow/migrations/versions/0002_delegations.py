"""delegations: hand-overs of a contact's form, and an organisation's own mail domains

Revision ID: 0002
Revises: 0001

Existing delegated form links keep working (their tokens carry ``delegated_from_contact_id``);
they have no ``delegation`` row, and every revocation of the owner's scope ends them too.
``organisation.mail_domains`` starts empty: the domains of the organisation's contacts apply.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delegation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("owner_contact_id", sa.Integer(), nullable=False),
        sa.Column("delegate_contact_id", sa.Integer(), nullable=True),
        sa.Column("delegate_email", sa.String(length=320), nullable=False),
        sa.Column("delegate_name", sa.String(length=200), nullable=False),
        sa.Column("by_contact_id", sa.Integer(), nullable=False),
        sa.Column("form_token_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'revoked')", name=op.f("ck_delegation_status")
        ),
        sa.ForeignKeyConstraint(
            ["by_contact_id"], ["contact.id"], name=op.f("fk_delegation_by_contact_id_contact")
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycle.id"], name=op.f("fk_delegation_cycle_id_cycle")
        ),
        sa.ForeignKeyConstraint(
            ["delegate_contact_id"],
            ["contact.id"],
            name=op.f("fk_delegation_delegate_contact_id_contact"),
        ),
        sa.ForeignKeyConstraint(
            ["form_token_id"],
            ["form_token.id"],
            name=op.f("fk_delegation_form_token_id_form_token"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_delegation_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_contact_id"],
            ["contact.id"],
            name=op.f("fk_delegation_owner_contact_id_contact"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegation")),
    )
    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delegation_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_delegation_delegate_contact_id"), ["delegate_contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_delegation_form_token_id"), ["form_token_id"], unique=False
        )
        batch_op.create_index(
            "ix_delegation_organisation_created", ["organisation_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_delegation_owner_contact_id"), ["owner_contact_id"], unique=False
        )

    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mail_domains", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("mail_domains")

    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delegation_owner_contact_id"))
        batch_op.drop_index("ix_delegation_organisation_created")
        batch_op.drop_index(batch_op.f("ix_delegation_form_token_id"))
        batch_op.drop_index(batch_op.f("ix_delegation_delegate_contact_id"))
        batch_op.drop_index(batch_op.f("ix_delegation_cycle_id"))

    op.drop_table("delegation")
