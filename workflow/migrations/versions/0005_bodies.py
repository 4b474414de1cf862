"""bodies: steering_group, steering_member, steering_meeting become body, body_member, meeting

Revision ID: 0005
Revises: 0004

Every steering group becomes a body of kind steering_group (scope all fields, weekly digest,
two meetings a year); every steering member a current member with role member, language de,
no stated representation and no known start date; every steering meeting a meeting. Ids are
kept, so digest dedupe keys (``digest:<body id>:…``) stay valid.

The tables are rebuilt rather than altered in place: SQLite can neither rename a constraint
nor rebuild a table that others reference while foreign keys are enforced inside the
migration's transaction, so the new tables are created, filled from the old ones, and the
old ones dropped (children before parents), the same on both databases.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "body",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), server_default="steering_group", nullable=False),
        sa.Column("scope", sa.String(length=16), server_default="all", nullable=False),
        sa.Column("digest_cadence", sa.String(length=16), server_default="weekly", nullable=False),
        sa.Column("meetings_per_year", sa.Integer(), server_default="2", nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_body_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_body")),
        sa.UniqueConstraint("organisation_id", "name", name=op.f("uq_body_organisation_id_name")),
    )
    with op.batch_alter_table("body", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_body_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "body_field",
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["body_id"], ["body.id"], name=op.f("fk_body_field_body_id_body")),
        sa.ForeignKeyConstraint(
            ["field_id"], ["field.id"], name=op.f("fk_body_field_field_id_field")
        ),
        sa.PrimaryKeyConstraint("body_id", "field_id", name=op.f("pk_body_field")),
    )
    with op.batch_alter_table("body_field", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_body_field_field_id"), ["field_id"], unique=False)

    op.create_table(
        "body_composition_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("represents", sa.String(length=32), nullable=False),
        sa.Column("minimum", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["body_id"], ["body.id"], name=op.f("fk_body_composition_rule_body_id_body")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_body_composition_rule")),
        sa.UniqueConstraint(
            "body_id", "represents", name=op.f("uq_body_composition_rule_body_id_represents")
        ),
    )
    with op.batch_alter_table("body_composition_rule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_body_composition_rule_body_id"), ["body_id"], unique=False
        )

    op.create_table(
        "body_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("language", sa.String(length=2), server_default="de", nullable=False),
        sa.Column("represents", sa.String(length=32), nullable=True),
        sa.Column("represents_name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("role", sa.String(length=16), server_default="member", nullable=False),
        sa.Column("deputy_of_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("joined_on", sa.Date(), nullable=True),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["body_id"], ["body.id"], name=op.f("fk_body_member_body_id_body")),
        sa.ForeignKeyConstraint(
            ["deputy_of_id"],
            ["body_member.id"],
            name=op.f("fk_body_member_deputy_of_id_body_member"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_body_member_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_body_member")),
    )
    with op.batch_alter_table("body_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_body_member_body_id"), ["body_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_body_member_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            "ix_body_member_open_email",
            ["body_id", "email"],
            unique=True,
            postgresql_where=sa.text("left_on IS NULL"),
            sqlite_where=sa.text("left_on IS NULL"),
        )

    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["body_id"], ["body.id"], name=op.f("fk_meeting_body_id_body")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
        sa.UniqueConstraint("body_id", "held_on", name=op.f("uq_meeting_body_id_held_on")),
    )
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_body_id"), ["body_id"], unique=False)

    op.execute(
        "INSERT INTO body (id, organisation_id, name) "
        "SELECT id, organisation_id, name FROM steering_group"
    )
    op.execute(
        "INSERT INTO body_member (id, body_id, name, email) "
        "SELECT id, steering_group_id, name, email FROM steering_member"
    )
    op.execute(
        "INSERT INTO meeting (id, body_id, held_on, title) "
        "SELECT id, steering_group_id, held_on, title FROM steering_meeting"
    )
    _continue_ids("body", "body_member", "meeting")

    with op.batch_alter_table("steering_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steering_member_steering_group_id"))
    op.drop_table("steering_member")
    with op.batch_alter_table("steering_meeting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steering_meeting_steering_group_id"))
    op.drop_table("steering_meeting")
    with op.batch_alter_table("steering_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steering_group_organisation_id"))
    op.drop_table("steering_group")


def _continue_ids(*tables: str) -> None:
    """Copied ids bypass PostgreSQL's sequences; move each on past the largest id."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )


def downgrade() -> None:
    """Back to steering groups: every body, its open memberships, its meetings.

    Kinds, scopes, rules, deputies, links to accounts and ended memberships are lost.
    """
    op.create_table(
        "steering_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_steering_group_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steering_group")),
        sa.UniqueConstraint(
            "organisation_id", "name", name=op.f("uq_steering_group_organisation_id_name")
        ),
    )
    with op.batch_alter_table("steering_group", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_steering_group_organisation_id"), ["organisation_id"], unique=False
        )
    op.create_table(
        "steering_meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("steering_group_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["steering_group_id"],
            ["steering_group.id"],
            name=op.f("fk_steering_meeting_steering_group_id_steering_group"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steering_meeting")),
        sa.UniqueConstraint(
            "steering_group_id",
            "held_on",
            name=op.f("uq_steering_meeting_steering_group_id_held_on"),
        ),
    )
    with op.batch_alter_table("steering_meeting", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_steering_meeting_steering_group_id"), ["steering_group_id"], unique=False
        )
    op.create_table(
        "steering_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("steering_group_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["steering_group_id"],
            ["steering_group.id"],
            name=op.f("fk_steering_member_steering_group_id_steering_group"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steering_member")),
        sa.UniqueConstraint(
            "steering_group_id", "email", name=op.f("uq_steering_member_steering_group_id_email")
        ),
    )
    with op.batch_alter_table("steering_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_steering_member_steering_group_id"), ["steering_group_id"], unique=False
        )

    op.execute(
        "INSERT INTO steering_group (id, organisation_id, name) "
        "SELECT id, organisation_id, name FROM body"
    )
    op.execute(
        "INSERT INTO steering_member (id, steering_group_id, name, email) "
        "SELECT id, body_id, name, email FROM body_member m WHERE m.left_on IS NULL"
    )
    op.execute(
        "INSERT INTO steering_meeting (id, steering_group_id, held_on, title) "
        "SELECT id, body_id, held_on, title FROM meeting"
    )
    _continue_ids("steering_group", "steering_member", "steering_meeting")

    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_body_id"))
    op.drop_table("meeting")
    with op.batch_alter_table("body_member", schema=None) as batch_op:
        batch_op.drop_index("ix_body_member_open_email")
        batch_op.drop_index(batch_op.f("ix_body_member_user_id"))
        batch_op.drop_index(batch_op.f("ix_body_member_body_id"))
    op.drop_table("body_member")
    with op.batch_alter_table("body_composition_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_body_composition_rule_body_id"))
    op.drop_table("body_composition_rule")
    with op.batch_alter_table("body_field", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_body_field_field_id"))
    op.drop_table("body_field")
    with op.batch_alter_table("body", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_body_organisation_id"))
    op.drop_table("body")
