"""Where a meeting's proposed agenda comes from, as far as measures go: field reports, drop
proposals, reviews to accept and escalations.

Each source reads the body's organisation (every open cycle, not only the newest) within the
body's scope and returns ``ProposedItem``s whose ``reason`` is a code with ``details`` as its
parameters: the edge words them. Titles are the data's own names (code and title of a
measure, a field), never a sentence. Reads only; never writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Department, Field, Goal, Measure, MeasureStatus
from workflow.cycles.models import Cycle, MeasureCycle, Review, TargetAgreement
from workflow.deadlines import DeadlinePolicy, EscalationTarget
from workflow.machine import STATES, State
from workflow.meetings.items import ProposedItem, Scope, title_of
from workflow.meetings.models import AgendaKind
from workflow.reports.german import code_key

# The phases in which the heads report on the state of implementation (seed 000's guests).
REPORTING = (State.IMPLEMENTATION.value, State.REVIEW.value)
DROP_PROPOSED = "drop_proposed"  # TargetAgreement.decision
DROP = "drop"  # Review.proposal


@dataclass(frozen=True)
class _Row:
    mc: MeasureCycle
    measure: Measure
    field_id: int
    department: str


def _measure_rows(session: Session, scope: Scope, *where: Any) -> list[_Row]:
    """Measures-in-cycle of the scope, still in the catalogue, in the order of their codes."""
    rows = session.execute(
        select(MeasureCycle, Measure, Goal.field_id, Department.name)
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .join(Goal, Goal.id == Measure.goal_id)
        .join(Department, Department.id == Measure.department_id)
        .where(
            MeasureCycle.organisation_id == scope.organisation_id,
            Measure.status != MeasureStatus.DROPPED.value,
            *scope.field_clause(),
            *where,
        )
    ).all()
    out = [_Row(mc, measure, field_id, dept) for mc, measure, field_id, dept in rows]
    return sorted(out, key=lambda r: (code_key(r.measure.code), r.mc.cycle_id))


def _measure_item(kind: AgendaKind, row: _Row, reason: str, **details: object) -> ProposedItem:
    return ProposedItem(
        kind=kind.value,
        title=title_of(row.measure.code, row.measure.title),
        measure_cycle_id=row.mc.id,
        reason=reason,
        details={"department": row.department, **{k: str(v) for k, v in details.items()}},
    )


def reporting_departments(session: Session, scope: Scope) -> dict[int, set[int]]:
    """{field id: ids of the departments whose measures there are in Umsetzung or Review}."""
    out: dict[int, set[int]] = defaultdict(set)
    for row in _measure_rows(session, scope, MeasureCycle.state.in_(REPORTING)):
        out[row.field_id].add(row.measure.department_id)
    return out


def field_reports(session: Session, scope: Scope) -> list[ProposedItem]:
    """One report per field with measures in Umsetzung or Review; its heads are the guests."""
    counts: dict[int, int] = defaultdict(int)
    for row in _measure_rows(session, scope, MeasureCycle.state.in_(REPORTING)):
        counts[row.field_id] += 1
    fields = session.scalars(select(Field).where(Field.id.in_(list(counts)))).all()
    return [
        ProposedItem(
            kind=AgendaKind.FIELD_REPORT.value,
            title=title_of(f.code, f.name),
            field_id=f.id,
            reason="field_report",
            details={"measures": str(counts[f.id])},
        )
        for f in sorted(fields, key=lambda f: code_key(f.code))
    ]


def drop_proposals(session: Session, scope: Scope) -> list[ProposedItem]:
    """Measures whose department proposed to drop them, in an agreement or a review."""
    agreements = {
        a.measure_cycle_id: a
        for a in session.scalars(
            select(TargetAgreement)
            .join(MeasureCycle, MeasureCycle.id == TargetAgreement.measure_cycle_id)
            .where(
                MeasureCycle.organisation_id == scope.organisation_id,
                MeasureCycle.state == State.TARGET_AGREEMENT.value,
                TargetAgreement.decision == DROP_PROPOSED,
                TargetAgreement.submitted_at.is_not(None),
            )
        )
    }
    reviews = {
        r.measure_cycle_id: r
        for r in session.scalars(
            select(Review)
            .join(MeasureCycle, MeasureCycle.id == Review.measure_cycle_id)
            .where(
                MeasureCycle.organisation_id == scope.organisation_id,
                # Submitted (assessment) or accepted (replanning): not yet dropped either way.
                MeasureCycle.state.in_((State.ASSESSMENT.value, State.REPLANNING.value)),
                Review.proposal == DROP,
                Review.submitted_at.is_not(None),
            )
        )
    }
    out = []
    for row in _measure_rows(session, scope, MeasureCycle.id.in_([*agreements, *reviews])):
        agreement = agreements.get(row.mc.id)
        if agreement is not None:
            out.append(
                _measure_item(
                    AgendaKind.DROP_PROPOSAL, row, "agreement_drop", text=agreement.reason
                )
            )
        else:
            review = reviews[row.mc.id]
            out.append(
                _measure_item(
                    AgendaKind.DROP_PROPOSAL, row, "review_drop", text=review.proposal_text
                )
            )
    return out


def reviews_to_accept(session: Session, scope: Scope) -> list[ProposedItem]:
    """Reviews submitted and waiting in Bewertung for the coordinator to accept them."""
    reviews = {
        r.measure_cycle_id: r
        for r in session.scalars(
            select(Review)
            .join(MeasureCycle, MeasureCycle.id == Review.measure_cycle_id)
            .where(
                MeasureCycle.organisation_id == scope.organisation_id,
                MeasureCycle.state == State.ASSESSMENT.value,
            )
        )
    }
    out = []
    for row in _measure_rows(session, scope, MeasureCycle.state == State.ASSESSMENT.value):
        review = reviews.get(row.mc.id)
        if review is None:  # moved on by hand, without the department's form
            out.append(_measure_item(AgendaKind.REVIEW_ACCEPTANCE, row, "review_waiting"))
            continue
        out.append(
            _measure_item(
                AgendaKind.REVIEW_ACCEPTANCE,
                row,
                "review_submitted",
                achievement=review.achievement,
                proposal=review.proposal,
            )
        )
    return out


def body_level(policy: DeadlinePolicy) -> int | None:
    """The escalation level at which an item reaches the bodies: the first step to them."""
    for index, step in enumerate(policy.escalation_steps, start=1):
        if step.target is EscalationTarget.STEERING_GROUP:
            return index
    return None


def escalations(session: Session, scope: Scope) -> list[ProposedItem]:
    """Items whose current stay escalated as far as the bodies (each cycle's own policy)."""
    levels = {
        cycle.id: body_level(DeadlinePolicy.model_validate(cycle.policy))
        for cycle in session.scalars(
            select(Cycle).where(Cycle.organisation_id == scope.organisation_id)
        )
    }
    live = [s.value for s, spec in STATES.items() if not spec.terminal]
    out = []
    for row in _measure_rows(
        session, scope, MeasureCycle.escalation_level > 0, MeasureCycle.state.in_(live)
    ):
        level = levels.get(row.mc.cycle_id)
        if level is not None and row.mc.escalation_level >= level:
            due = row.mc.due_on.isoformat() if row.mc.due_on else ""
            out.append(
                _measure_item(
                    AgendaKind.ESCALATION,
                    row,
                    "escalated",
                    level=row.mc.escalation_level,
                    state=row.mc.state,
                    due_on=due,
                )
            )
    return out


def unique_by_measure(items: Iterable[ProposedItem]) -> list[ProposedItem]:
    """One item per measure-in-cycle: the first source that names it wins."""
    seen: set[int] = set()
    out = []
    for item in items:
        if item.measure_cycle_id is not None:
            if item.measure_cycle_id in seen:
                continue
            seen.add(item.measure_cycle_id)
        out.append(item)
    return out
