"""meetings and decisions: agenda items, guests, attendance, the decisions register

Revision ID: 0006
Revises: 0005

A meeting gains its start time, place and general minutes. Decision and agenda item point at
each other (an item carries an earlier decision forward; a decision belongs to an item), so
the decision's foreign key to agenda_item is added once both tables exist, and dropped first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meeting_attendance",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_meeting_attendance_meeting_id_meeting")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["body_member.id"],
            name=op.f("fk_meeting_attendance_member_id_body_member"),
        ),
        sa.PrimaryKeyConstraint("meeting_id", "member_id", name=op.f("pk_meeting_attendance")),
    )
    op.create_table(
        "meeting_guest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("present", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_meeting_guest_contact_id_contact")
        ),
        sa.ForeignKeyConstraint(
            ["field_id"], ["field.id"], name=op.f("fk_meeting_guest_field_id_field")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_meeting_guest_meeting_id_meeting")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_guest")),
        sa.UniqueConstraint("meeting_id", "email", name=op.f("uq_meeting_guest_meeting_id_email")),
    )
    with op.batch_alter_table("meeting_guest", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_guest_meeting_id"), ["meeting_id"], unique=False
        )

    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=True),
        sa.Column("measure_cycle_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("action_value", sa.String(length=200), nullable=False),
        sa.Column("addressee", sa.String(length=16), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_by", sa.String(length=200), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_changed_by", sa.String(length=200), nullable=False),
        sa.Column("next_action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("action_step", sa.Integer(), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("stay", sa.Integer(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_decision_contact_id_contact")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_decision_department_id_department")
        ),
        sa.ForeignKeyConstraint(
            ["measure_cycle_id"],
            ["measure_cycle.id"],
            name=op.f("fk_decision_measure_cycle_id_measure_cycle"),
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measure.id"], name=op.f("fk_decision_measure_id_measure")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_decision_meeting_id_meeting")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_decision_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_measure_id"), ["measure_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(
            "ix_decision_next_action_at",
            ["next_action_at"],
            unique=False,
            postgresql_where=sa.text("next_action_at IS NOT NULL"),
            sqlite_where=sa.text("next_action_at IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_decision_organisation_status", ["organisation_id", "status"], unique=False
        )

    op.create_table(
        "agenda_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=True),
        sa.Column("measure_cycle_id", sa.Integer(), nullable=True),
        sa.Column("indicator_id", sa.Integer(), nullable=True),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decision.id"], name=op.f("fk_agenda_item_decision_id_decision")
        ),
        sa.ForeignKeyConstraint(
            ["field_id"], ["field.id"], name=op.f("fk_agenda_item_field_id_field")
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["indicator.id"], name=op.f("fk_agenda_item_indicator_id_indicator")
        ),
        sa.ForeignKeyConstraint(
            ["measure_cycle_id"],
            ["measure_cycle.id"],
            name=op.f("fk_agenda_item_measure_cycle_id_measure_cycle"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_agenda_item_meeting_id_meeting")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_item")),
    )
    with op.batch_alter_table("agenda_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agenda_item_meeting_id"), ["meeting_id"], unique=False)

    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_decision_agenda_item_id_agenda_item", "agenda_item", ["agenda_item_id"], ["id"]
        )

    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("starts_at", sa.String(length=5), nullable=True))
        batch_op.add_column(
            sa.Column("place", sa.String(length=300), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("notes", sa.Text(), server_default="", nullable=False))

    # Each member's digest bookkeeping: bodies no longer share one state of the digest items.
    with op.batch_alter_table("body_member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("digest_period", sa.String(length=40), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("last_digest_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("digest_reported", sa.JSON(), server_default="{}", nullable=False)
        )

    _upgrade_answer_values_and_data_forms()


def _upgrade_answer_values_and_data_forms() -> None:
    """A review's indicator values join the series (tagged with the answer's measure-in-cycle);
    data-delivery forms keep drafts and may be handed on (a hand-over without a cycle)."""
    with op.batch_alter_table("indicator_value", schema=None) as batch_op:
        batch_op.add_column(sa.Column("measure_cycle_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_indicator_value_measure_cycle_id"), ["measure_cycle_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_indicator_value_measure_cycle_id_measure_cycle"),
            "measure_cycle",
            ["measure_cycle_id"],
            ["id"],
        )
    op.create_table(
        "data_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("data_request_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["data_request_id"],
            ["data_request.id"],
            name=op.f("fk_data_draft_data_request_id_data_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_draft")),
        sa.UniqueConstraint("data_request_id", name=op.f("uq_data_draft_data_request_id")),
    )
    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.alter_column("cycle_id", existing_type=sa.Integer(), nullable=True)


def _downgrade_answer_values_and_data_forms() -> None:
    op.execute("DELETE FROM delegation WHERE cycle_id IS NULL")
    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.alter_column("cycle_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("data_draft")
    with op.batch_alter_table("indicator_value", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_indicator_value_measure_cycle_id_measure_cycle"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_indicator_value_measure_cycle_id"))
        batch_op.drop_column("measure_cycle_id")


def downgrade() -> None:
    with op.batch_alter_table("body_member", schema=None) as batch_op:
        batch_op.drop_column("digest_reported")
        batch_op.drop_column("last_digest_at")
        batch_op.drop_column("digest_period")

    _downgrade_answer_values_and_data_forms()
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_column("notes")
        batch_op.drop_column("place")
        batch_op.drop_column("starts_at")

    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_constraint("fk_decision_agenda_item_id_agenda_item", type_="foreignkey")

    with op.batch_alter_table("agenda_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_item_meeting_id"))

    op.drop_table("agenda_item")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_organisation_status")
        batch_op.drop_index(
            "ix_decision_next_action_at",
            postgresql_where=sa.text("next_action_at IS NOT NULL"),
            sqlite_where=sa.text("next_action_at IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_decision_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_decision_measure_id"))
        batch_op.drop_index(batch_op.f("ix_decision_contact_id"))

    op.drop_table("decision")
    with op.batch_alter_table("meeting_guest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_guest_meeting_id"))

    op.drop_table("meeting_guest")
    op.drop_table("meeting_attendance")
