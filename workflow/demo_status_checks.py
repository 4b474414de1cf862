"""The demo's status checks: one answered by its contact, one still open; milestones to see.

Told once, on the days it happened (a clock set back), for an organisation without any
status check, before the meetings' story (their agendas report on the fields with measures
in Umsetzung); it opens this year's cycle on the day the meetings' story has it opened if
there is none yet. Two measures of one contact get their Erstgespräch and their target agreement
with milestones through the agreement form's service (the milestone rows follow the
agreement); the contact confirms one milestone that was due; the coordinator asks for the
status of both; the contact answers: one measure "verzögert" with its next milestone moved,
the other "im Plan". Today the coordinator asks a Handlungsfeld for its status, due in three
weeks, and nobody has answered yet. Never commits: ``demo.prepare`` owns the transaction.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Contact, Field, Measure, Organisation
from workflow.clock import FrozenClock
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import Cycle, MeasureCycle, TargetAgreement
from workflow.cycles.service import open_cycle, record_interview
from workflow.demo_meetings import OPENED as CYCLE_OPENED
from workflow.forms import scope as form_scope
from workflow.forms.submit import submit
from workflow.forms.tokens import Phase, TokenState, issue_token, look_up
from workflow.machine import State
from workflow.milestones.answers import confirm
from workflow.milestones.models import Milestone
from workflow.milestones.sync import sync_from_agreement
from workflow.status_checks.answers import ItemAnswer, MilestoneAnswer, record_answers
from workflow.status_checks.errors import StatusCheckRefused
from workflow.status_checks.models import Stand, StatusCheck, StatusCheckItem, StatusCheckRequest
from workflow.status_checks.selection import Selection
from workflow.status_checks.service import open_status_check

ACTOR = "demo"
# Days before today on which the story happened.
INTERVIEWED, AGREED, ASKED, CONFIRMED, ANSWERED = 30, 27, 14, 8, 6
ASKED_DUE = 10  # days after asking
OPEN_DUE = 21  # days from today for the check nobody has answered yet
DELAYED_NOTE = "Die Stelle der Projektleitung war zwei Monate unbesetzt; der Start verschiebt sich."
ON_TRACK_NOTE = "Die Umsetzung läuft wie vereinbart."
# Per measure: (milestone, days from today); the first measure's first one is moved.
MILESTONES = (
    (("Konzept mit den Trägern abgestimmt", 10), ("Angebot gestartet", 120)),
    (("Räume und Personal gesichert", -9), ("Angebot gestartet", 90)),
)
MOVED_BY = 45  # days the delayed milestone moves


def ensure_status_checks(*, session: Session, org: Organisation, now: datetime) -> None:
    """The story, once for an organisation without status checks."""
    told = session.scalars(
        select(StatusCheck.id).where(StatusCheck.organisation_id == org.id)
    ).first()
    if told is not None:
        return
    cal = calendar_of(org)
    today = cal.local_date(now)
    clock = FrozenClock(now)

    def at(days_before: int, hour: int = 10) -> FrozenClock:
        clock.set(cal.at_local(today - timedelta(days=days_before), hour))
        return clock

    has_cycle = session.scalars(
        select(Cycle.id).where(Cycle.organisation_id == org.id, Cycle.year == today.year)
    ).first()
    if has_cycle is None:
        open_cycle(
            session=session,
            clock=at(CYCLE_OPENED, 9),
            organisation_id=org.id,
            year=today.year,
            actor=ACTOR,
        )
    pair = _two_measures(session, org.id, today.year)
    if pair is not None:
        for mc in pair:
            record_interview(
                session=session,
                clock=at(INTERVIEWED),
                measure_cycle_id=mc.id,
                expected_version=None,
                actor=ACTOR,
                decision="keep",
                held_on=today - timedelta(days=INTERVIEWED),
                notes="Das Angebot wird fortgeführt.",
                implementation_status="in_progress",
            )
        _agree(session, org, at(AGREED), pair, today)
        check = open_status_check(
            session=session,
            clock=at(ASKED),
            organisation_id=org.id,
            selection=Selection(measure_ids=tuple(mc.measure_id for mc in pair)),
            due_on=today - timedelta(days=ASKED - ASKED_DUE),
            actor=ACTOR,
            title="Sachstand für die Sitzung der Steuerungsgruppe",
        )
        delayed, on_track = (_milestones(session, mc.id) for mc in pair)
        confirm(session=session, clock=at(CONFIRMED), milestone_id=on_track[0].id, by=_by(pair[1]))
        _answer(session, at(ANSWERED), check, pair, moved=delayed[0])
    codes = sorted(session.scalars(select(Field.code).where(Field.organisation_id == org.id)))
    clock.set(now)
    # A catalogue without measures that have a contact leaves nobody to ask: no check then.
    with suppress(StatusCheckRefused):
        open_status_check(
            session=session,
            clock=clock,
            organisation_id=org.id,
            selection=Selection(field=codes[0]) if codes else Selection(),
            due_on=today + timedelta(days=OPEN_DUE),
            actor=ACTOR,
            title="Sachstandsabfrage zum Halbjahr",
        )


def _two_measures(
    session: Session, organisation_id: int, year: int
) -> tuple[MeasureCycle, MeasureCycle] | None:
    """The first two measures (by code) of the first contact with two in Erstgespräch."""
    stays = session.scalars(
        select(MeasureCycle)
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .join(Cycle, Cycle.id == MeasureCycle.cycle_id)
        .join(Contact, Contact.id == Measure.contact_id)
        .where(
            MeasureCycle.organisation_id == organisation_id,
            Cycle.year == year,
            MeasureCycle.state == State.INITIAL_INTERVIEW.value,
            Contact.is_head.is_(False),
        )
        .order_by(Measure.code)
    ).all()
    by_contact: dict[int, list[MeasureCycle]] = {}
    for mc in stays:
        mine = by_contact.setdefault(mc.measure.contact_id or 0, [])
        mine.append(mc)
        if len(mine) == 2:
            return mine[0], mine[1]
    return None


def _by(mc: MeasureCycle) -> str:
    return f"contact:{mc.measure.contact_id}"


def _agree(
    session: Session,
    org: Organisation,
    clock: FrozenClock,
    pair: tuple[MeasureCycle, MeasureCycle],
    today: date,
) -> None:
    """Both agreements through the form the contact's email links to, as sent now."""
    contact_id = pair[0].measure.contact_id
    assert contact_id is not None
    now = clock.now()
    raw = issue_token(
        session=session,
        organisation_id=org.id,
        contact_id=contact_id,
        cycle_id=pair[0].cycle_id,
        phase=Phase.TARGET_AGREEMENT,
        expires_at=now + timedelta(days=60),
        now=now,
        issued_by="demo:target_agreement",
    )
    state, token = look_up(session, raw, now)
    assert state is TokenState.VALID and token is not None
    window_start = date(today.year, 1, 1)
    posted = {
        mc.id: {
            "decision": "implement",
            "targets": "Das Angebot wird im vereinbarten Umfang fortgeführt.",
            "responsible": mc.measure.contact.name if mc.measure.contact else "",
            **{
                key: value
                for i, (what, days) in enumerate(plan)
                for key, value in (
                    (f"ms-{i}-what", what),
                    # Within the cycle's window even when the demo starts in early January.
                    (f"ms-{i}-due", max(today + timedelta(days=days), window_start).isoformat()),
                )
            },
        }
        for mc, plan in zip(pair, MILESTONES, strict=True)
    }
    outcome = submit(
        session=session,
        clock=clock,
        scope=form_scope.scope_of(session, token),
        posted=posted,
        only={mc.id for mc in pair},
    )
    assert outcome.ok and sorted(outcome.moved) == sorted(mc.id for mc in pair), outcome
    for mc in pair:
        agreement = session.scalars(
            select(TargetAgreement).where(TargetAgreement.measure_cycle_id == mc.id)
        ).one()
        # Idempotent: the rows exist already if entering Umsetzung made them.
        sync_from_agreement(session=session, measure_cycle=mc, agreement=agreement, now=now)


def _milestones(session: Session, measure_cycle_id: int) -> list[Milestone]:
    return list(
        session.scalars(
            select(Milestone)
            .where(Milestone.measure_cycle_id == measure_cycle_id)
            .order_by(Milestone.position)
        )
    )


def _answer(
    session: Session,
    clock: FrozenClock,
    check: StatusCheck,
    pair: tuple[MeasureCycle, MeasureCycle],
    *,
    moved: Milestone,
) -> None:
    """The contact's one form for both measures: one delayed with a moved milestone."""
    request = session.scalars(
        select(StatusCheckRequest).where(StatusCheckRequest.status_check_id == check.id)
    ).one()
    items = {
        item.measure_id: item.id
        for item in session.scalars(
            select(StatusCheckItem).where(StatusCheckItem.request_id == request.id)
        )
    }
    delayed, on_track = pair
    record_answers(
        session=session,
        clock=clock,
        request_id=request.id,
        answers={
            items[delayed.measure_id]: ItemAnswer(
                stand=Stand.DELAYED,
                note=DELAYED_NOTE,
                milestones=[
                    MilestoneAnswer(
                        moved.id, reached=False, new_date=moved.due_on + timedelta(days=MOVED_BY)
                    )
                ],
            ),
            items[on_track.measure_id]: ItemAnswer(stand=Stand.ON_TRACK, note=ON_TRACK_NOTE),
        },
        by=_by(delayed),
    )
