"""status checks, milestones, council paper: Sachstandsabfragen, milestone rows, Mitteilungsvorlage

Revision ID: 0007
Revises: 0006

New tables only, plus two nullable columns on form_token (the one status-check part or
milestone a link opens); existing rows need no data.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "status_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("selection", sa.JSON(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["body_id"], ["body.id"], name=op.f("fk_status_check_body_id_body")
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycle.id"], name=op.f("fk_status_check_cycle_id_cycle")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_status_check_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_check")),
        sa.UniqueConstraint(
            "organisation_id", "dedupe_key", name=op.f("uq_status_check_organisation_id_dedupe_key")
        ),
    )
    with op.batch_alter_table("status_check", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_check_body_id"), ["body_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_status_check_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_status_check_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "status_check_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("status_check_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("next_action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("action_step", sa.Integer(), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("stay", sa.Integer(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("draft_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("draft_updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_status_check_request_contact_id_contact")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_status_check_request_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["status_check_id"],
            ["status_check.id"],
            name=op.f("fk_status_check_request_status_check_id_status_check"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_check_request")),
        sa.UniqueConstraint(
            "status_check_id",
            "contact_id",
            name=op.f("uq_status_check_request_status_check_id_contact_id"),
        ),
    )
    with op.batch_alter_table("status_check_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_check_request_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            "ix_status_check_request_next_action_at",
            ["next_action_at"],
            unique=False,
            postgresql_where=sa.text("next_action_at IS NOT NULL"),
            sqlite_where=sa.text("next_action_at IS NOT NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_status_check_request_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_status_check_request_status_check_id"), ["status_check_id"], unique=False
        )

    op.create_table(
        "milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("measure_cycle_id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reached_on", sa.Date(), nullable=True),
        sa.Column("moves", sa.Integer(), nullable=False),
        sa.Column("asked", sa.Integer(), nullable=False),
        sa.Column("next_action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_cycle_id"],
            ["measure_cycle.id"],
            name=op.f("fk_milestone_measure_cycle_id_measure_cycle"),
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measure.id"], name=op.f("fk_milestone_measure_id_measure")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_milestone_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone")),
        sa.UniqueConstraint(
            "measure_cycle_id", "position", name=op.f("uq_milestone_measure_cycle_id_position")
        ),
    )
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_milestone_measure_cycle_id"), ["measure_cycle_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_milestone_measure_id"), ["measure_id"], unique=False)
        batch_op.create_index(
            "ix_milestone_next_action_at",
            ["next_action_at"],
            unique=False,
            postgresql_where=sa.text("next_action_at IS NOT NULL"),
            sqlite_where=sa.text("next_action_at IS NOT NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_milestone_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "status_check_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("status_check_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("measure_cycle_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_month", sa.Integer(), nullable=True),
        sa.Column("stand", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("milestones", sa.JSON(), nullable=False),
        sa.Column("indicator_values", sa.JSON(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_cycle_id"],
            ["measure_cycle.id"],
            name=op.f("fk_status_check_item_measure_cycle_id_measure_cycle"),
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measure.id"], name=op.f("fk_status_check_item_measure_id_measure")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_status_check_item_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["status_check_request.id"],
            name=op.f("fk_status_check_item_request_id_status_check_request"),
        ),
        sa.ForeignKeyConstraint(
            ["status_check_id"],
            ["status_check.id"],
            name=op.f("fk_status_check_item_status_check_id_status_check"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_check_item")),
        sa.UniqueConstraint(
            "measure_cycle_id",
            "scheduled_month",
            name=op.f("uq_status_check_item_measure_cycle_id_scheduled_month"),
        ),
        sa.UniqueConstraint(
            "request_id", "measure_id", name=op.f("uq_status_check_item_request_id_measure_id")
        ),
    )
    with op.batch_alter_table("status_check_item", schema=None) as batch_op:
        batch_op.create_index(
            "ix_status_check_item_measure_answered", ["measure_id", "answered_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_status_check_item_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_status_check_item_request_id"), ["request_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_status_check_item_status_check_id"), ["status_check_id"], unique=False
        )

    with op.batch_alter_table("form_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_check_request_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("milestone_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_form_token_milestone_id"), ["milestone_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_form_token_status_check_request_id"),
            ["status_check_request_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_form_token_status_check_request_id_status_check_request"),
            "status_check_request",
            ["status_check_request_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_form_token_milestone_id_milestone"),
            "milestone",
            ["milestone_id"],
            ["id"],
        )
    op.create_table(
        "council_paper",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("consultation", sa.JSON(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("introduction", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycle.id"], name=op.f("fk_council_paper_cycle_id_cycle")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_council_paper_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_council_paper")),
        sa.UniqueConstraint("cycle_id", name=op.f("uq_council_paper_cycle_id")),
    )
    with op.batch_alter_table("council_paper", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_council_paper_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "council_field_text",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycle.id"], name=op.f("fk_council_field_text_cycle_id_cycle")
        ),
        sa.ForeignKeyConstraint(
            ["field_id"], ["field.id"], name=op.f("fk_council_field_text_field_id_field")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_council_field_text_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_council_field_text")),
        sa.UniqueConstraint(
            "cycle_id", "field_id", name=op.f("uq_council_field_text_cycle_id_field_id")
        ),
    )
    with op.batch_alter_table("council_field_text", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_council_field_text_cycle_id"), ["cycle_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_council_field_text_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("council_field_text", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_council_field_text_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_council_field_text_cycle_id"))

    op.drop_table("council_field_text")
    with op.batch_alter_table("council_paper", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_council_paper_organisation_id"))

    op.drop_table("council_paper")
    with op.batch_alter_table("form_token", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_form_token_milestone_id_milestone"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_form_token_status_check_request_id_status_check_request"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_form_token_status_check_request_id"))
        batch_op.drop_index(batch_op.f("ix_form_token_milestone_id"))
        batch_op.drop_column("milestone_id")
        batch_op.drop_column("status_check_request_id")

    with op.batch_alter_table("status_check_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_check_item_status_check_id"))
        batch_op.drop_index(batch_op.f("ix_status_check_item_request_id"))
        batch_op.drop_index(batch_op.f("ix_status_check_item_organisation_id"))
        batch_op.drop_index("ix_status_check_item_measure_answered")

    op.drop_table("status_check_item")
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_organisation_id"))
        batch_op.drop_index(
            "ix_milestone_next_action_at",
            postgresql_where=sa.text("next_action_at IS NOT NULL"),
            sqlite_where=sa.text("next_action_at IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_milestone_measure_id"))
        batch_op.drop_index(batch_op.f("ix_milestone_measure_cycle_id"))

    op.drop_table("milestone")
    with op.batch_alter_table("status_check_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_check_request_status_check_id"))
        batch_op.drop_index(batch_op.f("ix_status_check_request_organisation_id"))
        batch_op.drop_index(
            "ix_status_check_request_next_action_at",
            postgresql_where=sa.text("next_action_at IS NOT NULL"),
            sqlite_where=sa.text("next_action_at IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_status_check_request_contact_id"))

    op.drop_table("status_check_request")
    with op.batch_alter_table("status_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_check_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_status_check_cycle_id"))
        batch_op.drop_index(batch_op.f("ix_status_check_body_id"))

    op.drop_table("status_check")
