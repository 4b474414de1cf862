"""A department contact's edit page, ``/ansprechpersonen/{id}/bearbeiten``, for coordinators.

Salutation, name, address and language, e.g. after a bounce report. Saving goes through
``workflow.catalogue.contact_edit`` as the JSON API's PATCH does, so a new address ends the
old form links and sends fresh ones. A refused entry shows the form again with what was
typed; nothing is saved then. ``zurueck`` names the page to return to (a path of this site).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.dashboard.bounce_marks import mark_of
from api.dashboard.common import RowId, flash, page, redirect, safe_next
from api.dashboard.page_error import not_found
from api.deps import Coordinator, SessionDep, actor_of, organisation_of
from api.i18n import language_of, translate
from workflow import runtime
from workflow.accounts import User
from workflow.catalogue.contact_edit import (
    LANGUAGES,
    LIMITS,
    ContactEditRefused,
    ContactProblem,
    check_contact_form,
    update_contact,
)
from workflow.catalogue.models import Contact, Department
from workflow.salutation import SALUTATIONS

router = APIRouter(include_in_schema=False)
FIELDS = ("salutation", "name", "email", "language")
MAX_TYPED = 1000
MAX_BACK = 500
DEFAULT_BACK = "/fachbereiche"


def _back(target: str) -> str:
    """Only a path of this site; a backslash or control character could lead a browser away."""
    if len(target) > MAX_BACK or any(ch == "\\" or ch < " " for ch in target):
        return DEFAULT_BACK
    return safe_next(target, DEFAULT_BACK)


def _contact(session: Session, user: User, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None or contact.organisation_id != user.organisation_id:
        raise not_found("contact", organisation_of(session, user))
    return contact


def _problem(problem: ContactProblem, lang: str) -> str:
    label = translate(f"contact_edit.field.{problem.setting}", lang)
    return translate(f"contact_edit.error.{problem.code}", lang, label=label, **problem.params)


def _form(
    request: Request,
    session: Session,
    user: User,
    contact: Contact,
    typed: dict[str, str],
    back: str,
    problems: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    department = session.get(Department, contact.department_id) if contact.department_id else None
    return page(
        request,
        "dashboard/contact_edit.html",
        user,
        status_code=status_code,
        contact=contact,
        department=department,
        typed=typed,
        back=back,
        problems=problems or {},
        salutations=SALUTATIONS,
        languages=LANGUAGES,
        limits=LIMITS,
        bounce=mark_of(session, organisation_of(session, user), contact.email),
    )


@router.get("/ansprechpersonen/{contact_id}/bearbeiten", response_class=HTMLResponse)
def contact_form(
    request: Request, contact_id: RowId, user: Coordinator, session: SessionDep, zurueck: str = ""
) -> HTMLResponse:
    contact = _contact(session, user, contact_id)
    typed = {k: str(getattr(contact, k)) for k in FIELDS}
    return _form(request, session, user, contact, typed, _back(zurueck))


@router.post(
    "/ansprechpersonen/{contact_id}/bearbeiten",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def save_contact(
    request: Request, contact_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    contact = _contact(session, user, contact_id)
    form = await request.form()
    typed = {k: str(form.get(k, ""))[:MAX_TYPED] for k in FIELDS}
    back = _back(str(form.get("zurueck", "")))
    try:
        changes: dict[str, Any] = check_contact_form(**typed)
        moved = update_contact(
            session, contact, changes, now=runtime.current().clock.now(), actor=actor_of(user)
        )
    except ContactEditRefused as exc:
        lang = language_of(request)
        problems = {p.setting: _problem(p, lang) for p in exc.problems}
        return _form(request, session, user, contact, typed, back, problems, status_code=422)
    flash(request, "contact_edit.saved_new_address" if moved else "contact_edit.saved")
    return redirect(back)
