"""Writing to the outbox: an insert that a second identical dedupe key turns into nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from notifications.models import Channel, OutboxMessage


@dataclass(frozen=True)
class Draft:
    organisation_id: int
    dedupe_key: str
    kind: str
    recipient_email: str
    recipient_name: str = ""
    language: str = "de"
    measure_cycle_id: int | None = None
    context: dict[str, Any] = field(default_factory=dict)
    channel: Channel = Channel.EMAIL
    not_before: datetime | None = None


def outbox_row(d: Draft, *, now: datetime) -> dict[str, Any]:
    """The pending outbox row of one draft."""
    return {
        "organisation_id": d.organisation_id,
        "dedupe_key": d.dedupe_key,
        "channel": d.channel.value,
        "kind": d.kind,
        "recipient_email": d.recipient_email,
        "recipient_name": d.recipient_name,
        "language": d.language,
        "measure_cycle_id": d.measure_cycle_id,
        "context": d.context,
        "status": "pending",
        "created_at": now,
        "not_before": d.not_before or now,
        "attempts": 0,
        "last_error": "",
    }


def enqueue(session: Session, drafts: Sequence[Draft], *, now: datetime) -> int:
    """Queue ``drafts``; a draft whose dedupe key exists already is dropped. Returns rows added."""
    if not drafts:
        return 0
    rows = [outbox_row(d, now=now) for d in drafts]
    connection = session.connection()
    result = connection.execute(_insert_new(connection.dialect.name), rows)
    return len(result.all())


@cache
def _insert_new(dialect: str) -> Any:
    """The INSERT that skips a known dedupe key, built once per dialect: building it and its
    cache key cost more than SQLite takes to run it."""
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(OutboxMessage).on_conflict_do_nothing(
            index_elements=["dedupe_key"]
        )
    elif dialect == "sqlite":
        stmt = sqlite.insert(OutboxMessage).on_conflict_do_nothing(index_elements=["dedupe_key"])
    else:  # pragma: no cover - only the two supported databases
        stmt = insert(OutboxMessage)
    return stmt.returning(OutboxMessage.id)
