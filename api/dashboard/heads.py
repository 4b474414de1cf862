"""Department heads on the departments page: the list for everyone, the edit for coordinators.

``/fachbereiche`` (api/dashboard/overview.py) shows the heads through ``heads_context``;
``/fachbereiche/{id}/leitung`` edits one. A refused entry shows the form again with what
was typed; nothing is saved then. Texts from api/locales/organisation.*.json through ``t()``.
A head's address reported as bouncing is marked on both pages; ``…/leitung/erreichbar``
takes the mark away for a false alarm.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.dashboard.bounce_marks import mark_of, mark_reachable, marks
from api.dashboard.common import RowId, flash, page, redirect
from api.dashboard.organisation import translator
from api.dashboard.page_error import not_found
from api.deps import Coordinator, SessionDep, actor_of, organisation_of
from api.i18n import language_of
from api.setting_errors import head_problem
from workflow import runtime
from workflow.accounts import User
from workflow.catalogue.heads import HeadInvalid, head_of, heads_by_department, set_head
from workflow.catalogue.models import Department, Organisation
from workflow.salutation import SALUTATIONS

router = APIRouter(include_in_schema=False)
MAX_TYPED = 1000
FIELDS = ("name", "email", "salutation")


def heads_context(request: Request, session: Session, organisation_id: int) -> dict[str, Any]:
    """What the departments page needs for its heads table."""
    departments = session.scalars(
        select(Department)
        .where(Department.organisation_id == organisation_id)
        .order_by(Department.name)
    ).all()
    heads = heads_by_department(session, organisation_id)
    org = session.get(Organisation, organisation_id)
    assert org is not None
    return {
        "t": translator(request),
        "all_departments": departments,
        "heads": heads,
        "head_bounces": marks(session, org, [h.email for h in heads.values()]),
    }


def _department(session: Session, user: User, department_id: int) -> Department:
    department = session.get(Department, department_id)
    if department is None or department.organisation_id != user.organisation_id:
        # "Amt" where the organisation says Amt, as on its pages.
        raise not_found("unit", organisation_of(session, user))
    return department


def _form(
    request: Request,
    session: Session,
    user: User,
    department: Department,
    typed: dict[str, str],
    problems: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    head = head_of(session, department.id)
    return page(
        request,
        "dashboard/head.html",
        user,
        status_code=status_code,
        t=translator(request),
        department=department,
        typed=typed,
        problems=problems or {},
        salutations=SALUTATIONS,
        bounce=mark_of(session, organisation_of(session, user), head.email if head else None),
    )


@router.get("/fachbereiche/{department_id}/leitung", response_class=HTMLResponse)
def head_form(
    request: Request, department_id: RowId, user: Coordinator, session: SessionDep
) -> HTMLResponse:
    department = _department(session, user, department_id)
    head = head_of(session, department.id)
    typed = (
        {"name": head.name, "email": head.email, "salutation": head.salutation}
        if head
        else dict.fromkeys(FIELDS, "")
    )
    return _form(request, session, user, department, typed)


@router.post(
    "/fachbereiche/{department_id}/leitung",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def save_head(
    request: Request, department_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    department = _department(session, user, department_id)
    form = await request.form()
    typed = {k: str(form.get(k, ""))[:MAX_TYPED] for k in FIELDS}
    try:
        head = set_head(
            session=session,
            organisation_id=user.organisation_id,
            department_id=department.id,
            name=typed["name"],
            email=typed["email"],
            salutation=typed["salutation"],
        )
    except HeadInvalid as exc:
        lang = language_of(request)
        problems = {p.setting: head_problem(p, lang) for p in exc.problems}
        return _form(request, session, user, department, typed, problems, status_code=422)
    flash(request, "heads.saved" if head is not None else "heads.removed")
    return redirect(f"/fachbereiche#fachbereich-{department.id}")


@router.post(
    "/fachbereiche/{department_id}/leitung/erreichbar",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
def head_reachable(
    request: Request, department_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    """A false alarm: the head's address works, so escalations may go to it again."""
    department = _department(session, user, department_id)
    head = head_of(session, department.id)
    if head is not None:
        mark_reachable(
            session,
            user=user,
            email=head.email,
            now=runtime.current().clock.now(),
            actor=actor_of(user),
        )
    flash(request, "item.contact_reachable_done")
    return redirect(f"/fachbereiche/{department.id}/leitung")
