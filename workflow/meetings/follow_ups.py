"""What a body follows up beyond the measures: indicators off track and the decisions its
earlier meetings left open (carried to every meeting until they are done).

Returns ``ProposedItem``s with a reason code and parameters, like workflow/meetings/sources.py.
Reads only; never writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.bodies.models import Meeting
from workflow.catalogue.models import Goal, Measure
from workflow.decisions.queries import open_decisions
from workflow.indicators.models import Indicator, indicator_goal, indicator_measure
from workflow.indicators.summary import indicator_summaries
from workflow.meetings.items import ProposedItem, Scope, title_of
from workflow.meetings.models import AgendaKind
from workflow.reports.german import code_key


def _indicator_fields(session: Session, indicator_ids: Iterable[int]) -> dict[int, set[int]]:
    """{indicator id: the fields of its goals and of its measures' goals}."""
    ids = list(indicator_ids)
    out: dict[int, set[int]] = defaultdict(set)
    by_goal = select(indicator_goal.c.indicator_id, Goal.field_id).join(
        Goal, Goal.id == indicator_goal.c.goal_id
    )
    by_measure = (
        select(indicator_measure.c.indicator_id, Goal.field_id)
        .join(Measure, Measure.id == indicator_measure.c.measure_id)
        .join(Goal, Goal.id == Measure.goal_id)
    )
    for query, column in ((by_goal, indicator_goal), (by_measure, indicator_measure)):
        for indicator_id, field_id in session.execute(query.where(column.c.indicator_id.in_(ids))):
            out[indicator_id].add(field_id)
    return out


def indicators_off_track(session: Session, scope: Scope, today: date) -> list[ProposedItem]:
    """Indicators whose series runs against their direction or away from their target."""
    off = {
        s.code: s
        for s in indicator_summaries(session, organisation_id=scope.organisation_id, until=today)
        if s.on_track is False
    }
    indicators = session.scalars(
        select(Indicator).where(
            Indicator.organisation_id == scope.organisation_id, Indicator.code.in_(list(off))
        )
    ).all()
    if scope.field_ids is not None:
        fields = _indicator_fields(session, (i.id for i in indicators))
        indicators = [i for i in indicators if fields.get(i.id, set()) & scope.field_ids]
    out = []
    for indicator in sorted(indicators, key=lambda i: code_key(i.code)):
        s = off[indicator.code]
        last = "" if s.last_value is None else f"{s.last_value:g}"
        out.append(
            ProposedItem(
                kind=AgendaKind.INDICATOR_OFF_TRACK.value,
                title=title_of(indicator.code, indicator.statement),
                indicator_id=indicator.id,
                reason="indicator_off_track",
                details={"trend": s.trend, "last_value": last, "unit": s.unit},
            )
        )
    return out


def open_decisions_of_earlier_meetings(session: Session, meeting: Meeting) -> list[ProposedItem]:
    """Decisions of this body's earlier meetings that are not done: carried until they are."""
    decisions = open_decisions(session, body_id=meeting.body_id, before=meeting.held_on)
    held = dict(
        session.execute(
            select(Meeting.id, Meeting.held_on).where(
                Meeting.id.in_({d.meeting_id for d in decisions})
            )
        ).all()
    )
    return [
        ProposedItem(
            kind=AgendaKind.OPEN_DECISION.value,
            title=title_of(" ".join(d.text.split())) or f"#{d.id}",
            decision_id=d.id,
            reason="open_decision",
            details={
                "decision_kind": d.kind,
                "status": d.status,
                "held_on": held[d.meeting_id].isoformat(),
                "due_on": d.due_on.isoformat() if d.due_on else "",
            },
        )
        for d in decisions
    ]
