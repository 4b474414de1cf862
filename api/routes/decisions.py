"""JSON routes of the decisions register: everyone signed in reads, coordinators record and change.

A decision or meeting of another organisation answers 404, exactly like one that does not
exist. The list is also a download: ``?format=csv`` or ``?format=xlsx`` gives the same
selection as the register page's export links.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.decision_text import error_status, error_text, label
from api.deps import Coordinator, Reader, SessionDep, actor_of
from api.errors import ApiError
from api.i18n import reader_language
from api.routes.decision_schemas import ChangesIn, DecisionIn, DecisionOut, DecisionPatch
from api.routes.schemas import ERRORS, MAX_ID
from workflow import runtime
from workflow.accounts import User
from workflow.catalogue.models import Organisation
from workflow.decisions import checks, export, queries, service
from workflow.decisions.errors import DecisionError
from workflow.decisions.models import DecisionKind, DecisionStatus
from workflow.decisions.queries import DecisionRow
from workflow.terms import terms_for

router = APIRouter(
    prefix="/api/v1/decisions",
    tags=["decisions"],
    responses=ERRORS,
    dependencies=[Depends(require_csrf)],  # cookie sessions must echo the token; tokens need not
)
DecisionId = Annotated[int, Path(ge=1, le=MAX_ID)]
OptionalRef = Annotated[int | None, Query(ge=1, le=MAX_ID)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@contextmanager
def refusals() -> Iterator[None]:
    """A domain refusal as the API's error shape, in the reader's language, naming the input."""
    try:
        yield
    except DecisionError as exc:
        details: dict[str, Any] = dict(exc.params)
        if exc.field:
            details["field"] = exc.field
        raise ApiError(
            error_status(exc), exc.code, details=details, wording=partial(error_text, exc)
        ) from None


def _out(row: DecisionRow) -> DecisionOut:
    data = {k: getattr(row, k) for k in DecisionOut.model_fields if hasattr(row, k)}
    return DecisionOut.model_validate(
        data
        | {
            "kind_label": label("decisions.kind", row.kind, reader_language()),
            "status_label": label("decisions.status", row.status, reader_language()),
        }
    )


def _row(session: Session, user: User, decision_id: int) -> DecisionRow:
    with refusals():
        return queries.get_row(
            session, organisation_id=user.organisation_id, decision_id=decision_id
        )


def _download(content: bytes, media_type: str, filename: str) -> Response:
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }
    return Response(content, media_type=media_type, headers=headers)


@router.get(
    "",
    response_model=list[DecisionOut],
    summary="Beschlüsse, Empfehlungen, Aufträge und Änderungsvorschläge; auch als CSV oder XLSX",
    responses={
        200: {
            "content": {"text/csv": {}, XLSX: {}},
            "description": "Die Einträge, neueste Sitzung zuerst",
        }
    },
)
def list_decisions(
    user: Reader,
    session: SessionDep,
    body_id: OptionalRef = None,
    kind: DecisionKind | None = None,
    status: DecisionStatus | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Jahr der Sitzung")] = None,
    measure_id: OptionalRef = None,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Any:
    rows = queries.register(
        session,
        organisation_id=user.organisation_id,
        body_id=body_id,
        kind=kind.value if kind else None,
        status=status.value if status else None,
        year=year,
        measure_id=measure_id,
    )
    if format == "json":
        return [_out(r) for r in rows]
    org = session.get(Organisation, user.organisation_id)
    assert org is not None  # a user cannot exist without its organisation (FK)
    name = f"beschluesse-{org.slug}.{format}"
    terms = terms_for(org, "de")  # the export's columns and words are German
    if format == "xlsx":
        return _download(export.to_xlsx(rows, org.timezone, terms=terms), XLSX, name)
    csv = export.to_csv(rows, org.timezone, terms=terms)
    return _download(csv, "text/csv; charset=utf-8", name)


@router.post("", response_model=DecisionOut, status_code=201, summary="Entscheidung erfassen")
def record_decision(payload: DecisionIn, user: Coordinator, session: SessionDep) -> DecisionOut:
    with refusals():
        _meeting, body = checks.meeting_and_body(session, payload.meeting_id)
        if body.organisation_id != user.organisation_id:
            raise DecisionError("meeting_not_found", ref=str(payload.meeting_id))
        decision = service.record_decision(
            session=session,
            clock=runtime.current().clock,
            meeting_id=payload.meeting_id,
            kind=payload.kind.value,
            text=payload.text,
            actor=actor_of(user),
            agenda_item_id=payload.agenda_item_id,
            measure_cycle_id=payload.measure_cycle_id,
            measure_id=payload.measure_id,
            action=payload.action.value,
            action_value=payload.action_value,
            addressee=payload.addressee.value if payload.addressee else "",
            department_id=payload.department_id,
            contact_id=payload.contact_id,
            due_on=payload.due_on,
        )
    return _out(_row(session, user, decision.id))


@router.get("/{decision_id}", response_model=DecisionOut, summary="Ein Eintrag")
def read_decision(decision_id: DecisionId, user: Reader, session: SessionDep) -> DecisionOut:
    return _out(_row(session, user, decision_id))


@router.patch("/{decision_id}", response_model=DecisionOut, summary="Stand ändern")
def change_decision(
    decision_id: DecisionId, payload: DecisionPatch, user: Coordinator, session: SessionDep
) -> DecisionOut:
    row = _row(session, user, decision_id)
    with refusals():
        service.set_status(
            session=session,
            decision_id=row.id,
            status=payload.status.value,
            actor=actor_of(user),
            now=runtime.current().clock.now(),
        )
    return _out(_row(session, user, row.id))


@router.post(
    "/{decision_id}/apply",
    response_model=DecisionOut,
    summary="Änderungsvorschlag in den Maßnahmenkatalog übernehmen",
)
def apply_change_proposal(
    decision_id: DecisionId, payload: ChangesIn, user: Coordinator, session: SessionDep
) -> DecisionOut:
    row = _row(session, user, decision_id)
    with refusals():
        service.apply_change_proposal(
            session=session,
            decision_id=row.id,
            changes=payload.model_dump(include=payload.model_fields_set),
            actor=actor_of(user),
            now=runtime.current().clock.now(),
        )
    return _out(_row(session, user, row.id))
