"""Reading the decisions pages' forms, and what their choices offer; reads, never writes.

A value that cannot be read is a ``DecisionError`` (``invalid_number``, ``invalid_date``)
naming the input, so the page shows it at that input like any other refusal. The choices
leave out archived rows: nobody should be addressed through a department that is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from workflow.catalogue import archive
from workflow.catalogue.archive import ArchivedKind
from workflow.catalogue.models import Contact, Department, Goal, Measure
from workflow.cycles.models import MeasureCycle
from workflow.cycles.queries import latest_cycle
from workflow.decisions import checks
from workflow.decisions.errors import DecisionError
from workflow.meetings.models import AgendaItem
from workflow.reports.german import code_key

MAX_TYPED = 5000
RECORD_FIELDS = (
    "agenda_item_id",
    "kind",
    "text",
    "action",
    "measure_cycle_id",
    "action_value",
    "addressee",
    "department_id",
    "contact_id",
    "due_on",
)
APPLY_FIELDS = ("title", "description", "department_id", "goal_id", "contact_id")


def typed_values(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    """What was typed, cut to a sane length, to show again if the entry is refused."""
    return {k: str(form.get(k, ""))[:MAX_TYPED] for k in names}


def whole_number(text: str, name: str) -> int | None:
    """An optional id from a select; refused with ``invalid_number`` at input ``name``."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise DecisionError("invalid_number", value=text[:20], input=name)
    return int(text)


def day_of(text: str, name: str) -> date | None:
    """An optional date, as a date input sends it (JJJJ-MM-TT) or as typed (TT.MM.JJJJ)."""
    text = text.strip()
    if not text:
        return None
    for parse in (date.fromisoformat, lambda t: date(*map(int, reversed(t.split("."))))):
        try:
            day = parse(text)
        except (ValueError, TypeError):
            continue
        if date(1900, 1, 1) <= day <= date(2999, 12, 31):
            return day
    raise DecisionError("invalid_date", value=text[:20], input=name)


@dataclass(frozen=True)
class Choice:
    value: int
    text: str


def agenda_choices(session: Session, meeting_id: int) -> list[Choice]:
    items = session.scalars(
        select(AgendaItem).where(AgendaItem.meeting_id == meeting_id).order_by(AgendaItem.position)
    )
    return [Choice(i.id, f"TOP {i.position}: {i.title}") for i in items]


def measure_choices(session: Session, organisation_id: int) -> list[tuple[Choice, str]]:
    """The measures of the newest cycle (value: their stay in it), with their phase."""
    cycle = latest_cycle(session, organisation_id)
    if cycle is None:
        return []
    rows = session.execute(
        select(MeasureCycle.id, MeasureCycle.state, Measure.code, Measure.title)
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .where(MeasureCycle.cycle_id == cycle.id)
    ).all()
    out = [(Choice(i, f"{code} {title}"), state) for i, state, code, title in rows]
    return sorted(out, key=lambda c: code_key(c[0].text.split(" ", 1)[0]))


def latest_stay_id(session: Session, measure_id: int) -> int | None:
    """The measure's stay in its newest cycle: where its page (/massnahmen/{id}) is."""
    stay = checks.latest_stay(session, measure_id)
    return stay.id if stay else None


def department_choices(session: Session, organisation_id: int) -> list[Choice]:
    gone = archive.archived_ids(session, organisation_id, ArchivedKind.DEPARTMENT)
    rows = session.scalars(
        select(Department)
        .where(Department.organisation_id == organisation_id)
        .order_by(Department.name)
    )
    return [Choice(d.id, d.name) for d in rows if d.id not in gone]


def contact_choices(session: Session, organisation_id: int) -> list[Choice]:
    gone = archive.archived_ids(session, organisation_id, ArchivedKind.CONTACT)
    rows = session.execute(
        select(Contact.id, Contact.name, Contact.email, Department.name)
        .outerjoin(Department, Department.id == Contact.department_id)
        .where(Contact.organisation_id == organisation_id)
        .order_by(Contact.name, Contact.email)
    ).all()
    return [
        Choice(i, f"{name} ({dept})" if dept else f"{name} <{email}>")
        for i, name, email, dept in rows
        if i not in gone
    ]


def goal_choices(session: Session, organisation_id: int) -> list[Goal]:
    gone = archive.archived_ids(session, organisation_id, ArchivedKind.GOAL)
    rows = session.scalars(select(Goal).where(Goal.organisation_id == organisation_id))
    return sorted((g for g in rows if g.id not in gone), key=lambda g: code_key(g.code))
