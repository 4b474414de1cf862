"""What the status-check pages and the JSON API show of a check: the list with its counts, and
one check's parts (one per contact) with each measure's answer. Reads only, within one
organisation; a check of another organisation is None, exactly like one that does not exist.

The selection stays as stored; the edges word it (api/status_check_text.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from workflow.bodies.models import Body
from workflow.catalogue.models import Contact, Department, Measure
from workflow.milestones.models import Milestone
from workflow.status_checks.models import StatusCheck, StatusCheckItem, StatusCheckRequest

OpenOrClosed = Literal["open", "closed"]


@dataclass(frozen=True)
class CheckRow:
    id: int
    title: str
    selection: dict[str, Any]
    origin: str
    body_name: str
    due_on: date
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    parts: int
    answered_parts: int
    overdue_parts: int
    measures: int
    answered_measures: int

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


@dataclass(frozen=True)
class MilestoneLine:
    milestone_id: int
    text: str
    due_on: date | None
    reached: bool
    new_date: date | None


@dataclass(frozen=True)
class ItemRow:
    id: int
    measure_id: int
    measure_cycle_id: int | None  # the stay asked about: where its page is
    measure_code: str
    measure_title: str
    stand: str
    note: str
    answered_at: datetime | None
    answered_by: str
    revision: int
    milestones: list[MilestoneLine]
    indicator_values: dict[str, Any]


@dataclass(frozen=True)
class PartRow:
    id: int
    contact_id: int
    contact_name: str
    contact_email: str
    department_name: str
    due_on: date
    answered_at: datetime | None
    answered_by: str
    escalation_level: int
    action_step: int
    overdue: bool
    items: list[ItemRow] = field(default_factory=list)


def check_rows(
    session: Session,
    *,
    organisation_id: int,
    today: date,
    state: OpenOrClosed | None = None,
    status_check_id: int | None = None,
) -> list[CheckRow]:
    """The organisation's checks, newest first, each with its counts of parts and answers."""
    parts = (
        select(
            StatusCheckRequest.status_check_id.label("check_id"),
            func.count().label("parts"),
            func.count(StatusCheckRequest.answered_at).label("answered"),
            func.sum(
                case(
                    (
                        (StatusCheckRequest.answered_at.is_(None))
                        & (StatusCheckRequest.due_on < today),
                        1,
                    ),
                    else_=0,
                )
            ).label("overdue"),
        )
        .where(StatusCheckRequest.organisation_id == organisation_id)
        .group_by(StatusCheckRequest.status_check_id)
        .subquery()
    )
    items = (
        select(
            StatusCheckItem.status_check_id.label("check_id"),
            func.count().label("measures"),
            func.count(StatusCheckItem.answered_at).label("answered"),
        )
        .where(StatusCheckItem.organisation_id == organisation_id)
        .group_by(StatusCheckItem.status_check_id)
        .subquery()
    )
    query = (
        select(
            StatusCheck,
            Body.name,
            func.coalesce(parts.c.parts, 0),
            func.coalesce(parts.c.answered, 0),
            func.coalesce(parts.c.overdue, 0),
            func.coalesce(items.c.measures, 0),
            func.coalesce(items.c.answered, 0),
        )
        .outerjoin(Body, Body.id == StatusCheck.body_id)
        .outerjoin(parts, parts.c.check_id == StatusCheck.id)
        .outerjoin(items, items.c.check_id == StatusCheck.id)
        .where(StatusCheck.organisation_id == organisation_id)
        .order_by(StatusCheck.created_at.desc(), StatusCheck.id.desc())
    )
    if state == "open":
        query = query.where(StatusCheck.closed_at.is_(None))
    elif state == "closed":
        query = query.where(StatusCheck.closed_at.is_not(None))
    if status_check_id is not None:
        query = query.where(StatusCheck.id == status_check_id)
    return [
        CheckRow(
            id=check.id,
            title=check.title,
            selection=dict(check.selection or {}),
            origin=check.origin,
            body_name=body_name or "",
            due_on=check.due_on,
            created_at=check.created_at,
            created_by=check.created_by,
            closed_at=check.closed_at,
            parts=int(n_parts),
            answered_parts=int(n_answered),
            overdue_parts=int(n_overdue or 0),
            measures=int(n_measures),
            answered_measures=int(n_answered_measures),
        )
        for check, body_name, n_parts, n_answered, n_overdue, n_measures, n_answered_measures in (
            session.execute(query)
        )
    ]


def check_row(
    session: Session, *, organisation_id: int, status_check_id: int, today: date
) -> CheckRow | None:
    rows = check_rows(
        session, organisation_id=organisation_id, today=today, status_check_id=status_check_id
    )
    return rows[0] if rows else None


def measure_codes(session: Session, rows: list[CheckRow]) -> dict[int, str]:
    """Codes of the hand-picked measures (by id) of these checks, to word their selections."""
    ids = {int(i) for r in rows for i in r.selection.get("measure_ids") or []}
    if not ids:
        return {}
    found = session.execute(select(Measure.id, Measure.code).where(Measure.id.in_(ids))).all()
    return {int(row[0]): str(row[1]) for row in found}


def parts_of(session: Session, *, status_check_id: int, today: date) -> list[PartRow]:
    """Each contact's part of the check, by contact name, with its measures by code."""
    requests = session.execute(
        select(StatusCheckRequest, Contact, Department.name)
        .join(Contact, Contact.id == StatusCheckRequest.contact_id)
        .outerjoin(Department, Department.id == Contact.department_id)
        .where(StatusCheckRequest.status_check_id == status_check_id)
        .order_by(Contact.name, StatusCheckRequest.id)
    )
    parts = [
        PartRow(
            id=r.id,
            contact_id=c.id,
            contact_name=c.name,
            contact_email=c.email,
            department_name=dept or "",
            due_on=r.due_on,
            answered_at=r.answered_at,
            answered_by=r.answered_by,
            escalation_level=r.escalation_level,
            action_step=r.action_step,
            overdue=r.answered_at is None and r.due_on < today,
        )
        for r, c, dept in requests
    ]
    by_part: dict[int, list[ItemRow]] = defaultdict(list)
    items = list(
        session.execute(
            select(StatusCheckItem, Measure.code, Measure.title)
            .join(Measure, Measure.id == StatusCheckItem.measure_id)
            .where(StatusCheckItem.status_check_id == status_check_id)
            .order_by(Measure.code, StatusCheckItem.id)
        )
    )
    named = _milestones(session, [i for i, _, _ in items])
    for item, code, title in items:
        by_part[item.request_id].append(
            ItemRow(
                id=item.id,
                measure_id=item.measure_id,
                measure_cycle_id=item.measure_cycle_id,
                measure_code=code,
                measure_title=title,
                stand=item.stand,
                note=item.note,
                answered_at=item.answered_at,
                answered_by=item.answered_by,
                revision=item.revision,
                milestones=[_line(m, named) for m in item.milestones or []],
                indicator_values=dict(item.indicator_values or {}),
            )
        )
    for part in parts:
        part.items.extend(by_part.get(part.id, []))
    return parts


def _milestones(session: Session, items: list[StatusCheckItem]) -> dict[int, Milestone]:
    ids = {
        int(m["milestone_id"])
        for i in items
        for m in i.milestones or []
        if str(m.get("milestone_id", "")).isdigit()
    }
    if not ids:
        return {}
    return {m.id: m for m in session.scalars(select(Milestone).where(Milestone.id.in_(ids)))}


def _line(answer: dict[str, Any], named: dict[int, Milestone]) -> MilestoneLine:
    raw = str(answer.get("milestone_id", ""))
    ident = int(raw) if raw.isdigit() else 0
    milestone = named.get(ident)
    return MilestoneLine(
        milestone_id=ident,
        text=milestone.text if milestone else "",
        due_on=milestone.planned_on if milestone else None,
        reached=bool(answer.get("reached")),
        new_date=_day(answer.get("new_date")),
    )


def _day(value: object) -> date | None:
    """A stored ISO date; anything else (an older shape) shows as none rather than failing."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
