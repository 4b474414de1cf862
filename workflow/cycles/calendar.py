"""Looks up the business calendar and deadline policy that apply to a measure-in-cycle."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.deadlines import BusinessCalendar, DeadlinePolicy

_PINNED = "zielflow_pinned_rows"


def calendar_of(org: Organisation) -> BusinessCalendar:
    return BusinessCalendar(state=org.state, timezone=org.timezone)


def _pinned(session: Session, model: type[Cycle] | type[Organisation], ident: int) -> Any:
    """``session.get`` that keeps the row for the session's lifetime: the identity map holds
    rows only weakly, so a sweep batch would otherwise load the same cycle once per item."""
    pins: dict[tuple[str, int], Any] = session.info.setdefault(_PINNED, {})
    key = (model.__tablename__, ident)
    if key not in pins:
        pins[key] = session.get(model, ident)
    return pins[key]


def pin(session: Session, row: Cycle | Organisation) -> None:
    """Keep a row loaded elsewhere (with the stay it belongs to) for ``calendar_and_policy``."""
    pins: dict[tuple[str, int], Any] = session.info.setdefault(_PINNED, {})
    pins[(row.__tablename__, row.id)] = row


def calendar_and_policy(
    session: Session, mc: MeasureCycle
) -> tuple[BusinessCalendar, DeadlinePolicy]:
    cycle = _pinned(session, Cycle, mc.cycle_id)
    org = _pinned(session, Organisation, mc.organisation_id)
    assert cycle is not None and org is not None
    # Parsed every time (microseconds), so an edit of the policy in this session is seen.
    return calendar_of(org), DeadlinePolicy.model_validate(cycle.policy)
