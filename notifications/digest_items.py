"""What is open in one body's scope now, and whether an item reported earlier was resolved.

An item is open while the stay it was escalated in lasts (a measure's, a data request's or
an Auftrag's), for a status check's part while it is unanswered and its check open, or, for
a decision of the body's meetings, while it is due and not done. The
``digest_item`` outbox rows are facts read here; their status decides nothing. Never writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from notifications.models import Channel, OutboxMessage, OutboxStatus
from notifications.outbox_search import NOT_YET_SENT
from workflow.bodies.models import Body, BodyScope, Meeting
from workflow.bodies.queries import field_ids_of
from workflow.catalogue.models import Goal, Measure
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.deadlines import DeadlinePolicy, EscalationTarget
from workflow.decisions.models import Decision, DecisionStatus
from workflow.indicators.models import (
    DataRequest,
    RequestStatus,
    indicator_goal,
    indicator_measure,
)
from workflow.status_checks.models import StatusCheck, StatusCheckItem, StatusCheckRequest

DIGEST_ITEM = "digest_item"
DECISIONS_AHEAD_DAYS = 14  # a decision enters the digest this many days before it is due
MEASURE, INDICATOR, DECISION = "measure", "indicator", "decision"
STATUS_CHECK = "status_check"
# A represented town's items carry this prefix and the town's id before their own key, so
# they never collide with the district's keys in a member's ``digest_reported``.
TOWN_PREFIX = "town"


@dataclass
class OpenItem:
    """One thing a digest lists. ``key`` names it across digests; ``level`` rising makes it new."""

    key: str
    kind: str  # MEASURE, INDICATOR, DECISION or STATUS_CHECK
    ref_id: int  # measure_cycle, data_request, decision or status_check_request id
    level: int = 0
    row_ids: list[int] = field(default_factory=list)  # its digest_item rows, if escalated
    # A status check's part: its measures in the body's scope, the ones its line names.
    measure_ids: list[int] = field(default_factory=list)


def measure_key(mc_id: int, stay: int) -> str:
    return f"mc:{mc_id}:{stay}"


def open_items(
    session: Session, *, body: Body, policy: DeadlinePolicy, today: date
) -> dict[str, OpenItem]:
    """Everything open in ``body``'s scope on ``today``, by key."""
    fields = (
        set(field_ids_of(session, body_id=body.id))
        if body.scope == BodyScope.SOME_FIELDS.value
        else None
    )
    items: dict[str, OpenItem] = {}
    if body.scope != BodyScope.INDICATORS.value:
        _measures(session, body.organisation_id, fields, items)
        _status_checks(session, body.organisation_id, fields, items)
    _indicators(session, body.organisation_id, fields, policy, items)
    _decisions(session, body, today, items)
    return items


def town_key(town_id: int, key: str) -> str:
    return f"{TOWN_PREFIX}:{town_id}:{key}"


def town_of_key(key: str) -> tuple[int | None, str]:
    """(the town's id, the item's own key) of a town item; (None, key) for any other."""
    prefix, _, rest = key.partition(":")
    town, _, own = rest.partition(":")
    if prefix != TOWN_PREFIX or not town.isdigit():
        return None, key
    return int(town), own


def town_items(
    session: Session,
    *,
    town_id: int,
    policy: DeadlinePolicy,
    year: int,
    measures: bool = True,
) -> dict[str, OpenItem]:
    """The town's escalated items, as a district body's digest lists the district's: its
    measures of the cycle of ``year`` and its status checks (unless ``measures`` is False:
    a body for indicators only) and its indicators, keyed with ``town_key``. The district
    body's fields are the district's, so none narrows the town's; its decisions are the
    body's own and stay out."""
    own: dict[str, OpenItem] = {}
    if measures:
        _measures(session, town_id, None, own, year=year)
        _status_checks(session, town_id, None, own)
    _indicators(session, town_id, None, policy, own)
    out: dict[str, OpenItem] = {}
    for key, item in own.items():
        item.key = town_key(town_id, key)
        out[item.key] = item
    return out


def _measures(
    session: Session,
    org_id: int,
    fields: set[int] | None,
    items: dict[str, OpenItem],
    *,
    year: int | None = None,
) -> None:
    stmt = (
        select(OutboxMessage.id, OutboxMessage.context, MeasureCycle.id, MeasureCycle.stay)
        .join(MeasureCycle, MeasureCycle.id == OutboxMessage.measure_cycle_id)
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .join(Goal, Goal.id == Measure.goal_id)
        .where(
            OutboxMessage.organisation_id == org_id,
            OutboxMessage.channel == Channel.DIGEST.value,
            OutboxMessage.kind == DIGEST_ITEM,
            # An escalation of an earlier stay was answered by the move that ended that stay.
            OutboxMessage.context["stay"].as_integer() == MeasureCycle.stay,
        )
        .order_by(OutboxMessage.id)
    )
    if fields is not None:
        stmt = stmt.where(Goal.field_id.in_(fields))
    if year is not None:
        stmt = stmt.join(Cycle, Cycle.id == MeasureCycle.cycle_id).where(Cycle.year == year)
    for row_id, context, mc_id, stay in session.execute(stmt):
        key = measure_key(mc_id, stay)
        item = items.setdefault(key, OpenItem(key, MEASURE, mc_id))
        item.level = max(item.level, int((context or {}).get("level", 0)))
        item.row_ids.append(row_id)


def _status_checks(
    session: Session, org_id: int, fields: set[int] | None, items: dict[str, OpenItem]
) -> None:
    """Parts escalated to the bodies that are still unanswered in an open check; like a
    measure's, in the digest of every body whose scope covers one of the part's measures."""
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.context, StatusCheckRequest.id)
        .join(
            StatusCheckRequest,
            StatusCheckRequest.id == OutboxMessage.context["status_check_request_id"].as_integer(),
        )
        .join(StatusCheck, StatusCheck.id == StatusCheckRequest.status_check_id)
        .where(
            OutboxMessage.organisation_id == org_id,
            OutboxMessage.channel == Channel.DIGEST.value,
            OutboxMessage.kind == DIGEST_ITEM,
            OutboxMessage.measure_cycle_id.is_(None),
            OutboxMessage.context["stay"].as_integer() == StatusCheckRequest.stay,
            StatusCheckRequest.answered_at.is_(None),
            StatusCheck.closed_at.is_(None),
        )
        .order_by(OutboxMessage.id)
    ).all()
    if not rows:
        return
    request_ids = sorted({request_id for _, _, request_id in rows})
    measures = (
        select(StatusCheckItem.request_id, Measure.id)
        .join(Measure, Measure.id == StatusCheckItem.measure_id)
        .join(Goal, Goal.id == Measure.goal_id)
        .where(StatusCheckItem.request_id.in_(request_ids))
        .order_by(Measure.code)
    )
    if fields is not None:
        measures = measures.where(Goal.field_id.in_(fields))
    in_scope: dict[int, list[int]] = {}
    for request_id, measure_id in session.execute(measures):
        in_scope.setdefault(request_id, []).append(measure_id)
    for row_id, context, request_id in rows:
        if request_id not in in_scope:
            continue
        stay = int((context or {}).get("stay", 0))
        key = status_check_key(request_id, stay)
        item = items.setdefault(
            key, OpenItem(key, STATUS_CHECK, request_id, measure_ids=in_scope[request_id])
        )
        item.level = max(item.level, int((context or {}).get("level", 0)))
        item.row_ids.append(row_id)


def status_check_key(request_id: int, stay: int) -> str:
    return f"sc:{request_id}:{stay}"


def steering_level(policy: DeadlinePolicy) -> int | None:
    """The escalation level at which an overdue delivery reaches the bodies, if any."""
    for i, step in enumerate(policy.escalation_steps):
        if step.target is EscalationTarget.STEERING_GROUP:
            return i + 1
    return None


def _indicators(
    session: Session,
    org_id: int,
    fields: set[int] | None,
    policy: DeadlinePolicy,
    items: dict[str, OpenItem],
) -> None:
    level = steering_level(policy)
    if level is None:
        return
    stmt = select(DataRequest.id, DataRequest.stay, DataRequest.escalation_level).where(
        DataRequest.organisation_id == org_id,
        DataRequest.status == RequestStatus.OPEN.value,
        DataRequest.escalation_level >= level,
    )
    if fields is not None:
        # An indicator belongs to the fields of the goals and measures it is linked to.
        by_goal = (
            select(indicator_goal.c.indicator_id)
            .join(Goal, Goal.id == indicator_goal.c.goal_id)
            .where(Goal.field_id.in_(fields))
        )
        by_measure = (
            select(indicator_measure.c.indicator_id)
            .join(Measure, Measure.id == indicator_measure.c.measure_id)
            .join(Goal, Goal.id == Measure.goal_id)
            .where(Goal.field_id.in_(fields))
        )
        stmt = stmt.where(
            or_(DataRequest.indicator_id.in_(by_goal), DataRequest.indicator_id.in_(by_measure))
        )
    for request_id, stay, reached in session.execute(stmt.order_by(DataRequest.id)):
        key = f"data:{request_id}:{stay}"
        items[key] = OpenItem(key, INDICATOR, request_id, int(reached))


def _decisions(session: Session, body: Body, today: date, items: dict[str, OpenItem]) -> None:
    """The body's decisions due within two weeks or overdue, and its escalated Aufträge."""
    escalated: dict[int, tuple[int, list[int]]] = {}
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.context, Decision.id)
        .join(Decision, Decision.id == OutboxMessage.context["decision_id"].as_integer())
        .where(
            OutboxMessage.organisation_id == body.organisation_id,
            OutboxMessage.channel == Channel.DIGEST.value,
            OutboxMessage.kind == DIGEST_ITEM,
            OutboxMessage.measure_cycle_id.is_(None),
            OutboxMessage.context["body_id"].as_integer() == body.id,
            OutboxMessage.context["stay"].as_integer() == Decision.stay,
            Decision.status != DecisionStatus.DONE.value,
        )
        .order_by(OutboxMessage.id)
    )
    for row_id, context, decision_id in rows:
        level, row_ids = escalated.get(decision_id, (0, []))
        escalated[decision_id] = (
            max(level, int((context or {}).get("level", 0))),
            [*row_ids, row_id],
        )
    due = session.scalars(
        select(Decision.id)
        .join(Meeting, Meeting.id == Decision.meeting_id)
        .where(
            Meeting.body_id == body.id,
            Decision.status != DecisionStatus.DONE.value,
            Decision.due_on.is_not(None),
            Decision.due_on <= today + timedelta(days=DECISIONS_AHEAD_DAYS),
        )
    ).all()
    for decision_id in sorted(set(due) | set(escalated)):
        level, row_ids = escalated.get(decision_id, (0, []))
        key = f"decision:{decision_id}"
        items[key] = OpenItem(key, DECISION, decision_id, level, row_ids)


@dataclass(frozen=True)
class Resolution:
    """How an item reported as open earlier ended: ``state`` is a machine state or a status."""

    key: str
    kind: str
    ref_id: int
    state: str


def resolution(session: Session, key: str) -> Resolution | None:
    """The end of the item ``key`` if it really ended; None if it only left the scope."""
    town, own = town_of_key(key)
    if town is not None:
        ended = resolution(session, own)
        return replace(ended, key=key) if ended is not None else None
    kind, _, rest = key.partition(":")
    ref, _, stay = rest.partition(":")
    if not ref.isdigit():
        return None
    if kind == "mc":
        mc = session.get(MeasureCycle, int(ref))
        if mc is not None and str(mc.stay) != stay:
            return Resolution(key, MEASURE, mc.id, mc.state)
    elif kind == "data":
        request = session.get(DataRequest, int(ref))
        if request is not None and (
            request.status != RequestStatus.OPEN.value or str(request.stay) != stay
        ):
            # A new due date (a new stay) answers the escalation as a delivery would.
            state = request.status if request.status != RequestStatus.OPEN.value else "extended"
            return Resolution(key, INDICATOR, request.id, state)
    elif kind == "sc":
        part = session.get(StatusCheckRequest, int(ref))
        if part is not None:
            if part.answered_at is not None:
                return Resolution(key, STATUS_CHECK, part.id, "answered")
            if part.status_check.closed_at is not None:
                return Resolution(key, STATUS_CHECK, part.id, "closed")
            if str(part.stay) != stay:  # a new due date answers it as a data request's
                return Resolution(key, STATUS_CHECK, part.id, "extended")
    elif kind == "decision":
        decision = session.get(Decision, int(ref))
        if decision is not None and decision.status == DecisionStatus.DONE.value:
            return Resolution(key, DECISION, decision.id, decision.status)
    return None


def pending_rows_closed(session: Session, *, organisation_id: int) -> list[int]:
    """Digest items never reported whose item has ended already: for the outbox's record."""
    measures = (
        select(OutboxMessage.id)
        .join(MeasureCycle, MeasureCycle.id == OutboxMessage.measure_cycle_id)
        .where(
            OutboxMessage.context["stay"].as_integer() != MeasureCycle.stay,
        )
    )
    decisions = (
        select(OutboxMessage.id)
        .join(Decision, Decision.id == OutboxMessage.context["decision_id"].as_integer())
        .where(
            OutboxMessage.measure_cycle_id.is_(None),
            or_(
                Decision.status == DecisionStatus.DONE.value,
                OutboxMessage.context["stay"].as_integer() != Decision.stay,
            ),
        )
    )
    status_checks = (
        select(OutboxMessage.id)
        .join(
            StatusCheckRequest,
            StatusCheckRequest.id == OutboxMessage.context["status_check_request_id"].as_integer(),
        )
        .join(StatusCheck, StatusCheck.id == StatusCheckRequest.status_check_id)
        .where(
            OutboxMessage.measure_cycle_id.is_(None),
            or_(
                StatusCheckRequest.answered_at.is_not(None),
                StatusCheck.closed_at.is_not(None),
                OutboxMessage.context["stay"].as_integer() != StatusCheckRequest.stay,
            ),
        )
    )
    pending = (
        OutboxMessage.organisation_id == organisation_id,
        OutboxMessage.channel == Channel.DIGEST.value,
        OutboxMessage.kind == DIGEST_ITEM,
        OutboxMessage.status == OutboxStatus.PENDING.value,
        NOT_YET_SENT,
    )
    return [
        *session.scalars(measures.where(*pending)),
        *session.scalars(decisions.where(*pending)),
        *session.scalars(status_checks.where(*pending)),
    ]
