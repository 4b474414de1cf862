"""The state of implementation by field and goal: each active measure with its latest status.

What the meeting pack's section "Stand der Umsetzung" and the per-field status sheet
(Sachstand nach Handlungsfeld) list: per field, per goal (by rank, then code), each active
measure with its latest status (``latest_statuses``), the newest answer's short text and
its next open milestone. Reads only, in a fixed number of queries; values stay raw codes
and dates, the caller picks the words; never reads the clock (``today`` is passed in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Department, Field, Goal, Measure, MeasureStatus
from workflow.milestones.models import Milestone, MilestoneStatus
from workflow.reports.german import code_key
from workflow.status_checks.latest import LatestStatus, latest_statuses, newest_answers

NOTE_CHARS = 280  # the short text a sheet shows of an answer's note


@dataclass(frozen=True)
class NextMilestone:
    text: str
    due_on: date


@dataclass(frozen=True)
class MeasureLine:
    measure_id: int
    code: str
    title: str
    department: str
    status: LatestStatus | None
    note: str  # the newest answer's text, shortened
    next_milestone: NextMilestone | None
    open_milestones: int


@dataclass(frozen=True)
class GoalBlock:
    code: str
    name: str
    rank: int
    measures: tuple[MeasureLine, ...]


@dataclass(frozen=True)
class FieldBlock:
    id: int
    code: str
    name: str
    goals: tuple[GoalBlock, ...]

    @property
    def measures(self) -> tuple[MeasureLine, ...]:
        return tuple(m for g in self.goals for m in g.measures)


def short(text: str, limit: int = NOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def status_by_field(
    session: Session, *, organisation_id: int, today: date, field_id: int | None = None
) -> list[FieldBlock]:
    """Fields in code order (only ``field_id`` if given); a field without measures is kept."""
    fields_query = select(Field).where(Field.organisation_id == organisation_id)
    if field_id is not None:
        fields_query = fields_query.where(Field.id == field_id)
    fields = sorted(session.scalars(fields_query), key=lambda f: code_key(f.code))
    if not fields:
        return []
    rows = session.execute(
        select(Measure, Goal, Department.name)
        .join(Goal, Goal.id == Measure.goal_id)
        .join(Department, Department.id == Measure.department_id)
        .where(
            Measure.organisation_id == organisation_id,
            Measure.status == MeasureStatus.ACTIVE.value,
            Goal.field_id.in_([f.id for f in fields]),
        )
    ).all()
    ids = [m.id for m, _, _ in rows]
    statuses = latest_statuses(
        session, organisation_id=organisation_id, today=today, measure_ids=ids
    )
    answers = newest_answers(session, organisation_id=organisation_id, measure_ids=ids)
    open_ones = _open_milestones(session, ids)
    goals: dict[int, tuple[Goal, list[MeasureLine]]] = {}
    for measure, goal, department in rows:
        pending = open_ones.get(measure.id, [])
        item = answers.get(measure.id)
        line = MeasureLine(
            measure_id=measure.id,
            code=measure.code,
            title=measure.title,
            department=department,
            status=statuses.get(measure.id),
            note=short(item.note) if item else "",
            next_milestone=NextMilestone(pending[0].text, pending[0].due_on) if pending else None,
            open_milestones=len(pending),
        )
        goals.setdefault(goal.id, (goal, []))[1].append(line)
    out = []
    for f in fields:
        blocks = sorted(
            (g for g in goals.values() if g[0].field_id == f.id),
            key=lambda g: (g[0].rank, code_key(g[0].code)),
        )
        out.append(
            FieldBlock(
                id=f.id,
                code=f.code,
                name=f.name,
                goals=tuple(
                    GoalBlock(
                        g.code,
                        g.name,
                        g.rank,
                        tuple(sorted(lines, key=lambda m: code_key(m.code))),
                    )
                    for g, lines in blocks
                ),
            )
        )
    return out


def _open_milestones(session: Session, measure_ids: list[int]) -> dict[int, list[Milestone]]:
    if not measure_ids:
        return {}
    out: dict[int, list[Milestone]] = {}
    for row in session.scalars(
        select(Milestone)
        .where(
            Milestone.measure_id.in_(measure_ids),
            Milestone.status == MilestoneStatus.OPEN.value,
        )
        .order_by(Milestone.due_on, Milestone.id)
    ):
        out.setdefault(row.measure_id, []).append(row)
    return out
