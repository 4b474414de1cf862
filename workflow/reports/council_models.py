"""The council paper's stored parts: written once per cycle, printed as often as needed.

A Mitteilungsvorlage to the Gemeinderat or Kreistag carries a few settings of its own
(subject, public or not, the bodies it passes and when, attachments) and one text block per
field with the body's assessment. Everything else in the paper is computed from the cycle.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflow.db import Base


class CouncilPaper(Base):
    __tablename__ = "council_paper"
    __table_args__ = (UniqueConstraint("cycle_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"))
    subject: Mapped[str] = mapped_column(String(300), default="")
    public: Mapped[bool] = mapped_column(default=True)
    # Beratungsfolge: [{"body": "Integrationsrat", "date": "2027-03-04"}, …] in order.
    consultation: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    # Anlagen: titles, in order.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    # Sachverhalt's opening, written by the office; the figures follow it.
    introduction: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(200))


class CouncilFieldText(Base):
    """The body's assessment of one field in one cycle's paper."""

    __tablename__ = "council_field_text"
    __table_args__ = (UniqueConstraint("cycle_id", "field_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("field.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(200))
