"""Helpers shared by the JSON routes: the cycle a request means, 404s in the one error shape,
and answers serialised in the route's own thread."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.errors import ApiError
from workflow.accounts import User
from workflow.cycles.models import Cycle
from workflow.cycles.queries import latest_cycle


def cycle_or_404(session: Session, user: User, year: int | None) -> Cycle:
    cycle = latest_cycle(session, user.organisation_id, year)
    if cycle is None:
        reason = "not_found.cycle" if year else "not_found.no_cycle"
        raise ApiError(404, "cycle_not_found", reason=reason, params={"year": year})
    return cycle


def json_answer(model: BaseModel) -> Response:
    """``model`` as the JSON its ``response_model`` gives, written in the route's thread.

    FastAPI hands a plain route's return value to one more worker thread to check and
    serialise it; an answer that is already a ``Response`` goes out as it is. For the lists
    and counts a dashboard asks for all the time, that hand-over costs more than the rest.
    """
    return Response(model.model_dump_json(), media_type="application/json")


def not_found(kind: str, ident: object) -> ApiError:
    """``kind`` names the sentence (``api.not_found.<kind>``, e.g. "indicator")."""
    return ApiError(404, "not_found", reason=f"api.not_found.{kind}", params={"id": ident})


def unknown_reference(key: str, ref: object) -> ApiError:
    """A reference (``goal_id``, ``contact_id`` …) to a row the organisation does not have."""
    return ApiError(
        422,
        "unknown_reference",
        details={"field": key},
        reason="api.unknown_reference",
        params={"field": key, "id": ref},
    )


def field_empty(key: str) -> ApiError:
    """A change that would empty a field every row needs."""
    return ApiError(
        422,
        "validation_error",
        details={"field": key},
        reason="api.field_empty",
        params={"field": key},
    )
