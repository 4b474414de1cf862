"""Reading the status-check start form, and what its select boxes offer; reads, never writes.

A date that cannot be read is a ``StatusCheckRefused`` (``missing_due``, ``invalid_date``) at
the input ``due_on``, so the page shows it there like any refusal of the core. The choices
are the organisation's catalogue without archived rows; the measures are the active ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from workflow.catalogue import archive
from workflow.catalogue.archive import ArchivedKind
from workflow.catalogue.models import Department, Field, Goal, Measure, MeasureStatus
from workflow.reports.german import code_key
from workflow.status_checks.errors import StatusCheckRefused
from workflow.status_checks.selection import Selection

FIELDS = ("field", "goal", "department", "due_on", "title")
MAX_TYPED = 500
TITLE_LIMIT = 200  # StatusCheck.title
MAX_PICKED = 500
# The inputs of the refusals this edge raises itself, beside the core's own table.
_EDGE_FIELDS = {"missing_due": "due_on", "invalid_date": "due_on", "title_too_long": "title"}


@dataclass(frozen=True)
class Typed:
    """What was typed and ticked, as sent, to show again if the start is refused."""

    values: dict[str, str]
    measures: frozenset[str]


def typed_of(form: FormData) -> Typed:
    picked = [str(v)[:12] for v in form.getlist("measures")][:MAX_PICKED]
    return Typed({k: str(form.get(k, ""))[:MAX_TYPED].strip() for k in FIELDS}, frozenset(picked))


def input_of(exc: StatusCheckRefused) -> str | None:
    """The input the refusal is about, to show the sentence beside it."""
    return exc.field or _EDGE_FIELDS.get(exc.code)


def due_of(text: str) -> date:
    """The due date as a date input sends it (JJJJ-MM-TT) or as typed (TT.MM.JJJJ)."""
    text = text.strip()
    if not text:
        raise StatusCheckRefused("missing_due")
    for parse in (date.fromisoformat, lambda t: date(*map(int, reversed(t.split("."))))):
        try:
            day = parse(text)
        except (ValueError, TypeError):
            continue
        if date(1900, 1, 1) <= day <= date(2999, 12, 31):
            return day
    raise StatusCheckRefused("invalid_date", value=text[:20])


def selection_of(typed: Typed) -> Selection:
    """The selection as typed; a ticked value that is no id is refused as an unknown measure."""
    ids: list[int] = []
    for value in sorted(typed.measures):
        if not value.isdigit() or len(value) > 9:
            raise StatusCheckRefused("unknown_measure", value=value)
        ids.append(int(value))
    return Selection(
        field=typed.values["field"],
        goal=typed.values["goal"],
        department=typed.values["department"],
        measure_ids=tuple(ids),
    )


def title_of(typed: Typed) -> str:
    title = " ".join(typed.values["title"].split())
    if len(title) > TITLE_LIMIT:
        raise StatusCheckRefused("title_too_long", limit=TITLE_LIMIT)
    return title


@dataclass(frozen=True)
class Choices:
    fields: list[tuple[str, str]]  # code, name
    goals: list[tuple[str, str]]
    departments: list[str]
    measures: list[tuple[int, str, str, bool]]  # id, code, title, has a contact


def choices(session: Session, organisation_id: int) -> Choices:
    in_org = Field.organisation_id == organisation_id
    fields = [(f.code, f.name) for f in session.scalars(select(Field).where(in_org))]
    gone_goals = archive.archived_ids(session, organisation_id, ArchivedKind.GOAL)
    goals = [
        (g.code, g.name)
        for g in session.scalars(select(Goal).where(Goal.organisation_id == organisation_id))
        if g.id not in gone_goals
    ]
    gone_departments = archive.archived_ids(session, organisation_id, ArchivedKind.DEPARTMENT)
    departments = [
        d.name
        for d in session.scalars(
            select(Department)
            .where(Department.organisation_id == organisation_id)
            .order_by(Department.name)
        )
        if d.id not in gone_departments
    ]
    measures = [
        (m.id, m.code, m.title, m.contact_id is not None)
        for m in session.scalars(
            select(Measure).where(
                Measure.organisation_id == organisation_id,
                Measure.status == MeasureStatus.ACTIVE.value,
            )
        )
    ]
    return Choices(
        fields=sorted(fields, key=lambda f: code_key(f[0])),
        goals=sorted(goals, key=lambda g: code_key(g[0])),
        departments=departments,
        measures=sorted(measures, key=lambda m: code_key(m[1])),
    )
