"""Helpers shared by the JSON routes: the cycle a request means, and 404s in the one error shape."""

from __future__ import annotations

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
