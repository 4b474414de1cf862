"""What the dashboard pages need to show the latest status: the badges' lookups, the answers list.

The badge itself is the macro ``dashboard/_status_badge.html``; the rule behind it is
``workflow.status_checks.latest``. Reads only; never decides who may see a page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from workflow.reports.answer_values import actor_names
from workflow.status_checks.latest import LatestStatus, answers_of, latest_statuses


@dataclass(frozen=True)
class AnswerLine:
    answered_at: datetime | None
    by: str  # a name, never a bare "contact:<id>"
    stand: str
    note: str


def stands_for(
    session: Session, *, organisation_id: int, today: date, measure_ids: Iterable[int]
) -> dict[int, LatestStatus]:
    """measure id -> latest status, for the rows a page shows (one lookup for all of them)."""
    return latest_statuses(
        session, organisation_id=organisation_id, today=today, measure_ids=measure_ids
    )


def status_context(
    session: Session, *, organisation_id: int, measure_id: int, today: date
) -> dict[str, Any]:
    """The measure page's ``latest_status`` and ``status_answers`` (newest first)."""
    items = answers_of(session, organisation_id=organisation_id, measure_id=measure_id)
    names = actor_names(
        session, organisation_id=organisation_id, actors=[i.answered_by for i in items]
    )
    latest = latest_statuses(
        session, organisation_id=organisation_id, today=today, measure_ids=[measure_id]
    )
    return {
        "latest_status": latest.get(measure_id),
        "status_answers": [
            AnswerLine(i.answered_at, _who(names, i.answered_by), i.stand, i.note) for i in items
        ],
    }


def _who(names: dict[str, str], actor: str) -> str:
    # An erased or foreign person is never shown by bare id; "cli:…" and the like stay.
    if actor in names:
        return names[actor]
    return "–" if not actor or actor.startswith(("user:", "contact:")) else actor
