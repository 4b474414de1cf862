"""The coordinator's edit of one measure from its stay in a cycle ("anpassen" in the Erstgespräch).

Changes the catalogue's measure (title, description, goal, department), checks that every
reference belongs to the organisation and is not archived, and writes one ``measure_edited``
audit event on the stay's timeline with what was before. The measure's code and contact are
not changed here: the code names it in every report, and a new contact needs new form links
(the catalogue API does that). Raises ``MeasureEditRefused`` with a code and the field;
never commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from workflow.catalogue.archive import ArchivedKind, archived_ids
from workflow.catalogue.models import Department, Goal
from workflow.cycles.models import AuditEvent, MeasureCycle

MAX_TITLE = 500
MAX_DESCRIPTION = 20_000
EDITABLE = ("title", "description", "goal_id", "department_id")


@dataclass(frozen=True)
class MeasureChanges:
    title: str
    description: str
    goal_id: int
    department_id: int


@dataclass
class MeasureEditRefused(Exception):
    """``problems``: field → code (title_required, title_too_long, title_one_line,
    description_too_long, goal_unknown, department_unknown, not_found)."""

    problems: dict[str, str] = field(default_factory=dict)


def check(session: Session, organisation_id: int, changes: MeasureChanges) -> dict[str, str]:
    """What is wrong with the changes, by field; empty when they may be saved."""
    problems: dict[str, str] = {}
    title = changes.title.strip()
    if not title:
        problems["title"] = "title_required"
    elif len(title) > MAX_TITLE:
        problems["title"] = "title_too_long"
    elif "\n" in title or "\r" in title:
        problems["title"] = "title_one_line"
    if len(changes.description) > MAX_DESCRIPTION:
        problems["description"] = "description_too_long"
    goal = session.get(Goal, changes.goal_id)
    if (
        goal is None
        or goal.organisation_id != organisation_id
        or goal.id in archived_ids(session, organisation_id, ArchivedKind.GOAL)
    ):
        problems["goal_id"] = "goal_unknown"
    department = session.get(Department, changes.department_id)
    if (
        department is None
        or department.organisation_id != organisation_id
        or department.id in archived_ids(session, organisation_id, ArchivedKind.DEPARTMENT)
    ):
        problems["department_id"] = "department_unknown"
    return problems


def edit_measure(
    *,
    session: Session,
    organisation_id: int,
    measure_cycle_id: int,
    changes: MeasureChanges,
    actor: str,
    now: datetime,
) -> list[str]:
    """Apply the changes to the stay's measure; returns the names of the fields that changed."""
    mc = session.get(MeasureCycle, measure_cycle_id)
    if mc is None or mc.organisation_id != organisation_id:
        raise MeasureEditRefused({"": "not_found"})
    problems = check(session, organisation_id, changes)
    if problems:
        raise MeasureEditRefused(problems)
    measure = mc.measure
    wanted: dict[str, Any] = {
        "title": changes.title.strip(),
        "description": changes.description.strip(),
        "goal_id": changes.goal_id,
        "department_id": changes.department_id,
    }
    changed = sorted(k for k in EDITABLE if getattr(measure, k) != wanted[k])
    if not changed:
        return []
    previous = {k: getattr(measure, k) for k in changed}
    for key in changed:
        setattr(measure, key, wanted[key])
    session.add(
        AuditEvent(
            organisation_id=organisation_id,
            measure_cycle_id=mc.id,
            at=now,
            actor=actor,
            event="measure_edited",
            from_state=mc.state,
            to_state=mc.state,
            payload={"changed": changed, "previous": previous, "measure_id": measure.id},
        )
    )
    session.flush()
    session.expire(measure, ["goal", "department"])  # the joined rows follow the new ids
    return changed
