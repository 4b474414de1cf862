"""The decisions pages: /beschluesse (register, filters, export links), /beschluesse/{id}
(detail, status, applying an Änderungsvorschlag) and /sitzungen/{id}/beschluesse/neu.

Everyone signed in reads; coordinators and admins record, change the status and apply.
A refused entry shows the form again with what was typed and the reason at its input;
nothing is saved then. Another organisation's meeting or decision answers 404.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.dashboard import decision_forms as forms
from api.dashboard.common import RowId, flash, page, redirect
from api.dashboard.filters import Blank, OptionalId, OptionalYear
from api.dashboard.page_error import not_found
from api.decision_text import error_status, error_text
from api.deps import Coordinator, Reader, SessionDep, actor_of
from api.i18n import language_of, translate
from workflow import runtime
from workflow.accounts import User
from workflow.bodies.models import Body, Meeting
from workflow.bodies.queries import bodies_of
from workflow.catalogue.models import Measure
from workflow.decisions import queries, service
from workflow.decisions.errors import DecisionError
from workflow.decisions.models import (
    Addressee,
    Decision,
    DecisionKind,
    DecisionStatus,
    ResolutionAction,
)

router = APIRouter(include_in_schema=False)

KindFilter = Annotated[
    Literal["resolution", "recommendation", "assignment", "change_proposal"] | None,
    Blank,
    Query(),
]
StatusFilter = Annotated[Literal["open", "in_progress", "done"] | None, Blank, Query()]
RECENT_MEETINGS = 12


def _words(request: Request) -> dict[str, Any]:
    lang = language_of(request)

    def plural(key: str, n: int, **values: object) -> str:
        return translate(f"{key}_{'one' if n == 1 else 'other'}", lang, n=n, **values)

    return {
        # Texts of api/locales/decisions.*.json; "_" stays the dashboard catalogue's.
        "t": lambda key, **values: translate(key, lang, **values),
        "plural": plural,
    }


def _choices() -> dict[str, Any]:
    return {
        "kinds": [k.value for k in DecisionKind],
        "statuses": [s.value for s in DecisionStatus],
        "actions": [a.value for a in ResolutionAction],
        "addressees": [a.value for a in Addressee],
    }


def _meeting(session: Session, user: User, meeting_id: int) -> tuple[Meeting, Body]:
    meeting = session.get(Meeting, meeting_id)
    body = session.get(Body, meeting.body_id) if meeting is not None else None
    if meeting is None or body is None or body.organisation_id != user.organisation_id:
        raise not_found("meeting")
    return meeting, body


def _decision(session: Session, user: User, decision_id: int) -> Decision:
    try:
        return queries.get_decision(
            session, organisation_id=user.organisation_id, decision_id=decision_id
        )
    except DecisionError:
        raise not_found("entry") from None


# --- /beschluesse ---------------------------------------------------------------------------


@router.get("/beschluesse", response_class=HTMLResponse)
def register_page(
    request: Request,
    user: Reader,
    session: SessionDep,
    body_id: OptionalId = None,
    kind: KindFilter = None,
    status: StatusFilter = None,
    year: OptionalYear = None,
) -> HTMLResponse:
    chosen: dict[str, Any] = {"body_id": body_id, "kind": kind, "status": status, "year": year}
    rows = queries.register(session, organisation_id=user.organisation_id, **chosen)
    given = {k: v for k, v in chosen.items() if v is not None}
    meetings = session.execute(
        select(Meeting, Body.name)
        .join(Body, Body.id == Meeting.body_id)
        .where(Body.organisation_id == user.organisation_id)
        .order_by(Meeting.held_on.desc(), Body.name)
        .limit(RECENT_MEETINGS)
    ).all()
    years = queries.years_of(session, organisation_id=user.organisation_id)
    return page(
        request,
        "dashboard/decisions.html",
        user,
        rows=rows,
        chosen=chosen,
        bodies=bodies_of(session, organisation_id=user.organisation_id),
        years=years,
        meetings=meetings,
        export_csv="/api/v1/decisions?" + urlencode(given | {"format": "csv"}),
        export_xlsx="/api/v1/decisions?" + urlencode(given | {"format": "xlsx"}),
        **_choices(),
        **_words(request),
    )


# --- /sitzungen/{id}/beschluesse/neu --------------------------------------------------------


def _new_page(
    request: Request,
    session: Session,
    user: User,
    meeting: Meeting,
    body: Body,
    *,
    typed: dict[str, str] | None = None,
    error: DecisionError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    org = user.organisation_id
    return page(
        request,
        "dashboard/decision_new.html",
        user,
        status_code=status_code,
        meeting=meeting,
        body=body,
        agenda=forms.agenda_choices(session, meeting.id),
        measures=forms.measure_choices(session, org),
        departments=forms.department_choices(session, org),
        contacts=forms.contact_choices(session, org),
        typed=typed or {"kind": DecisionKind.RESOLUTION.value},
        error=error_text(error, language_of(request)) if error else None,
        error_field=error.field if error else None,
        **_choices(),
        **_words(request),
    )


@router.get("/sitzungen/{meeting_id}/beschluesse/neu", response_class=HTMLResponse)
def new_decision_page(
    request: Request, meeting_id: RowId, user: Coordinator, session: SessionDep
) -> HTMLResponse:
    meeting, body = _meeting(session, user, meeting_id)
    return _new_page(request, session, user, meeting, body)


@router.post(
    "/sitzungen/{meeting_id}/beschluesse/neu",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def record_decision(
    request: Request, meeting_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    meeting, body = _meeting(session, user, meeting_id)
    form = await request.form()
    typed = forms.typed_values(form, forms.RECORD_FIELDS)
    try:
        with session.begin_nested():  # a refusal halfway (a move, the Auftrag) leaves nothing
            decision = service.record_decision(
                session=session,
                clock=runtime.current().clock,
                meeting_id=meeting.id,
                kind=typed["kind"],
                text=typed["text"],
                actor=actor_of(user),
                agenda_item_id=forms.whole_number(typed["agenda_item_id"], "agenda_item_id"),
                measure_cycle_id=forms.whole_number(typed["measure_cycle_id"], "measure_cycle_id"),
                action=typed["action"],
                action_value=typed["action_value"],
                addressee=typed["addressee"],
                department_id=forms.whole_number(typed["department_id"], "department_id"),
                contact_id=forms.whole_number(typed["contact_id"], "contact_id"),
                due_on=forms.day_of(typed["due_on"], "due_on"),
            )
    except DecisionError as exc:
        session.expire_all()  # show what is stored, not what the refused entry set
        return _new_page(
            request,
            session,
            user,
            meeting,
            body,
            typed=typed,
            error=exc,
            status_code=error_status(exc) if not exc.not_found else 422,
        )
    flash(request, "decisions.recorded")
    return redirect(f"/beschluesse/{decision.id}")


# --- /beschluesse/{id} ----------------------------------------------------------------------


def _detail_page(
    request: Request,
    session: Session,
    user: User,
    decision: Decision,
    *,
    failed: str | None = None,
    error: DecisionError | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    org = user.organisation_id
    row = queries.get_row(session, organisation_id=org, decision_id=decision.id)
    measure = session.get(Measure, row.measure_id) if row.measure_id else None
    can_apply = (
        row.kind == DecisionKind.CHANGE_PROPOSAL.value and row.applied_at is None and measure
    )
    current: dict[str, Any] = {}
    if measure is not None:
        current = {
            "title": measure.title,
            "description": measure.description,
            "department_id": str(measure.department_id),
            "goal_id": str(measure.goal_id),
            "contact_id": str(measure.contact_id or ""),
        }
    return page(
        request,
        "dashboard/decision.html",
        user,
        status_code=status_code,
        row=row,
        measure_item=forms.latest_stay_id(session, row.measure_id) if row.measure_id else None,
        can_apply=bool(can_apply),
        current=typed if failed == "apply" and typed else current,
        departments=forms.department_choices(session, org) if can_apply else [],
        goals=forms.goal_choices(session, org) if can_apply else [],
        contacts=forms.contact_choices(session, org) if can_apply else [],
        failed=failed,
        error=error_text(error, language_of(request)) if error else None,
        error_field=error.field if error else None,
        **_choices(),
        **_words(request),
    )


@router.get("/beschluesse/{decision_id}", response_class=HTMLResponse)
def decision_page(
    request: Request, decision_id: RowId, user: Reader, session: SessionDep
) -> HTMLResponse:
    return _detail_page(request, session, user, _decision(session, user, decision_id))


@router.post(
    "/beschluesse/{decision_id}/stand",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def change_status(
    request: Request, decision_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    decision = _decision(session, user, decision_id)
    form = await request.form()
    try:
        service.set_status(
            session=session,
            decision_id=decision.id,
            status=str(form.get("status", ""))[:40],
            actor=actor_of(user),
            now=runtime.current().clock.now(),
        )
    except DecisionError as exc:
        return _detail_page(
            request, session, user, decision, failed="status", error=exc, status_code=422
        )
    flash(request, "decisions.status_saved")
    return redirect(f"/beschluesse/{decision.id}")


@router.post(
    "/beschluesse/{decision_id}/uebernehmen",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def apply_proposal(
    request: Request, decision_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    decision = _decision(session, user, decision_id)
    form = await request.form()
    typed = forms.typed_values(form, forms.APPLY_FIELDS)
    try:
        with session.begin_nested():
            service.apply_change_proposal(
                session=session,
                decision_id=decision.id,
                changes={
                    "title": typed["title"],
                    "description": typed["description"],
                    "department_id": forms.whole_number(typed["department_id"], "department_id"),
                    "goal_id": forms.whole_number(typed["goal_id"], "goal_id"),
                    "contact_id": forms.whole_number(typed["contact_id"], "contact_id"),
                },
                actor=actor_of(user),
                now=runtime.current().clock.now(),
            )
    except DecisionError as exc:
        session.expire_all()
        return _detail_page(
            request,
            session,
            user,
            decision,
            failed="apply",
            error=exc,
            typed=typed,
            status_code=error_status(exc) if not exc.not_found else 422,
        )
    flash(request, "decisions.applied")
    return redirect(f"/beschluesse/{decision.id}")
