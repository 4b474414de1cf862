"""Read-only dashboard pages: pipeline, overdue list, departments, the steering group's view."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.dashboard.common import PHASES, page
from api.dashboard.filters import OptionalId, OptionalRank, OptionalYear
from api.dashboard.heads import heads_context
from api.dashboard.status_badges import stands_for
from api.deps import Reader, SessionDep, can_act, organisation_of, today_of
from notifications.models import OutboxMessage
from workflow.accounts import User
from workflow.catalogue.models import Department, Field
from workflow.cycles import queries
from workflow.cycles.models import Cycle
from workflow.readiness import check as setup_warnings

router = APIRouter(include_in_schema=False)


def _cycle(session: Session, user: User, year: int | None) -> Cycle | None:
    return queries.latest_cycle(session, user.organisation_id, year)


def _years(session: Session, user: User) -> list[int]:
    return list(
        session.scalars(
            select(Cycle.year)
            .where(Cycle.organisation_id == user.organisation_id)
            .order_by(Cycle.year.desc())
        )
    )


@router.get("/pipeline", response_class=HTMLResponse)
def pipeline(
    request: Request,
    user: Reader,
    session: SessionDep,
    cycle: OptionalYear = None,
    field_id: OptionalId = None,
    department_id: OptionalId = None,
    rank: OptionalRank = None,
) -> HTMLResponse:
    the_cycle = _cycle(session, user, cycle)
    context: dict[str, Any] = {
        "cycle": the_cycle,
        "years": _years(session, user),
        "phases": PHASES,
        "filters": {"field_id": field_id, "department_id": department_id, "rank": rank},
        "fields": session.scalars(
            select(Field).where(Field.organisation_id == user.organisation_id).order_by(Field.code)
        ).all(),
        "departments": session.scalars(
            select(Department)
            .where(Department.organisation_id == user.organisation_id)
            .order_by(Department.name)
        ).all(),
    }
    if the_cycle is not None:
        today = today_of(organisation_of(session, user))
        f = queries.ItemFilter(field_id=field_id, department_id=department_id, goal_rank=rank)
        rows, _ = queries.list_items(session, cycle_id=the_cycle.id, today=today, f=f)
        context["counts"] = queries.pipeline_counts(session, cycle=the_cycle, today=today, f=f)
        context["columns"] = queries.group_by_state(rows)
        context["stands"] = stands_for(
            session,
            organisation_id=user.organisation_id,
            today=today,
            measure_ids=[r.measure_id for r in rows],
        )
    if can_act(user):  # the start page names what still keeps escalations from anyone
        context["setup_warnings"] = setup_warnings(
            session,
            organisation_id=user.organisation_id,
            today=today_of(organisation_of(session, user)),
        )
    return page(request, "dashboard/pipeline.html", user, **context)


def _overdue(
    session: Session, user: User, year: int | None
) -> tuple[Cycle | None, list[queries.OverdueItem]]:
    the_cycle = _cycle(session, user, year)
    if the_cycle is None:
        return None, []
    today = today_of(organisation_of(session, user))
    return the_cycle, queries.overdue_items(session, cycle_id=the_cycle.id, today=today)


@router.get("/ueberfaellig", response_class=HTMLResponse)
def overdue(
    request: Request,
    user: Reader,
    session: SessionDep,
    cycle: OptionalYear = None,
) -> HTMLResponse:
    the_cycle, items = _overdue(session, user, cycle)
    return page(request, "dashboard/overdue.html", user, cycle=the_cycle, items=items)


@router.get("/fachbereiche", response_class=HTMLResponse)
def departments(
    request: Request,
    user: Reader,
    session: SessionDep,
    cycle: OptionalYear = None,
) -> HTMLResponse:
    the_cycle = _cycle(session, user, cycle)
    stats = (
        queries.department_stats(
            session, cycle_id=the_cycle.id, today=today_of(organisation_of(session, user))
        )
        if the_cycle
        else []
    )
    return page(
        request,
        "dashboard/departments.html",
        user,
        cycle=the_cycle,
        stats=stats,
        **heads_context(request, session, user.organisation_id),
    )


@router.get("/steuerung", response_class=HTMLResponse)
def steering(
    request: Request,
    user: Reader,
    session: SessionDep,
    cycle: OptionalYear = None,
) -> HTMLResponse:
    the_cycle, items = _overdue(session, user, cycle)
    digests = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.organisation_id == user.organisation_id,
            OutboxMessage.kind == "digest",
        )
        .order_by(OutboxMessage.created_at.desc())
        .limit(100)
    ).all()
    stands = stands_for(
        session,
        organisation_id=user.organisation_id,
        today=today_of(organisation_of(session, user)),
        measure_ids=[entry.item.measure_id for entry in items],
    )
    return page(
        request,
        "dashboard/steering.html",
        user,
        cycle=the_cycle,
        items=items,
        digests=digests,
        stands=stands,
    )
