"""The status-check pages: /sachstandsabfragen (list, start form), /sachstandsabfragen/{id}
(each contact's part and each measure's answer, closing) and a body member's start from a
measure (/massnahmen/{id}/sachstandsabfrage, from /mein-gremium or the measure page).

Everyone signed in reads; coordinators and admins start and close checks from these pages;
a steering member starts one for a measure of their body's scope. A refused start shows
the form again with what was typed and the reason at its input; nothing is saved then.
Another organisation's check answers 404. Decides nothing itself: workflow/status_checks/.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.dashboard import measure as measure_page
from api.dashboard import my_bodies
from api.dashboard import status_check_forms as forms
from api.dashboard.common import RowId, flash, page, redirect
from api.dashboard.filters import Blank
from api.dashboard.page_error import not_found
from api.dashboard.status_ask import BACK_TO_MY_BODIES
from api.deps import Coordinator, Reader, SessionDep, actor_of, organisation_of, today_of
from api.i18n import language_of, translate
from api.status_check_rows import check_row, check_rows, measure_codes, parts_of
from api.status_check_text import NOT_FOUND, error_text, fmt_day, selection_text, stand_text
from workflow import runtime
from workflow.accounts import User
from workflow.bodies.scope_access import ACTING_ROLES, asking_seat
from workflow.cycles.models import MeasureCycle
from workflow.status_checks.errors import StatusCheckRefused
from workflow.status_checks.selection import Selection
from workflow.status_checks.service import close_status_check, open_status_check

router = APIRouter(include_in_schema=False)
LIST = "/sachstandsabfragen"
# A member asks about one measure for the coming two weeks.
MEMBER_DAYS = 14

StateFilter = Annotated[Literal["open", "closed"] | None, Blank, Query()]


def _words(request: Request) -> dict[str, Callable[..., str]]:
    lang = language_of(request)

    def plural(key: str, n: int, **values: object) -> str:
        return translate(f"{key}_{'one' if n == 1 else 'other'}", lang, n=n, **values)

    return {
        # Texts of api/locales/status_check_start.*.json; "_" stays the dashboard catalogue's.
        "t": lambda key, **values: translate(key, lang, **values),
        "plural": plural,
        "day": lambda d: fmt_day(d, lang),
        "stand": lambda s: stand_text(s, lang),
    }


# --- /sachstandsabfragen ------------------------------------------------------------------


def _list_page(
    request: Request,
    session: Session,
    user: User,
    *,
    state: str | None = None,
    typed: forms.Typed | None = None,
    error: StatusCheckRefused | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    org = user.organisation_id
    lang = language_of(request)
    today = today_of(organisation_of(session, user))
    rows = check_rows(
        session,
        organisation_id=org,
        today=today,
        state="open" if state == "open" else "closed" if state == "closed" else None,
    )
    codes = measure_codes(session, rows)
    return page(
        request,
        "dashboard/status_checks.html",
        user,
        status_code=status_code,
        rows=rows,
        described={r.id: selection_text(r.selection, lang, codes) for r in rows},
        state=state,
        choices=forms.choices(session, org) if user.role in ACTING_ROLES else None,
        typed=typed or forms.Typed({}, frozenset()),
        default_due=(today + timedelta(days=MEMBER_DAYS)).isoformat(),
        error=error_text(error, lang) if error else None,
        error_field=forms.input_of(error) if error else None,
        **_words(request),
    )


@router.get(LIST, response_class=HTMLResponse)
def status_checks_page(
    request: Request, user: Reader, session: SessionDep, state: StateFilter = None
) -> HTMLResponse:
    return _list_page(request, session, user, state=state)


@router.post(LIST, response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
async def start_status_check(request: Request, user: Coordinator, session: SessionDep) -> Response:
    typed = forms.typed_of(await request.form())
    try:
        with session.begin_nested():  # a refusal halfway leaves nothing behind
            check = open_status_check(
                session,
                clock=runtime.current().clock,
                organisation_id=user.organisation_id,
                selection=forms.selection_of(typed),
                due_on=forms.due_of(typed.values["due_on"]),
                actor=actor_of(user),
                title=forms.title_of(typed),
            )
    except StatusCheckRefused as exc:
        session.expire_all()
        return _list_page(request, session, user, typed=typed, error=exc, status_code=422)
    flash(request, "status_checks.started")
    return redirect(f"{LIST}/{check.id}")


# --- /sachstandsabfragen/{id} -------------------------------------------------------------


def _detail_page(
    request: Request,
    session: Session,
    user: User,
    status_check_id: int,
    *,
    error: StatusCheckRefused | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = language_of(request)
    today = today_of(organisation_of(session, user))
    row = check_row(
        session, organisation_id=user.organisation_id, status_check_id=status_check_id, today=today
    )
    if row is None:
        raise not_found("status_check")
    return page(
        request,
        "dashboard/status_check.html",
        user,
        status_code=status_code,
        row=row,
        described=selection_text(row.selection, lang, measure_codes(session, [row])),
        parts=parts_of(session, status_check_id=row.id, today=today),
        error=error_text(error, lang) if error else None,
        **_words(request),
    )


@router.get(f"{LIST}/{{status_check_id}}", response_class=HTMLResponse)
def status_check_page(
    request: Request, status_check_id: RowId, user: Reader, session: SessionDep
) -> HTMLResponse:
    return _detail_page(request, session, user, status_check_id)


@router.post(
    f"{LIST}/{{status_check_id}}/abschliessen",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
def close_check(
    request: Request, status_check_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    try:
        with session.begin_nested():
            close_status_check(
                session,
                clock=runtime.current().clock,
                organisation_id=user.organisation_id,
                status_check_id=status_check_id,
                actor=actor_of(user),
            )
    except StatusCheckRefused as exc:
        if exc.code == NOT_FOUND:
            raise not_found("status_check") from None
        session.expire_all()
        return _detail_page(request, session, user, status_check_id, error=exc, status_code=422)
    flash(request, "status_checks.closed_flash")
    return redirect(f"{LIST}/{status_check_id}")


# --- a member's start from a measure ------------------------------------------------------


def _member_start(session: Session, user: User, item_id: int) -> int:
    """Open a check of the one measure, for the body whose scope covers it; its id."""
    mc = session.get(MeasureCycle, item_id)
    if mc is None or mc.organisation_id != user.organisation_id:
        raise not_found("measure")
    today = today_of(organisation_of(session, user))
    measure = mc.measure
    seat = asking_seat(session, user=user, field_id=measure.goal.field_id, day=today)
    if seat is None and user.role not in ACTING_ROLES:
        raise StatusCheckRefused("not_in_scope", value=measure.code)
    check = open_status_check(
        session,
        clock=runtime.current().clock,
        organisation_id=user.organisation_id,
        selection=Selection(measure_ids=(measure.id,)),
        due_on=today + timedelta(days=MEMBER_DAYS),
        actor=actor_of(user),
        body_id=seat.body.id if seat is not None else None,
    )
    return check.id


@router.post(
    "/massnahmen/{item_id}/sachstandsabfrage",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def member_start(
    request: Request, item_id: RowId, user: Reader, session: SessionDep
) -> Response:
    """Start a status check of this measure; back to the page the form was on."""
    form = await request.form()
    from_page = str(form.get("back", "")) == BACK_TO_MY_BODIES
    try:
        with session.begin_nested():
            _member_start(session, user, item_id)
    except StatusCheckRefused as exc:
        session.expire_all()
        text = error_text(exc, language_of(request))
        if from_page:
            return my_bodies._page(request, session, user, error=text, status_code=422)
        return measure_page._render(request, session, user, item_id, error=text, status_code=422)
    flash(request, "status_checks.started")
    return redirect(my_bodies.PAGE if from_page else f"/massnahmen/{item_id}")
