"""The stay a move works on: read under its row lock, with the few columns a move needs.

A move reads the stay, its measure with goal, field and contact, its cycle's policy and its
organisation's calendar. Read as ORM objects that was seven entities built per move, the
largest share of a move's time; read as one row of plain values it is a tuple. The values
go into small objects of the same shape as the ORM's (``stay.measure.goal.field.code``), so
the pure timing rules (``workflow.cycles.stay``) and the message drafts
(``notifications.effects``) read either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, Text, bindparam, cast, select
from sqlalchemy.engine import Connection

from workflow.catalogue.models import Contact, Field, Goal, Measure, Organisation
from workflow.cycles.calendar import policy_of_json
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.deadlines import DeadlinePolicy
from workflow.driver_statement import DriverStatement

_STAY: Table = MeasureCycle.__table__  # type: ignore[assignment]
_MEASURE: Table = Measure.__table__  # type: ignore[assignment]
_CONTACT: Table = Contact.__table__  # type: ignore[assignment]
_GOAL: Table = Goal.__table__  # type: ignore[assignment]
_FIELD: Table = Field.__table__  # type: ignore[assignment]
_CYCLE: Table = Cycle.__table__  # type: ignore[assignment]
_ORGANISATION: Table = Organisation.__table__  # type: ignore[assignment]

# The stay's columns a move reads or writes; ``draft`` (the form's unsent answers) is not one.
STAY_COLUMNS = (
    "id",
    "organisation_id",
    "cycle_id",
    "measure_id",
    "state",
    "entered_state_at",
    "due_on",
    "next_action_at",
    "action_step",
    "escalation_level",
    "stay",
    "version",
)


@dataclass(frozen=True, slots=True)
class FieldView:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class GoalView:
    code: str
    name: str
    field: FieldView


@dataclass(frozen=True, slots=True)
class ContactView:
    id: int
    email: str
    name: str
    language: str


@dataclass(frozen=True, slots=True)
class MeasureView:
    id: int
    code: str
    title: str
    status: str
    goal: GoalView
    contact: ContactView | None


@dataclass(slots=True)
class LockedStay:
    """One stay's values as read under the lock; ``workflow.cycles.stay.enter`` changes the
    timing fields in place, as it does on the ORM object."""

    id: int
    organisation_id: int
    cycle_id: int
    measure_id: int
    state: str
    entered_state_at: datetime
    due_on: date | None
    next_action_at: datetime | None
    action_step: int
    escalation_level: int
    stay: int
    version: int
    measure: MeasureView
    policy: DeadlinePolicy
    calendar_state: str
    calendar_timezone: str

    def timing(self) -> dict[str, Any]:
        """The columns a move may change, with their current values."""
        return {key: getattr(self, key) for key in STAY_COLUMNS}


# Built once: composing the joins costs more than the database's answer.
_READ = DriverStatement(
    select(
        *(_STAY.c[key] for key in STAY_COLUMNS),
        _MEASURE.c.code,
        _MEASURE.c.title,
        _MEASURE.c.status,
        _GOAL.c.code,
        _GOAL.c.name,
        _FIELD.c.code,
        _FIELD.c.name,
        _CONTACT.c.id,
        _CONTACT.c.email,
        _CONTACT.c.name,
        _CONTACT.c.language,
        # As text: the parsed policy is kept per text (``policy_of_json``).
        cast(_CYCLE.c.policy, Text),
        _ORGANISATION.c.state,
        _ORGANISATION.c.timezone,
    )
    .select_from(_STAY)
    .join(_MEASURE, _MEASURE.c.id == _STAY.c.measure_id)
    .join(_GOAL, _GOAL.c.id == _MEASURE.c.goal_id)
    .join(_FIELD, _FIELD.c.id == _GOAL.c.field_id)
    .outerjoin(_CONTACT, _CONTACT.c.id == _MEASURE.c.contact_id)
    .join(_CYCLE, _CYCLE.c.id == _STAY.c.cycle_id)
    .join(_ORGANISATION, _ORGANISATION.c.id == _STAY.c.organisation_id)
    .where(_STAY.c.id == bindparam("measure_cycle_id"))
    .with_for_update(of=_STAY)
)


def read_locked(connection: Connection, measure_cycle_id: int) -> LockedStay | None:
    """The stay under its row lock (PostgreSQL; SQLite's writer holds the database), or None."""
    row = _READ.run(connection, {"measure_cycle_id": measure_cycle_id}).first()
    if row is None:
        return None
    n = len(STAY_COLUMNS)
    stay = dict(zip(STAY_COLUMNS, row[:n], strict=True))
    (
        code,
        title,
        status,
        goal_code,
        goal_name,
        field_code,
        field_name,
        contact_id,
        email,
        name,
        language,
        policy,
        calendar_state,
        calendar_timezone,
    ) = row[n:]
    contact = None if contact_id is None else ContactView(contact_id, email, name, language)
    measure = MeasureView(
        id=stay["measure_id"],
        code=code,
        title=title,
        status=status,
        goal=GoalView(goal_code, goal_name, FieldView(field_code, field_name)),
        contact=contact,
    )
    return LockedStay(
        **stay,
        measure=measure,
        policy=policy_of_json(policy),
        calendar_state=calendar_state,
        calendar_timezone=calendar_timezone,
    )
