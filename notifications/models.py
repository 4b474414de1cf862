"""The outbox table: one row per thing someone must be told, unique by its dedupe key."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.db import Base


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"
    # Digest items wait for the next digest; once in one, they are "included".
    INCLUDED = "included"


class Channel(StrEnum):
    EMAIL = "email"
    DIGEST = "digest"


class OutboxMessage(Base):
    """A notification waiting to be sent; rows for one recipient are sent as one email."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index(
            "ix_outbox_message_pending",
            "status",
            "not_before",
            postgresql_where=text("status IN ('pending', 'sending')"),
            sqlite_where=text("status IN ('pending', 'sending')"),
        ),
        # Byte-wise, for searches by the key's beginning (``notifications.outbox_search``);
        # SQLite's GLOB uses the unique index of the key itself.
        Index(
            "ix_outbox_message_dedupe_key_pattern",
            "dedupe_key",
            postgresql_ops={"dedupe_key": "varchar_pattern_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(8), default=Channel.EMAIL)
    kind: Mapped[str] = mapped_column(String(32))
    recipient_email: Mapped[str] = mapped_column(String(320))
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(2), default="de")
    measure_cycle_id: Mapped[int | None] = mapped_column(ForeignKey("measure_cycle.id"), index=True)
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING)
    created_at: Mapped[datetime]
    not_before: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]
    # Which claim holds the row while it is being sent; another worker's claim replaces it.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(200), index=True)
    sent_at: Mapped[datetime | None]
