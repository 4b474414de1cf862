"""The measure page: goal, timeline, answers, and the coordinator's actions on it.

Each action carries the version the page showed; a stale version re-renders the page with
a friendly conflict message and keeps what was typed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.dashboard.bounce_marks import mark_of, mark_reachable
from api.dashboard.common import RowId, flash, page, redirect
from api.dashboard.interview import CONFIRM, edit_url, missing, refusal_message
from api.dashboard.measure_values import answer_view, iso_day, with_actor_names
from api.dashboard.meeting_actor import with_meeting_actors
from api.dashboard.page_error import not_found
from api.dashboard.status_ask import ask_box
from api.dashboard.status_badges import status_context
from api.deps import Coordinator, Reader, SessionDep, actor_of, organisation_of, today_of
from api.errors import ApiError
from api.i18n import language_of
from workflow import runtime
from workflow.accounts import User
from workflow.cycles import coordination, queries
from workflow.cycles.models import MeasureCycle
from workflow.forms import delegation_review
from workflow.machine import Event, MoveRefused, State, allowed_events
from workflow.messages import message
from workflow.transitions import NotFound, VersionConflict

router = APIRouter(include_in_schema=False)

# The actions the page offers, in the order it shows them: every event of the machine (the
# page shows those its state allows), the link reissue before the moves that end the work.
_ENDING = (Event.DEFER.value, Event.DROP.value, Event.COMPLETE.value)
ACTIONS = (
    *(e.value for e in Event if e.value not in _ENDING),
    "reissue_link",
    *_ENDING,
)
FORM_FIELDS = (
    "decision",
    "implementation_status",
    "held_on",
    "participants",
    "notes",
    "comment",
    "reason",
    "due_on",
    CONFIRM,
)


def actions_now(state: str) -> list[str]:
    allowed = {e.value for e in allowed_events(State(state))}
    if coordination.can_reissue_link(state):
        allowed.add("reissue_link")
    return [a for a in ACTIONS if a in allowed]


def _render(
    request: Request,
    session: Session,
    user: User,
    item_id: int,
    *,
    error: str | None = None,
    error_key: str | None = None,
    problems: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    action: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    row = queries.get_item(
        session,
        organisation_id=user.organisation_id,
        measure_cycle_id=item_id,
        today=today_of(organisation_of(session, user)),
    )
    if row is None:
        raise not_found("measure")
    lang, org_id = language_of(request), user.organisation_id
    answers = queries.answers(session, item_id)
    # A move a body decided names its meeting, not "meeting:<id>"; a person is named too.
    timeline = with_meeting_actors(
        session, organisation_id=org_id, entries=queries.timeline(session, item_id), lang=lang
    )
    return page(
        request,
        "dashboard/measure.html",
        user,
        status_code=status_code,
        item=row,
        timeline=with_actor_names(session, organisation_id=org_id, entries=timeline, lang=lang),
        delegations=delegation_review.for_measure(
            session, organisation_id=user.organisation_id, measure_cycle_id=item_id
        ),
        answers=answers,
        shown=answer_view(session, organisation_id=org_id, answers=answers, lang=lang),
        fmt_iso_date=lambda text: iso_day(text, lang),
        actions=actions_now(row.state),
        decisions=coordination.INTERVIEW_DECISIONS,
        statuses=coordination.IMPLEMENTATION_STATUSES,
        error=error,
        error_key=error_key,
        problems=problems or {},
        confirm=CONFIRM,
        typed=typed or {},
        failed_action=action,
        # The "Sachstand erfragen" form, for those who may ask (api/dashboard/my_bodies.py).
        ask=ask_box(session, user=user, item_id=item_id),
        # Reminders to a bouncing address are not sent (notifications/recipients.py).
        contact_bounce=mark_of(session, organisation_of(session, user), row.contact_email),
        **status_context(
            session, organisation_id=org_id, measure_id=row.measure_id, today=row.today
        ),
    )


@router.get("/massnahmen/{item_id}", response_class=HTMLResponse)
def measure_page(
    request: Request, item_id: RowId, user: Reader, session: SessionDep
) -> HTMLResponse:
    return _render(request, session, user, item_id)


@router.post(
    "/massnahmen/{item_id}/aktion",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def act(request: Request, item_id: RowId, user: Coordinator, session: SessionDep) -> Response:
    owned = session.get(MeasureCycle, item_id)
    if owned is None or owned.organisation_id != user.organisation_id:
        raise not_found("measure")
    form = await request.form()
    typed = {k: str(form.get(k, ""))[:5000] for k in FORM_FIELDS}
    action = str(form.get("action", ""))
    try:
        version = int(str(form.get("version", "")))
    except ValueError:
        version = 0
    payload: dict[str, Any] = {k: v for k, v in typed.items() if v and k != CONFIRM}
    if action == Event.RECORD_INTERVIEW.value:
        # Nothing assumed, and no email without the coordinator's tick (api.dashboard.interview).
        problems = missing(
            held_on=typed["held_on"], decisions=[typed["decision"]], confirmed=bool(typed[CONFIRM])
        )
        if problems:
            return _render(
                request,
                session,
                user,
                item_id,
                error_key="interview.problems",
                problems=problems,
                typed=typed,
                action=action,
                status_code=422,
            )
    clock = runtime.current().clock
    try:
        if action == "reissue_link":
            coordination.reissue_link(
                session=session,
                clock=clock,
                measure_cycle_id=item_id,
                expected_version=version,
                actor=actor_of(user),
            )
        elif action in ACTIONS:
            coordination.perform(
                session=session,
                clock=clock,
                measure_cycle_id=item_id,
                event=action,
                expected_version=version,
                actor=actor_of(user),
                payload=payload,
            )
        else:
            return _render(
                request, session, user, item_id, error_key="measure.unknown_action", status_code=400
            )
    except VersionConflict:
        return _render(
            request,
            session,
            user,
            item_id,
            error_key="measure.conflict",
            typed=typed,
            action=action,
            status_code=409,
        )
    except MoveRefused as exc:
        return _render(
            request,
            session,
            user,
            item_id,
            error=message(exc.code, language_of(request), **exc.params),
            typed=typed,
            action=action,
            status_code=409,
        )
    except coordination.PayloadInvalid as exc:
        return _render(
            request,
            session,
            user,
            item_id,
            error=refusal_message(exc, language_of(request)),
            typed=typed,
            action=action,
            status_code=422,
        )
    except NotFound as exc:
        raise ApiError.refusal(404, "not_found", exc) from None
    if action == Event.RECORD_INTERVIEW.value and payload.get("decision") == "adapt":
        # "anpassen": the coordinator edits the measure next, as on /erstgespraech.
        flash(request, "interview.adapt_now")
        return redirect(edit_url(item_id))
    flash(request, f"measure.done.{action}")
    return redirect(f"/massnahmen/{item_id}")


@router.post(
    "/massnahmen/{item_id}/erreichbar",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
def contact_reachable(
    request: Request, item_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    """A false alarm: the contact's address works, so reminders may go to it again."""
    row = queries.get_item(
        session,
        organisation_id=user.organisation_id,
        measure_cycle_id=item_id,
        today=today_of(organisation_of(session, user)),
    )
    if row is None:
        raise not_found("measure")
    if row.contact_email:
        mark_reachable(
            session,
            user=user,
            email=row.contact_email,
            now=runtime.current().clock.now(),
            actor=actor_of(user),
        )
    flash(request, "item.contact_reachable_done")
    return redirect(f"/massnahmen/{item_id}")


# What the hand-over buttons post; the flash message of each.
DELEGATION_ACTIONS = {
    "approve": (delegation_review.approve, "measure.done.delegation_approve"),
    "revoke": (delegation_review.revoke, "measure.done.delegation_revoke"),
}


@router.post(
    "/massnahmen/{item_id}/weitergabe",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def decide_delegation(
    request: Request, item_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    """Approve a pending hand-over of this measure's form, or withdraw one."""
    owned = session.get(MeasureCycle, item_id)
    if owned is None or owned.organisation_id != user.organisation_id:
        raise not_found("measure")
    form = await request.form()
    chosen = DELEGATION_ACTIONS.get(str(form.get("action", "")))
    raw_id = str(form.get("delegation_id", ""))
    if chosen is None or not raw_id.isdigit() or len(raw_id) > 10:
        return _render(
            request, session, user, item_id, error_key="measure.unknown_action", status_code=400
        )
    action, done = chosen
    try:
        action(
            session=session,
            clock=runtime.current().clock,
            organisation_id=user.organisation_id,
            measure_cycle_id=item_id,
            delegation_id=int(raw_id),
            actor=actor_of(user),
        )
    except delegation_review.DelegationActionRefused as refused:
        status = 404 if refused.code == "not_found" else 409
        return _render(
            request,
            session,
            user,
            item_id,
            error_key=f"delegation.refused.{refused.code}",
            status_code=status,
        )
    flash(request, done)
    return redirect(f"/massnahmen/{item_id}")
