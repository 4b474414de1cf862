"""What is late and why, and what waits for a decision, in one cycle on a given day; never writes.

"Late" is derived as everywhere in zielflow: the due date lies before the report date and the
measure waits in a phase in which someone owes a step (Erstgespräch, Zielvereinbarung,
Review, Bewertung, Neuplanung). A cycle's report counts the open items of earlier cycles too,
each marked with its own cycle. The reason is the missing step, the drop proposal that waits for the
coordinator, the last extension's reason and the obstacles named in a review.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage, OutboxStatus
from workflow.catalogue.models import Contact, Department, Measure, Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import AuditEvent, Cycle, MeasureCycle, Review, TargetAgreement
from workflow.cycles.queries import OVERDUE_STATES, in_view_of
from workflow.deadlines import BusinessCalendar, DeadlinePolicy, EscalationTarget
from workflow.machine import LABELS_DE, State
from workflow.reports.german import code_key, day

WAITING = OVERDUE_STATES
DEPARTMENT_OWES: tuple[str, ...] = (State.TARGET_AGREEMENT.value, State.REVIEW.value)
REMINDER_KINDS = ("reminder", "final_reminder")
OPEN_DIGEST = (OutboxStatus.PENDING.value, OutboxStatus.INCLUDED.value)
ACHIEVEMENT_DE = {
    "erreicht": "erreicht",
    "teilweise": "teilweise erreicht",
    "nicht_erreicht": "nicht erreicht",
    "nicht_begonnen": "nicht begonnen",
}
PROPOSAL_DE = {"continue": "fortführen", "adapt": "anpassen", "drop": "beenden"}
_MISSING = {
    State.INITIAL_INTERVIEW.value: "Erstgespräch noch nicht geführt (Koordinierungsstelle)",
    State.TARGET_AGREEMENT.value: "Zielvereinbarung fehlt",
    State.REVIEW.value: "Rückmeldung zur Zielerreichung fehlt",
    State.ASSESSMENT.value: "Bewertung der Rückmeldung durch die Koordinierungsstelle steht aus",
    State.REPLANNING.value: "Der nächste Zyklus ist noch nicht eröffnet (Koordinierungsstelle)",
}


@dataclass(frozen=True)
class LateItem:
    code: str
    title: str
    field_code: str
    department: str
    contact: str
    state: str
    state_label: str
    due_on: date
    days_overdue: int
    reminders_sent: int
    escalation_level: int
    reasons: tuple[str, ...]
    carried_from: int | None = None  # an open item of that earlier cycle, shown as carried
    # Whom the escalation reached, in plain words ("Amtsleitung"); "" when not escalated.
    escalated_to: str = ""


@dataclass(frozen=True)
class DecisionItem:
    code: str
    title: str
    department: str
    since: date | None
    detail: str
    carried_from: int | None = None  # an open item of that earlier cycle, shown as carried


@dataclass(frozen=True)
class OpenDecisions:
    drop_proposals: tuple[DecisionItem, ...]
    awaiting_assessment: tuple[DecisionItem, ...]
    escalated: tuple[DecisionItem, ...]

    @property
    def total(self) -> int:
        return len(self.drop_proposals) + len(self.awaiting_assessment) + len(self.escalated)


def _items(session: Session, cycle: Cycle, *where: object) -> list[tuple[MeasureCycle, str, str]]:
    """Measures-in-cycle with their department and contact name, in code order: the cycle's
    own and the open ones of earlier cycles (``carried_from`` names theirs)."""
    rows = session.execute(
        select(MeasureCycle, Department.name, Contact.name)
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .join(Department, Department.id == Measure.department_id)
        .outerjoin(Contact, Contact.id == Measure.contact_id)
        .where(in_view_of(cycle.id), *where)  # type: ignore[arg-type]
    ).all()
    out = [(mc, dept, contact or "") for mc, dept, contact in rows]
    return sorted(out, key=lambda r: code_key(r[0].measure.code))


def late_items(session: Session, cycle: Cycle, report_date: date) -> list[LateItem]:
    """Late on ``report_date``: longest overdue first, then by code."""
    rows = _items(
        session, cycle, MeasureCycle.due_on < report_date, MeasureCycle.state.in_(WAITING)
    )
    if not rows:
        return []
    ids = [mc.id for mc, _, _ in rows]
    entered = {mc.id: mc.entered_state_at for mc, _, _ in rows}
    reminders: dict[int, int] = {}
    for mc_id, created_at in session.execute(
        select(OutboxMessage.measure_cycle_id, OutboxMessage.created_at).where(
            OutboxMessage.measure_cycle_id.in_(ids),
            OutboxMessage.kind.in_(REMINDER_KINDS),
            OutboxMessage.status == OutboxStatus.SENT.value,
        )
    ):
        # Only the current stay's reminders: those of an earlier stay were answered.
        if mc_id is not None and created_at >= entered[mc_id]:
            reminders[mc_id] = reminders.get(mc_id, 0) + 1
    reasons = _reasons(session, [mc for mc, _, _ in rows])
    items = [
        LateItem(
            code=mc.measure.code,
            title=mc.measure.title,
            field_code=mc.measure.goal.field.code,
            department=dept,
            contact=contact,
            state=mc.state,
            state_label=LABELS_DE[State(mc.state)],
            due_on=mc.due_on,
            days_overdue=(report_date - mc.due_on).days,
            reminders_sent=reminders.get(mc.id, 0),
            escalation_level=mc.escalation_level,
            escalated_to=escalated_to(mc),
            reasons=reasons[mc.id],
            carried_from=carried_from(mc, cycle),
        )
        for mc, dept, contact in rows
        if mc.due_on is not None
    ]
    return sorted(items, key=lambda i: (-i.days_overdue, code_key(i.code)))


ESCALATED_TO_DE = {
    EscalationTarget.DEPARTMENT_HEAD.value: "Amtsleitung",
    EscalationTarget.STEERING_GROUP.value: "Steuerungsgruppe",
}


def escalated_to(mc: MeasureCycle) -> str:
    """The level's target under the cycle's policy: a level is a step of its escalation."""
    if mc.escalation_level <= 0:
        return ""
    steps = DeadlinePolicy.model_validate(mc.cycle.policy).escalation_steps
    if not steps:
        return ""
    target = steps[min(mc.escalation_level, len(steps)) - 1].target
    return ESCALATED_TO_DE.get(target.value, target.value)


def _reasons(session: Session, mcs: list[MeasureCycle]) -> dict[int, tuple[str, ...]]:
    ids = [mc.id for mc in mcs]
    agreements = dict(
        session.execute(
            select(TargetAgreement.measure_cycle_id, TargetAgreement.decision).where(
                TargetAgreement.measure_cycle_id.in_(ids)
            )
        ).all()
    )
    previous_ids = {
        mc.id: int(mc.draft["from_measure_cycle_id"])
        for mc in mcs
        if isinstance(mc.draft.get("from_measure_cycle_id"), int)
    }
    obstacles = dict(
        session.execute(
            select(Review.measure_cycle_id, Review.obstacles).where(
                Review.measure_cycle_id.in_(ids + list(previous_ids.values())),
                Review.obstacles != "",
            )
        ).all()
    )
    extensions: dict[int, tuple[datetime, str]] = {}
    for mc_id, at, payload in session.execute(
        select(AuditEvent.measure_cycle_id, AuditEvent.at, AuditEvent.payload)
        .where(AuditEvent.measure_cycle_id.in_(ids), AuditEvent.event == "extend_deadline")
        .order_by(AuditEvent.at, AuditEvent.id)
    ):
        extensions[mc_id] = (at, str((payload or {}).get("reason") or ""))
    out: dict[int, tuple[str, ...]] = {}
    for mc in mcs:
        reasons = [_MISSING[mc.state]]
        if mc.state == State.TARGET_AGREEMENT.value and agreements.get(mc.id) == "drop_proposed":
            reasons = [
                "Streichung vorgeschlagen; die Entscheidung der Koordinierungsstelle steht aus"
            ]
        elif mc.state == State.REVIEW.value and mc.id in obstacles:
            reasons.append("zur Überarbeitung zurückgegeben")
        extension = extensions.get(mc.id)
        if extension and extension[0] >= mc.entered_state_at and extension[1]:
            reasons.append(f"Frist verlängert: {extension[1]}")
        if mc.id in obstacles:
            reasons.append(f"Hindernisse laut Review: {obstacles[mc.id]}")
        elif previous_ids.get(mc.id) in obstacles:
            reasons.append(
                f"Hindernisse laut Review des Vorjahres: {obstacles[previous_ids[mc.id]]}"
            )
        out[mc.id] = tuple(reasons)
    return out


def open_decisions(session: Session, org: Organisation, cycle: Cycle) -> OpenDecisions:
    """Drop proposals without a decision, reviews awaiting assessment, open escalations."""
    cal = calendar_of(org)

    def local(moment: datetime | None) -> date | None:
        return _local_day(cal, moment)

    drops = []
    proposals = dict(
        session.execute(
            select(TargetAgreement.measure_cycle_id, TargetAgreement)
            .join(MeasureCycle, MeasureCycle.id == TargetAgreement.measure_cycle_id)
            .where(in_view_of(cycle.id), TargetAgreement.decision == "drop_proposed")
        ).all()
    )
    for mc, dept, _ in _items(
        session,
        cycle,
        MeasureCycle.id.in_(list(proposals)),
        MeasureCycle.state == State.TARGET_AGREEMENT.value,
    ):
        agreement = proposals[mc.id]
        detail = f"Begründung: {agreement.reason}" if agreement.reason else "ohne Begründung"
        drops.append(_decision(mc, dept, local(agreement.submitted_at), detail, cycle))
    reviews = {
        r.measure_cycle_id: r
        for r in session.scalars(
            select(Review)
            .join(MeasureCycle, MeasureCycle.id == Review.measure_cycle_id)
            .where(in_view_of(cycle.id))
        )
    }
    assessments = []
    for mc, dept, _ in _items(session, cycle, MeasureCycle.state == State.ASSESSMENT.value):
        review = reviews.get(mc.id)
        detail = (
            f"Zielerreichung: {ACHIEVEMENT_DE.get(review.achievement, review.achievement)}; "
            f"Vorschlag: {PROPOSAL_DE.get(review.proposal, review.proposal)}"
            if review
            else "Rückmeldung zur Zielerreichung liegt vor"
        )
        assessments.append(_decision(mc, dept, local(mc.entered_state_at), detail, cycle))
    return OpenDecisions(tuple(drops), tuple(assessments), tuple(_escalated(session, cycle, local)))


def _local_day(cal: BusinessCalendar, moment: datetime | None) -> date | None:
    return cal.local_date(moment) if moment else None


def _decision(
    mc: MeasureCycle, dept: str, since: date | None, detail: str, cycle: Cycle
) -> DecisionItem:
    return DecisionItem(
        mc.measure.code, mc.measure.title, dept, since, detail, carried_from(mc, cycle)
    )


def carried_from(mc: MeasureCycle, cycle: Cycle) -> int | None:
    """The earlier cycle's year of an item shown in ``cycle``'s report, else None."""
    return mc.cycle.year if mc.cycle_id != cycle.id else None


def _escalated(
    session: Session, cycle: Cycle, local: Callable[[datetime | None], date | None]
) -> list[DecisionItem]:
    """Items in the steering group's digest whose stay has not ended: still open."""
    stays = dict(
        session.execute(
            select(MeasureCycle.id, MeasureCycle.stay).where(in_view_of(cycle.id))
        ).all()
    )
    since: dict[int, datetime] = {}
    level: dict[int, int] = {}
    for mc_id, context, created_at in session.execute(
        select(
            OutboxMessage.measure_cycle_id, OutboxMessage.context, OutboxMessage.created_at
        ).where(
            OutboxMessage.measure_cycle_id.in_(list(stays)),
            OutboxMessage.kind == "digest_item",
            OutboxMessage.status.in_(OPEN_DIGEST),
        )
    ):
        # An escalation of an earlier stay was answered by the move that ended that stay.
        if mc_id is None or (context or {}).get("stay") != stays[mc_id]:
            continue
        since[mc_id] = min(created_at, since.get(mc_id, created_at))
        level[mc_id] = max(int((context or {}).get("level", 0)), level.get(mc_id, 0))
    out = []
    for mc, dept, _ in _items(session, cycle, MeasureCycle.id.in_(list(since))):
        overdue = f", Frist {day(mc.due_on)}" if mc.due_on else ""
        detail = f"{LABELS_DE[State(mc.state)]}{overdue}; Eskalationsstufe {level[mc.id]}"
        out.append(_decision(mc, dept, local(since[mc.id]), detail, cycle))
    return out


def review_drop_proposals(
    session: Session, org: Organisation, cycle: Cycle
) -> tuple[DecisionItem, ...]:
    """Reviews that propose to end the measure, while the coordinator has not re-planned yet."""
    cal = calendar_of(org)
    reviews = {
        r.measure_cycle_id: r
        for r in session.scalars(
            select(Review)
            .join(MeasureCycle, MeasureCycle.id == Review.measure_cycle_id)
            .where(in_view_of(cycle.id), Review.proposal == "drop")
        )
    }
    return tuple(
        _decision(
            mc,
            dept,
            _local_day(cal, reviews[mc.id].submitted_at),
            reviews[mc.id].proposal_text or "Vorschlag: beenden",
            cycle,
        )
        for mc, dept, _ in _items(
            session,
            cycle,
            MeasureCycle.id.in_(list(reviews)),
            MeasureCycle.state.in_((State.ASSESSMENT.value, State.REPLANNING.value)),
        )
    )
