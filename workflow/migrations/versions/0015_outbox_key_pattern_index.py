"""the outbox's dedupe keys searched by their beginning, on PostgreSQL

Revision ID: 0015
Revises: 0014

Escalation emails count the reminders sent before them, and the meetings' and hand-overs'
ladders look for their earlier rows, by the beginning of the dedupe key (``sc:12:`` …). On
PostgreSQL, LIKE can use an index for that only if the index compares bytes, which the key's
unique index does not under a collation other than C: each such question read the whole
outbox. This index compares bytes (``varchar_pattern_ops``). SQLite needs none: its GLOB uses
the unique index (``notifications.outbox_search``).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_outbox_message_dedupe_key_pattern",
            "outbox_message",
            ["dedupe_key"],
            postgresql_ops={"dedupe_key": "varchar_pattern_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_outbox_message_dedupe_key_pattern", table_name="outbox_message")
