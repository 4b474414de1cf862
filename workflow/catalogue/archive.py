"""Which catalogue rows (fields, goals, departments, contacts) are archived; never deletes a row.

Measures carry their own status column; the other catalogue tables have none, so their
archive lives here, one row per archived record, and list queries leave those out.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflow.db import Base


class ArchivedKind(StrEnum):
    FIELD = "field"
    GOAL = "goal"
    DEPARTMENT = "department"
    CONTACT = "contact"


class ArchivedRecord(Base):
    __tablename__ = "archived_record"
    __table_args__ = (UniqueConstraint("kind", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int]
    archived_at: Mapped[datetime]
    archived_by: Mapped[str] = mapped_column(String(200))


def archived_ids(session: Session, organisation_id: int, kind: ArchivedKind) -> set[int]:
    return set(
        session.scalars(
            select(ArchivedRecord.record_id).where(
                ArchivedRecord.organisation_id == organisation_id,
                ArchivedRecord.kind == kind.value,
            )
        )
    )


def archive(
    session: Session,
    *,
    organisation_id: int,
    kind: ArchivedKind,
    record_id: int,
    now: datetime,
    actor: str,
) -> bool:
    """Archive one record; archiving it again changes nothing. Returns whether it changed."""
    if record_id in archived_ids(session, organisation_id, kind):
        return False
    session.add(
        ArchivedRecord(
            organisation_id=organisation_id,
            kind=kind.value,
            record_id=record_id,
            archived_at=now,
            archived_by=actor,
        )
    )
    session.flush()
    return True


def restore(session: Session, *, organisation_id: int, kind: ArchivedKind, record_id: int) -> bool:
    result = session.execute(
        delete(ArchivedRecord).where(
            ArchivedRecord.organisation_id == organisation_id,
            ArchivedRecord.kind == kind.value,
            ArchivedRecord.record_id == record_id,
        )
    )
    return bool(getattr(result, "rowcount", 0))
