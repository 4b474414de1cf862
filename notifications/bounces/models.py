"""The state of one email address of an organisation as its bounce reports describe it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflow.db import Base


class AddressState(StrEnum):
    OK = "ok"
    # A permanent failure was reported (or temporary ones reached the threshold): nothing more
    # is sent to the address until it is corrected or cleared.
    BOUNCING = "bouncing"


class AddressBounce(Base):
    """Kept per (organisation, address), not per contact: members and users share addresses."""

    __tablename__ = "address_bounce"
    __table_args__ = (UniqueConstraint("organisation_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))  # lower case
    state: Mapped[str] = mapped_column(String(16), default=AddressState.OK, server_default="ok")
    temporary_count: Mapped[int] = mapped_column(default=0, server_default="0")
    bouncing_since: Mapped[datetime | None]
    last_report_at: Mapped[datetime | None]
    # The status code and the diagnostic of the last report, e.g. "5.1.1 user unknown".
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # When the coordinators were told that the address bounces; None: not yet.
    notified_at: Mapped[datetime | None]
