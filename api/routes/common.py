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
        message = f"Es gibt keinen Zyklus {year}." if year else "Es ist noch kein Zyklus eröffnet."
        raise ApiError(404, "cycle_not_found", message, reason=reason, params={"year": year})
    return cycle


def not_found(what: str, ident: object) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident} nicht gefunden.")
