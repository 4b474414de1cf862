"""Which measures a status check asks about: by field, goal, department or picked by hand.

Owns the reading of a ``Selection`` into measures of one organisation and the refusal of a
name that does not exist. Never writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Department, Field, Goal, Measure, MeasureStatus
from workflow.status_checks.errors import StatusCheckRefused


@dataclass(frozen=True)
class Selection:
    """Empty parts do not narrow; given parts all apply. ``department`` is the department's
    name (or its id as digits); hand-picked codes and ids together form one list."""

    field: str = ""
    goal: str = ""
    department: str = ""
    measure_codes: tuple[str, ...] = ()
    measure_ids: tuple[int, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """How it was asked, for ``StatusCheck.selection``: only the parts given."""
        out: dict[str, Any] = {}
        for key in ("field", "goal", "department"):
            if value := getattr(self, key).strip():
                out[key] = value
        if self.measure_codes:
            out["measure_codes"] = list(self.measure_codes)
        if self.measure_ids:
            out["measure_ids"] = list(self.measure_ids)
        return out


def measures_for(session: Session, *, organisation_id: int, selection: Selection) -> list[Measure]:
    """Active measures with a contact that the selection names, ordered by code; every
    active measure with a contact if the selection is empty."""
    return [
        m for m in candidates(session, organisation_id=organisation_id, selection=selection)
        if m.contact_id is not None
    ]  # fmt: skip


def candidates(session: Session, *, organisation_id: int, selection: Selection) -> list[Measure]:
    """Like ``measures_for``, with the measures that have no contact (the caller counts them)."""
    query = _narrowed(session, organisation_id, selection)
    return list(session.scalars(query.order_by(Measure.code)))


def _narrowed(session: Session, organisation_id: int, selection: Selection) -> Select[Any]:
    query = select(Measure).where(
        Measure.organisation_id == organisation_id,
        Measure.status == MeasureStatus.ACTIVE.value,
    )
    if code := selection.field.strip():
        field_id = session.scalar(
            select(Field.id).where(Field.organisation_id == organisation_id, Field.code == code)
        )
        if field_id is None:
            raise StatusCheckRefused("unknown_field", value=code)
        query = query.join(Goal, Goal.id == Measure.goal_id).where(Goal.field_id == field_id)
    if code := selection.goal.strip():
        goal_id = session.scalar(
            select(Goal.id).where(Goal.organisation_id == organisation_id, Goal.code == code)
        )
        if goal_id is None:
            raise StatusCheckRefused("unknown_goal", value=code)
        query = query.where(Measure.goal_id == goal_id)
    if name := selection.department.strip():
        query = query.where(Measure.department_id == _department_id(session, organisation_id, name))
    if selection.measure_codes or selection.measure_ids:
        query = query.where(Measure.id.in_(_picked(session, organisation_id, selection)))
    return query


def _department_id(session: Session, organisation_id: int, name: str) -> int:
    in_org = Department.organisation_id == organisation_id
    found = session.scalar(select(Department.id).where(in_org, Department.name == name))
    if found is None and name.isdigit():
        found = session.scalar(select(Department.id).where(in_org, Department.id == int(name)))
    if found is None:
        raise StatusCheckRefused("unknown_department", value=name)
    return found


def _picked(session: Session, organisation_id: int, selection: Selection) -> set[int]:
    """The ids of the hand-picked measures; a code or id the organisation lacks is refused
    (an inactive measure is known, and simply not asked)."""
    in_org = Measure.organisation_id == organisation_id
    codes = {c.strip() for c in selection.measure_codes if c.strip()}
    by_code: dict[str, int] = {
        code: ident
        for code, ident in session.execute(
            select(Measure.code, Measure.id).where(in_org, Measure.code.in_(codes))
        )
    }
    if missing := sorted(codes - set(by_code)):
        raise StatusCheckRefused("unknown_measure", value=missing[0])
    ids = set(selection.measure_ids)
    known = set(session.scalars(select(Measure.id).where(in_org, Measure.id.in_(ids))))
    if unknown := sorted(ids - known):
        raise StatusCheckRefused("unknown_measure", value=str(unknown[0]))
    return set(by_code.values()) | known
