"""Where measures stand for a meeting: their phase, due date and latest answers; reads only.

A meeting hears about measures in the organisation's newest cycle. Their "latest answers"
are the newest submitted Zielvereinbarung and Review of each measure, from whichever cycle
they came. Which measures a reporting guest speaks for is decided here too. Never writes and
never picks words: the pack and the emails label the raw values in the reader's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Contact, Department, Field, Goal, Measure
from workflow.cycles.models import Cycle, MeasureCycle, Review, TargetAgreement
from workflow.meetings.models import MeetingGuest
from workflow.reports.german import code_key

_A = TypeVar("_A", TargetAgreement, Review)


@dataclass(frozen=True)
class MeasureStatus:
    measure_cycle_id: int
    code: str
    title: str
    goal_code: str
    goal_name: str
    field_code: str
    field_name: str
    department: str
    contact: str
    state: str
    due_on: object  # date | None; typed loosely so templates may format it freely
    agreement: TargetAgreement | None
    agreement_year: int | None
    review: Review | None
    review_year: int | None


@dataclass(frozen=True)
class ReportScope:
    """The measures a guest reports on: a field, narrowed to a department or one contact."""

    field_id: int
    department_id: int | None = None
    contact_id: int | None = None


def newest_cycle(session: Session, organisation_id: int) -> Cycle | None:
    return session.scalars(
        select(Cycle)
        .where(Cycle.organisation_id == organisation_id)
        .order_by(Cycle.year.desc())
        .limit(1)
    ).first()


def report_scope(session: Session, *, organisation_id: int, guest: MeetingGuest) -> ReportScope | None:
    """A head reports on their department's measures in the field, a contact on their own;
    a guest the catalogue does not know reports on the whole field. None: reports on nothing."""
    if guest.field_id is None:
        return None
    contact = session.get(Contact, guest.contact_id) if guest.contact_id else None
    if contact is None:
        contact = session.scalars(
            select(Contact)
            .where(
                Contact.organisation_id == organisation_id,
                func.lower(Contact.email) == guest.email.strip().lower(),
            )
            .order_by(Contact.is_head.desc(), Contact.id)
            .limit(1)
        ).first()
    if contact is None or contact.organisation_id != organisation_id:
        return ReportScope(guest.field_id)
    if contact.is_head and contact.department_id is not None:
        return ReportScope(guest.field_id, department_id=contact.department_id)
    return ReportScope(guest.field_id, contact_id=contact.id)


def field_statuses(
    session: Session, *, organisation_id: int, scope: ReportScope
) -> list[MeasureStatus]:
    """The measures of ``scope`` in the newest cycle, in code order."""
    cycle = newest_cycle(session, organisation_id)
    if cycle is None:
        return []
    query = (
        select(MeasureCycle.id)
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .join(Goal, Goal.id == Measure.goal_id)
        .where(
            MeasureCycle.cycle_id == cycle.id,
            Goal.field_id == scope.field_id,
            Measure.organisation_id == organisation_id,
        )
    )
    if scope.department_id is not None:
        query = query.where(Measure.department_id == scope.department_id)
    if scope.contact_id is not None:
        query = query.where(Measure.contact_id == scope.contact_id)
    return statuses(session, list(session.scalars(query)))


def statuses(session: Session, measure_cycle_ids: Iterable[int]) -> list[MeasureStatus]:
    """Each measure-in-cycle with its latest answers, in code order; a few queries in all."""
    ids = sorted(set(measure_cycle_ids))
    if not ids:
        return []
    rows = session.execute(
        select(MeasureCycle, Department.name, Contact.name)
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .join(Department, Department.id == Measure.department_id)
        .outerjoin(Contact, Contact.id == Measure.contact_id)
        .where(MeasureCycle.id.in_(ids))
    ).all()
    measure_ids = [mc.measure_id for mc, _, _ in rows]
    agreements = _latest(session, TargetAgreement, measure_ids)
    reviews = _latest(session, Review, measure_ids)
    out = []
    for mc, department, contact in rows:
        m = mc.measure
        agreement = agreements.get(m.id)
        review = reviews.get(m.id)
        out.append(
            MeasureStatus(
                measure_cycle_id=mc.id,
                code=m.code,
                title=m.title,
                goal_code=m.goal.code,
                goal_name=m.goal.name,
                field_code=m.goal.field.code,
                field_name=m.goal.field.name,
                department=department,
                contact=contact or "",
                state=mc.state,
                due_on=mc.due_on,
                agreement=agreement[0] if agreement else None,
                agreement_year=agreement[1] if agreement else None,
                review=review[0] if review else None,
                review_year=review[1] if review else None,
            )
        )
    return sorted(out, key=lambda s: (code_key(s.field_code), code_key(s.code)))


def _latest(session: Session, model: type[_A], measure_ids: list[int]) -> dict[int, tuple[_A, int]]:
    """Per measure, the newest submitted answer of ``model`` and its cycle's year."""
    found: dict[int, tuple[_A, int]] = {}
    for answer, measure_id, year in session.execute(
        select(model, MeasureCycle.measure_id, Cycle.year)
        .join(MeasureCycle, MeasureCycle.id == model.measure_cycle_id)
        .join(Cycle, Cycle.id == MeasureCycle.cycle_id)
        .where(MeasureCycle.measure_id.in_(measure_ids), model.submitted_at.is_not(None))
        .order_by(Cycle.year, model.submitted_at, model.id)
    ).all():
        found[measure_id] = (answer, year)  # later ones overwrite earlier ones
    return found


def field_label(session: Session, field_id: int | None) -> tuple[str, str] | None:
    field = session.get(Field, field_id) if field_id else None
    return (field.code, field.name) if field else None
