"""organisations, memberships and district links

Revision ID: 0011
Revises: 0010

New table ``membership`` (a further organisation a user works for, with a role there).
New columns: a user's ``operator`` flag (manages the installation's organisations); an
organisation's ``archived_at`` and ``shares_with_district``; a goal's ``district_goal_id``
(the district goal a town's goal serves); a body member's ``represents_organisation_id``
(the town a member of a district body speaks for); a session's ``organisation_id`` (the
organisation chosen with the switcher). Existing data keeps its meaning: nobody is an
operator, every organisation is active and shares with its district, no link is set, every
session acts for its user's own organisation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "membership",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_membership_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_membership_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("user_id", "organisation_id", name=op.f("pk_membership")),
    )
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_membership_organisation_id"), ["organisation_id"], unique=False
        )

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("operator", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("body_member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("represents_organisation_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_body_member_represents_organisation_id"),
            ["represents_organisation_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_body_member_represents_organisation_id_organisation"),
            "organisation",
            ["represents_organisation_id"],
            ["id"],
        )

    with op.batch_alter_table("goal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("district_goal_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_goal_district_goal_id"), ["district_goal_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_goal_district_goal_id_goal"), "goal", ["district_goal_id"], ["id"]
        )

    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "shares_with_district", sa.Boolean(), server_default=sa.true(), nullable=False
            )
        )

    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_user_session_organisation_id_organisation"),
            "organisation",
            ["organisation_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_user_session_organisation_id_organisation"), type_="foreignkey"
        )
        batch_op.drop_column("organisation_id")

    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("shares_with_district")
        batch_op.drop_column("archived_at")

    with op.batch_alter_table("goal", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_goal_district_goal_id_goal"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_goal_district_goal_id"))
        batch_op.drop_column("district_goal_id")

    with op.batch_alter_table("body_member", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_body_member_represents_organisation_id_organisation"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_body_member_represents_organisation_id"))
        batch_op.drop_column("represents_organisation_id")

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("operator")

    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_membership_organisation_id"))

    op.drop_table("membership")
