"""What a decision changes in the catalogue: a goal's rank, a measure's fields; each audited.

The rules are the catalogue API's (api/routes/catalogue.py): a title is one line of at most
500 characters, references belong to the organisation and are not archived. Each change
appends one audit event on the measure's newest stay, naming the decision as its reason.
Never commits; never moves a measure through the state machine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from workflow.catalogue.models import Goal, Measure
from workflow.cycles.models import AuditEvent
from workflow.decisions import checks
from workflow.decisions.errors import DecisionError
from workflow.decisions.models import Decision

# The measure fields an Änderungsvorschlag may change; the code is the measure's identity.
CHANGEABLE = ("title", "description", "department_id", "goal_id", "contact_id")
MAX_TITLE = 500
MAX_DESCRIPTION = 20_000
_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]")


def _audit(
    session: Session,
    *,
    decision: Decision,
    measure: Measure,
    event: str,
    actor: str,
    now: datetime,
    payload: dict[str, Any],
) -> None:
    stay = checks.latest_stay(session, measure.id)
    session.add(
        AuditEvent(
            organisation_id=decision.organisation_id,
            measure_cycle_id=stay.id if stay else None,
            at=now,
            actor=actor,
            event=event,
            from_state=stay.state if stay else None,
            to_state=stay.state if stay else None,
            payload={"decision_id": decision.id, "reason": decision.text, **payload},
        )
    )


def change_rank(
    session: Session,
    *,
    decision: Decision,
    measure: Measure,
    new_rank: int,
    actor: str,
    now: datetime,
) -> Goal:
    """Give the measure's goal ``new_rank``; the audit names the goal and both ranks."""
    goal = measure.goal
    before = goal.rank
    goal.rank = new_rank
    _audit(
        session,
        decision=decision,
        measure=measure,
        event="change_rank",
        actor=actor,
        now=now,
        payload={"goal": goal.code, "from_rank": before, "to_rank": new_rank},
    )
    return goal


def _clean(session: Session, org_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise DecisionError("unknown_change_field", field=unknown[0], allowed=", ".join(CHANGEABLE))
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "title":
            title = str(value or "").strip()
            if not title or len(title) > MAX_TITLE or _CONTROL_IN_LINE.search(title):
                raise DecisionError("title_invalid", limit=str(MAX_TITLE))
            out[key] = title
        elif key == "description":
            text = str(value or "").strip()
            if len(text) > MAX_DESCRIPTION or "\x00" in text:
                raise DecisionError("description_invalid", limit=str(MAX_DESCRIPTION))
            out[key] = text
        elif key == "department_id":
            out[key] = checks.department(session, org_id, value).id
        elif key == "goal_id":
            out[key] = checks.goal(session, org_id, value).id
        else:  # contact_id: None takes the contact off the measure
            out[key] = None if value is None else checks.contact(session, org_id, value).id
    return out


def change_measure(
    session: Session,
    *,
    decision: Decision,
    measure: Measure,
    changes: Mapping[str, Any],
    actor: str,
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """Apply the fields of ``changes`` that differ; returns them as ``{field: {from, to}}``.

    Raises ``changes_empty`` when nothing would change: an applied proposal must show what.
    """
    wanted = _clean(session, decision.organisation_id, changes)
    diff = {
        key: {"from": getattr(measure, key), "to": value}
        for key, value in wanted.items()
        if getattr(measure, key) != value
    }
    if not diff:
        raise DecisionError("changes_empty")
    for key, change in diff.items():
        setattr(measure, key, change["to"])
    session.flush()
    session.expire(measure, ["goal", "department", "contact"])  # relationships follow the ids
    _audit(
        session,
        decision=decision,
        measure=measure,
        event="apply_change_proposal",
        actor=actor,
        now=now,
        payload={"changes": diff},
    )
    return diff
