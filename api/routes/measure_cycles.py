"""JSON routes of measures in a cycle: filtered lists, one item, its audit trail, its moves."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from api.deps import Coordinator, Reader, SessionDep, actor_of, organisation_of, today_of
from api.errors import ApiError
from api.i18n import translate
from api.routes.common import cycle_or_404, json_answer, not_found
from api.routes.schemas import (
    ERRORS,
    MAX_ID,
    AuditOut,
    ItemDetailOut,
    ItemOut,
    KeysetPage,
    TransitionIn,
    VersionIn,
)
from workflow import runtime
from workflow.accounts import User
from workflow.cycles import coordination, item_pages, queries
from workflow.cycles.models import MeasureCycle
from workflow.machine import MoveRefused, State, allowed_events
from workflow.transitions import NotFound, VersionConflict

router = APIRouter(prefix="/api/v1/measure-cycles", tags=["measure-cycles"], responses=ERRORS)

ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="id of the measure-in-cycle")]


_LIST_DESCRIPTION = """
Two ways to page, one sort order (``order``, then the id):

* ``page`` and ``page_size``: numbered pages, with ``total`` (all matches, counted each time).
* ``after``: the ``next`` cursor of the previous page; the page starts after that page's last
  row, costs the same at any depth and counts nothing: ``total`` is then ``null`` (take it
  from the first page). ``page`` is ignored. A cursor fits only the ``order`` it was handed
  out for; anything else is refused with 422 ``cursor_invalid``.

``next`` is ``null`` on the last page.
"""


@router.get(
    "",
    response_model=KeysetPage,
    summary="Maßnahmen im Zyklus, gefiltert und seitenweise",
    description=_LIST_DESCRIPTION,
)
def list_measure_cycles(
    user: Reader,
    session: SessionDep,
    cycle: Annotated[
        int | None, Query(ge=2000, le=2100, description="year; default the latest")
    ] = None,
    state: Annotated[list[State] | None, Query()] = None,
    overdue: bool | None = None,
    escalation_level: Annotated[int | None, Query(ge=0, le=10)] = None,
    department_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    field_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    goal_rank: Annotated[int | None, Query(ge=1, le=4)] = None,
    order: Literal["code", "due", "state"] = "code",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[
        str | None,
        Query(min_length=1, max_length=2000, description="cursor: ``next`` of the previous page"),
    ] = None,
) -> Response:
    the_cycle = cycle_or_404(session, user, cycle)
    today = today_of(organisation_of(session, user))
    try:
        found = item_pages.list_page(
            session,
            cycle=the_cycle,
            today=today,
            f=queries.ItemFilter(
                states=tuple(s.value for s in state or ()),
                overdue=overdue,
                escalation_level=escalation_level,
                department_id=department_id,
                field_id=field_id,
                goal_rank=goal_rank,
            ),
            order=order,
            limit=page_size,
            offset=(page - 1) * page_size,
            after=after,
        )
    except item_pages.CursorInvalid:
        raise _cursor_invalid() from None
    return json_answer(
        KeysetPage(
            items=[ItemOut.of(r) for r in found.rows],
            total=found.total,
            page=page,
            page_size=page_size,
            next=found.next,
        )
    )


def _cursor_invalid() -> ApiError:
    return ApiError(
        422,
        "cursor_invalid",
        details={"field": "after"},
        wording=lambda lang: translate("measure_cycles.cursor_invalid", lang),
    )


def _item(session: SessionDep, user: Reader, item_id: int) -> ItemDetailOut:
    org = organisation_of(session, user)
    row = queries.get_item(
        session, organisation_id=org.id, measure_cycle_id=item_id, today=today_of(org)
    )
    if row is None:
        raise not_found("measure_cycle", item_id)
    return ItemDetailOut(
        **ItemOut.of(row).model_dump(),
        allowed_events=[e.value for e in allowed_events(State(row.state))],
    )


@router.get("/{item_id}", response_model=ItemDetailOut, summary="Eine Maßnahme im Zyklus")
def get_measure_cycle(item_id: ItemId, user: Reader, session: SessionDep) -> ItemDetailOut:
    return _item(session, user, item_id)


@router.get("/{item_id}/audit", response_model=list[AuditOut], summary="Verlauf (Audit-Trail)")
def audit_of(item_id: ItemId, user: Reader, session: SessionDep) -> list[AuditOut]:
    _item(session, user, item_id)
    return [AuditOut.model_validate(a) for a in queries.audit_trail(session, item_id)]


def _owned(session: Session, user: User, item_id: int) -> None:
    """404 for an id that is not the acting organisation's: its existence stays hidden."""
    mc = session.get(MeasureCycle, item_id)
    if mc is None or mc.organisation_id != organisation_of(session, user).id:
        raise not_found("measure_cycle", item_id)


def _refused(exc: MoveRefused) -> ApiError:
    # details: reason (the domain's code), state, event, allowed_events (values) and the rest
    return ApiError.refusal(409, "move_refused", exc)


def _conflict(exc: VersionConflict) -> ApiError:
    return ApiError.refusal(
        409, "version_conflict", exc, current_version=exc.current, expected_version=exc.expected
    )


# What the transition service refuses a move with; ``refusal_of`` words each for the API.
REFUSALS = (MoveRefused, VersionConflict, NotFound, coordination.PayloadInvalid)


def refusal_of(exc: Exception) -> ApiError:
    """The API's answer to one refused move: the same for a single move and a batch's item."""
    if isinstance(exc, MoveRefused):
        return _refused(exc)
    if isinstance(exc, VersionConflict):
        return _conflict(exc)
    if isinstance(exc, NotFound):
        return ApiError.refusal(404, "not_found", exc)
    if isinstance(exc, coordination.FieldInvalid):
        details = {"field": exc.field, "reason": exc.code, **exc.params}
        return ApiError(
            422,
            "payload_invalid",
            str(exc),
            details,
            reason=f"payload.{exc.code}",
            params=exc.params,
        )
    if isinstance(exc, coordination.PayloadInvalid):
        return ApiError.refusal(422, "payload_invalid", exc)
    raise TypeError(f"not a refusal of a move: {exc!r}")


@router.post(
    "/{item_id}/transitions",
    response_model=ItemDetailOut,
    summary="Ein Ereignis anwenden (mit Version als optimistischer Sperre)",
)
def transition(
    item_id: ItemId, body: TransitionIn, user: Coordinator, session: SessionDep
) -> ItemDetailOut:
    _owned(session, user, item_id)
    try:
        coordination.perform(
            session=session,
            clock=runtime.current().clock,
            measure_cycle_id=item_id,
            event=body.event,
            expected_version=body.version,
            actor=actor_of(user),
            payload=body.payload,
        )
    except REFUSALS as exc:
        raise refusal_of(exc) from None
    return _item(session, user, item_id)


@router.post(
    "/{item_id}/reissue-link",
    response_model=ItemDetailOut,
    summary="Formular-Link neu ausstellen (alte Links dieser Phase werden ungültig)",
)
def reissue_link(
    item_id: ItemId, body: VersionIn, user: Coordinator, session: SessionDep
) -> ItemDetailOut:
    _owned(session, user, item_id)
    try:
        coordination.reissue_link(
            session=session,
            clock=runtime.current().clock,
            measure_cycle_id=item_id,
            expected_version=body.version,
            actor=actor_of(user),
        )
    except MoveRefused as exc:
        raise _refused(exc) from None
    except VersionConflict as exc:
        raise _conflict(exc) from None
    return _item(session, user, item_id)
