"""What the monitoring report needs beyond indicators and values: the statistics office's
yearly statement on how the number of residents with a migration background is estimated."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflow.db import Base


class StatisticsStatement(Base):
    """The Stellungnahme der Statistikdienststelle for one report year."""

    __tablename__ = "statistics_statement"
    __table_args__ = (UniqueConstraint("organisation_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    year: Mapped[int]
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(200), default="")
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]
