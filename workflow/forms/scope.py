"""What one valid form link may see: its contact, whose measures, and which of them are answerable.

Every query of the forms goes through here, so a token can never reach another contact's
measures. It never decides whether a token is valid: ``tokens.look_up`` does that first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Contact, Field, Goal, Measure, Organisation
from workflow.cycles.models import Cycle, MeasureCycle, Review, TargetAgreement
from workflow.forms.indicators import IndicatorSlot, indicator_slots
from workflow.forms.models import FormDraft
from workflow.forms.tokens import FormToken, Phase
from workflow.machine import State

# The state a phase's form answers from; answers given in the others may only be corrected.
OPEN_STATE = {Phase.TARGET_AGREEMENT: State.TARGET_AGREEMENT, Phase.REVIEW: State.REVIEW}
_SUBMITTED_STATES = {
    Phase.TARGET_AGREEMENT: (State.IMPLEMENTATION, State.DEFERRED),
    Phase.REVIEW: (State.ASSESSMENT,),
}
Answer = TargetAgreement | Review


@dataclass
class FormScope:
    token: FormToken
    phase: Phase
    contact: Contact  # who holds the link and answers
    owner: Contact  # whose measures the link opens (differs after a delegation)
    organisation: Organisation
    cycle: Cycle

    @property
    def actor(self) -> str:
        return f"contact:{self.contact.id}"

    @property
    def on_behalf_of(self) -> dict[str, Any]:
        """Audit payload naming the original contact when a colleague answers."""
        return {} if self.owner.id == self.contact.id else {"on_behalf_of": self.owner.id}


@dataclass
class FormItem:
    mc: MeasureCycle
    answer: Answer | None
    draft: FormDraft | None
    slots: list[IndicatorSlot] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        """Still waiting in the phase's state: submitting it moves it (or flags it)."""
        return self.mc.state in {s.value for s in OPEN_STATE.values()}

    @property
    def submitted(self) -> bool:
        return self.answer is not None and self.answer.submitted_at is not None


def scope_of(session: Session, token: FormToken) -> FormScope:
    contact = session.get(Contact, token.contact_id)
    owner = session.get(Contact, token.delegated_from_contact_id or token.contact_id)
    org = session.get(Organisation, token.organisation_id)
    cycle = session.get(Cycle, token.cycle_id)
    assert contact and owner and org and cycle, "foreign keys guarantee these rows"
    return FormScope(token, Phase(token.phase), contact, owner, org, cycle)


def _answer_model(phase: Phase) -> type[TargetAgreement] | type[Review]:
    return TargetAgreement if phase is Phase.TARGET_AGREEMENT else Review


def scope_ids(
    session: Session, *, organisation_id: int, cycle_id: int, owner_id: int, phase: Phase
) -> list[int]:
    """The ids of the measures-in-cycle a link of this scope opens, ascending."""
    model = _answer_model(phase)
    submitted = [s.value for s in _SUBMITTED_STATES[phase]]
    return list(
        session.scalars(
            select(MeasureCycle.id)
            .join(Measure, Measure.id == MeasureCycle.measure_id)
            .outerjoin(model, model.measure_cycle_id == MeasureCycle.id)
            .where(
                MeasureCycle.cycle_id == cycle_id,
                MeasureCycle.organisation_id == organisation_id,
                Measure.contact_id == owner_id,
                or_(
                    MeasureCycle.state == OPEN_STATE[phase].value,
                    and_(
                        MeasureCycle.state.in_(submitted),
                        model.id.is_not(None),
                        model.accepted_at.is_(None),
                    ),
                ),
            )
            .order_by(MeasureCycle.id)
        )
    )


def items_in_scope(session: Session, scope: FormScope, *, lock: bool = False) -> list[FormItem]:
    """The owner's measures of this cycle that the phase's form answers or may still correct.

    With ``lock`` the measure rows are locked (ids ascending, so two requests never deadlock)
    and re-read, so a second tab's submit sees what the first one did.
    """
    ids = scope_ids(
        session,
        organisation_id=scope.organisation.id,
        cycle_id=scope.cycle.id,
        owner_id=scope.owner.id,
        phase=scope.phase,
    )
    if not ids:
        return []
    mc_query = select(MeasureCycle).where(MeasureCycle.id.in_(ids)).order_by(MeasureCycle.id)
    if lock:
        mc_query = mc_query.with_for_update(of=MeasureCycle)
    mcs = session.scalars(mc_query.execution_options(populate_existing=True)).unique().all()
    answers = _answers(session, scope.phase, ids)
    drafts = {
        d.measure_cycle_id: d
        for d in session.scalars(
            select(FormDraft).where(
                FormDraft.measure_cycle_id.in_(ids), FormDraft.phase == scope.phase.value
            )
        )
    }
    items = [
        FormItem(mc, answers.get(mc.id), drafts.get(mc.id), indicator_slots(session, mc))
        for mc in mcs
    ]
    return sorted(items, key=_reading_order)


def _answers(session: Session, phase: Phase, ids: list[int]) -> dict[int, Answer]:
    rows: list[Answer] = []
    if phase is Phase.TARGET_AGREEMENT:
        rows.extend(
            session.scalars(
                select(TargetAgreement)
                .where(TargetAgreement.measure_cycle_id.in_(ids))
                .execution_options(populate_existing=True)
            )
        )
    else:
        rows.extend(
            session.scalars(
                select(Review)
                .where(Review.measure_cycle_id.in_(ids))
                .execution_options(populate_existing=True)
            )
        )
    return {row.measure_cycle_id: row for row in rows}


def _reading_order(item: FormItem) -> tuple[str, int, str, str]:
    goal: Goal = item.mc.measure.goal
    field_: Field = goal.field
    return (field_.code, goal.rank, goal.code, item.mc.measure.code)
