"""Looks up the business calendar and deadline policy that apply to a measure-in-cycle."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.db import pinned_get
from workflow.deadlines import BusinessCalendar, DeadlinePolicy


def calendar_of(org: Organisation) -> BusinessCalendar:
    return BusinessCalendar(state=org.state, timezone=org.timezone)


def calendar_and_policy(
    session: Session, mc: MeasureCycle
) -> tuple[BusinessCalendar, DeadlinePolicy]:
    cycle = pinned_get(session, Cycle, mc.cycle_id)
    org = pinned_get(session, Organisation, mc.organisation_id)
    assert cycle is not None and org is not None
    return calendar_of(org), policy_of(cycle.policy)


def policy_of(raw: dict[str, Any]) -> DeadlinePolicy:
    # Parsed every time (microseconds), so an edit of the policy in this session is seen.
    return DeadlinePolicy.model_validate(raw)


@lru_cache(maxsize=256)
def policy_of_json(stored: str) -> DeadlinePolicy:
    """The policy of its stored JSON text, parsed once per text: a move reads it as text, so
    an edited policy is a new text and parsed anew. Nobody changes a policy object in place."""
    return policy_of(json.loads(stored))
