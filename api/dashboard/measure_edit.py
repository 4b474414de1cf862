"""The measure's edit form, ``/massnahmen/{id}/bearbeiten``: where "anpassen" in the Erstgespräch leads.

Prefilled from the catalogue; saving goes through ``workflow.catalogue.measure_edit`` and
returns to the measure, or to the next measure still to adapt (``?weiter=``, from the
Erstgespräch). A refused field shows the form again with what was typed. Coordinators only.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.dashboard.common import RowId, flash, page, redirect
from api.dashboard.interview import edit_url
from api.dashboard.page_error import not_found
from api.deps import Coordinator, SessionDep, actor_of
from workflow import runtime
from workflow.accounts import User
from workflow.catalogue.archive import ArchivedKind, archived_ids
from workflow.catalogue.measure_edit import (
    MAX_DESCRIPTION,
    MAX_TITLE,
    MeasureChanges,
    MeasureEditRefused,
    edit_measure,
)
from workflow.catalogue.models import Department, Goal
from workflow.cycles.models import MeasureCycle

router = APIRouter(include_in_schema=False)
FIELDS = ("title", "description", "goal_id", "department_id")
MAX_NEXT = 50


def _stay(session: Session, user: User, item_id: int) -> MeasureCycle:
    mc = session.get(MeasureCycle, item_id)
    if mc is None or mc.organisation_id != user.organisation_id:
        raise not_found("measure")
    return mc


def _then(session: Session, user: User, text: str) -> list[int]:
    """The measures still to adapt after this one; anything not the organisation's is dropped."""
    ids = [int(p) for p in text.split(",")[:MAX_NEXT] if p.isdigit() and len(p) <= 10]
    if not ids:
        return []
    own = set(
        session.scalars(
            select(MeasureCycle.id).where(
                MeasureCycle.id.in_(ids), MeasureCycle.organisation_id == user.organisation_id
            )
        )
    )
    return [i for i in ids if i in own]


def _form(
    request: Request,
    session: Session,
    user: User,
    mc: MeasureCycle,
    typed: dict[str, str],
    then: list[int],
    *,
    problems: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    org_id = user.organisation_id
    goals = [
        g
        for g in session.scalars(
            select(Goal).where(Goal.organisation_id == org_id).order_by(Goal.code)
        )
        if g.id not in archived_ids(session, org_id, ArchivedKind.GOAL)
        or str(g.id) == typed["goal_id"]
    ]
    departments = [
        d
        for d in session.scalars(
            select(Department).where(Department.organisation_id == org_id).order_by(Department.name)
        )
        if d.id not in archived_ids(session, org_id, ArchivedKind.DEPARTMENT)
        or str(d.id) == typed["department_id"]
    ]
    return page(
        request,
        "dashboard/measure_edit.html",
        user,
        status_code=status_code,
        item=mc,
        measure=mc.measure,
        typed=typed,
        goals=goals,
        departments=departments,
        then=",".join(str(i) for i in then),
        then_count=len(then),
        problems=problems or {},
        max_title=MAX_TITLE,
        max_description=MAX_DESCRIPTION,
    )


@router.get("/massnahmen/{item_id}/bearbeiten", response_class=HTMLResponse)
def edit_form(
    request: Request, item_id: RowId, user: Coordinator, session: SessionDep, weiter: str = ""
) -> HTMLResponse:
    mc = _stay(session, user, item_id)
    measure = mc.measure
    typed = {
        "title": measure.title,
        "description": measure.description,
        "goal_id": str(measure.goal_id),
        "department_id": str(measure.department_id),
    }
    return _form(request, session, user, mc, typed, _then(session, user, weiter[:600]))


@router.post(
    "/massnahmen/{item_id}/bearbeiten",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def save(
    request: Request, item_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    mc = _stay(session, user, item_id)
    form = await request.form()
    typed = {k: str(form.get(k, ""))[: MAX_DESCRIPTION + 1] for k in FIELDS}
    then = _then(session, user, str(form.get("weiter", ""))[:600])
    try:
        edit_measure(
            session=session,
            organisation_id=user.organisation_id,
            measure_cycle_id=mc.id,
            changes=MeasureChanges(
                title=typed["title"],
                description=typed["description"],
                goal_id=_int(typed["goal_id"]),
                department_id=_int(typed["department_id"]),
            ),
            actor=actor_of(user),
            now=runtime.current().clock.now(),
        )
    except MeasureEditRefused as refused:
        return _form(
            request, session, user, mc, typed, then, problems=refused.problems, status_code=422
        )
    flash(request, "measure_edit.saved")
    return redirect(edit_url(then[0], then[1:]) if then else f"/massnahmen/{mc.id}")


def _int(text: str) -> int:
    """A posted id; 0 (which no row has) for anything else, so the check names the field."""
    return int(text) if text.isdigit() and len(text) <= 10 else 0
