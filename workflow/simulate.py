"""``zielflow simulate``: the real engine under a fast-forward clock, with simulated people.

Real database, real sweep, digests and sender, a real SMTP sink; only the people are a
seeded random model: the coordinator holds the Erstgespräche and accepts reviews, the
departments answer after the invitation or the first, second or final reminder, and some
never answer; the bodies meet, decide and give Aufträge (workflow/simulate_bodies.py); the
contacts answer status checks and milestones (workflow/simulate_status_checks.py). The
same seed and data give the same summary.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from notifications.sink import RecordingHandler, start_sink
from workflow import runtime
from workflow import simulate_bodies as bodies_model
from workflow import simulate_status_checks as status_model
from workflow.catalogue.models import Contact, Measure, Organisation
from workflow.catalogue.service import ensure_organisation, import_catalogue
from workflow.clock import FrozenClock
from workflow.config import Settings
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import AuditEvent, Cycle, MeasureCycle, Review, TargetAgreement
from workflow.cycles.service import open_cycle, record_interview
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar
from workflow.decisions.assignment_mail import LINK_KINDS
from workflow.demo_data import ensure_people
from workflow.indicators import simulation as data_sources
from workflow.indicators.importer import import_indicators
from workflow.indicators.simulation import DataSources
from workflow.machine import Event, State
from workflow.migrate import upgrade
from workflow.simulate_organisations import (
    OrgPlan,
    OrgRun,
    org_seed,
    organisation_plans,
    organisation_summary,
    sending_organisations,
    summed,
)
from workflow.tasks import TickReport, tick
from workflow.transitions import move

COORDINATOR = "user:simulation-coordinator"
# After how many reminders a department answers; None never answers.
ANSWER_AFTER: tuple[tuple[int | None, int], ...] = ((0, 25), (1, 35), (2, 20), (3, 10), (None, 10))
REMINDER_KINDS = ("reminder", "final_reminder")
WAITING = (State.TARGET_AGREEMENT.value, State.REVIEW.value)


@dataclass(frozen=True)
class Item:
    """What the simulated people know of a measure-in-cycle when they act."""

    id: int
    state: str
    stay: int
    version: int
    entered_state_at: datetime
    due_on: date | None
    contact_id: int | None
    contact_name: str


@dataclass
class People:
    """The seeded decisions of every simulated person, drawn once per stay in a state."""

    rng: random.Random
    plans: dict[tuple[int, int], Any] = field(default_factory=dict)
    # A drop proposal waits for a body's Beschluss; without modelled bodies the coordinator
    # follows it at once.
    drops_wait_for_bodies: bool = False
    # Status checks and milestones; None leaves agreements without milestones.
    status: status_model.StatusPeople | None = None

    def plan(self, mc: Item, make: Any) -> Any:
        key = (mc.id, mc.stay)
        if key not in self.plans:
            self.plans[key] = make()
        return self.plans[key]

    def plan_extension(self, mc: Item) -> bool:
        """Whether this stay's department asks for an extension: drawn once per measure."""
        key = (-mc.id, 0)
        if key not in self.plans:
            self.plans[key] = self.rng.random() < 0.04
        wanted = bool(self.plans[key])
        self.plans[key] = False  # once granted, never again
        return wanted

    def answer_plan(self) -> tuple[int | None, int]:
        choices, weights = zip(*ANSWER_AFTER, strict=True)
        return self.rng.choices(choices, weights)[0], self.rng.randint(0, 4)

    def pick(self, options: list[tuple[str, int]]) -> str:
        names, weights = zip(*options, strict=True)
        return str(self.rng.choices(names, weights)[0])


def run_simulation(
    *,
    database_url: str,
    start: date,
    days: int,
    seed: int,
    catalogue: Path,
    var_dir: Path,
    organisation: str = "simulation",
    state: str = "NW",
    indicators: Path | None = None,
    bodies: bool = True,
    organisations: int = 1,
) -> dict[str, Any]:
    """``indicators``: a file for ``import-indicators`` whose sources then deliver; the CLI
    passes the example indicators with the example catalogue (they name its codes).
    ``bodies`` False leaves the bodies without meetings: the coordinator then follows every
    drop proposal at once, as before bodies met (for tests built on that older world).
    ``organisations`` above 1: a district (slug ``organisation``) and that many towns under
    it, each with its own copy of the catalogue, simulated together in one database."""
    settings_probe = Settings(database_url=database_url, var_dir=var_dir)
    upgrade(settings_probe.database_url)
    port = _free_port()
    sink = RecordingHandler(text_of=LINK_KINDS)
    controller, _ = start_sink("127.0.0.1", port, handler=sink)
    clock = FrozenClock(datetime(start.year, start.month, start.day, 8, 0, tzinfo=UTC))
    settings = Settings(
        database_url=database_url,
        var_dir=var_dir,
        smtp_host="127.0.0.1",
        smtp_port=port,
        mail_from="zielflow@simulation.example.org",
    )
    previous = runtime._current
    rt = runtime.build(settings, clock)
    runtime.install(rt)
    try:
        return _simulate(
            rt,
            clock,
            sink,
            start=start,
            days=days,
            seed=seed,
            catalogue=catalogue,
            organisation=organisation,
            state=state,
            indicators=indicators,
            model_bodies=bodies,
            plans=organisation_plans(organisation, organisations, catalogue, var_dir),
        )
    finally:
        controller.stop()
        runtime.install(previous)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _set_up(s: Session, plan: OrgPlan, state: str) -> Organisation:
    org = ensure_organisation(s, slug=plan.slug, name=plan.name, state=state, kind=plan.kind)
    if plan.parent is not None:
        parent = s.scalars(select(Organisation).where(Organisation.slug == plan.parent)).one()
        org.parent_id = parent.id
    import_catalogue(session=s, organisation_id=org.id, path=plan.catalogue)
    ensure_people(s, org)
    return org


def _simulate(
    rt: runtime.Runtime,
    clock: FrozenClock,
    sink: RecordingHandler,
    *,
    start: date,
    days: int,
    seed: int,
    catalogue: Path,
    organisation: str,
    state: str,
    indicators: Path | None,
    model_bodies: bool,
    plans: list[OrgPlan] | None = None,
) -> dict[str, Any]:
    plans = plans or organisation_plans(organisation, 1, catalogue, rt.settings.var_dir)
    org_ids: list[int] = []
    for plan in plans:
        with unit_of_work(rt.sessions) as s:
            org = _set_up(s, plan, state)
            org_ids.append(org.id)
            # All organisations share state and timezone, so one calendar serves them all.
            cal = calendar_of(org)
    clock.set(cal.at_local(start, 9))
    if indicators is not None:
        for org_id in org_ids:
            with unit_of_work(rt.sessions) as s:
                import_indicators(
                    session=s, organisation_id=org_id, path=indicators, now=clock.now(), today=start
                )
    for org_id in org_ids:
        with unit_of_work(rt.sessions) as s:
            if (
                s.scalars(
                    select(Cycle).where(Cycle.organisation_id == org_id, Cycle.year == start.year)
                ).first()
                is None
            ):
                open_cycle(
                    session=s,
                    clock=clock,
                    organisation_id=org_id,
                    year=start.year,
                    actor=COORDINATOR,
                )
    runs = [
        OrgRun(
            org_id,
            bodies_model.start(rt, org_id, org_seed(seed, i), enabled=model_bodies),
            status_model.start(org_seed(seed, i), start, actor=COORDINATOR),
        )
        for i, org_id in enumerate(org_ids)
    ]
    # The departments of every organisation act in one pass over all measures, as the
    # sweep and the sender do; the agreements' milestones draw from the first's stream.
    people = People(
        random.Random(seed),
        drops_wait_for_bodies=runs[0].bodies.decide_drops,
        status=runs[0].status,
    )
    digests = Counter[str]()
    # The data sources draw from a stream of their own, so adding indicators leaves the
    # departments' behaviour for a seed as it was.
    sources = DataSources(random.Random(f"data-sources:{seed}"))
    for offset in range(days):
        day = start + timedelta(days=offset)
        clock.set(cal.at_local(day, 8) + timedelta(minutes=5))
        _count(digests, tick(rt))
        if cal.is_working_day(day):
            clock.set(cal.at_local(day, 11))
            for run in runs:
                _open_wanted_cycle(rt, clock, run.org_id, day)
            _act(rt, clock, people, cal, day)
            data_sources.act(rt, clock, sources, cal, day)
            for run in runs:
                bodies_model.act(rt, clock, run.bodies, cal, day, sink)
            for run in runs:
                status_model.act(rt, clock, run.status, cal, day, run.org_id)
        clock.set(cal.at_local(day, 16))
        _count(digests, tick(rt))
    end = start + timedelta(days=days)
    summary = _summary(rt, sink, org_ids[0], cal, start=start, end=end, days=days, seed=seed)
    # Digests queued, and member periods that passed without anything new to tell.
    summary["digests"] = {"sent": digests["sent"], "skipped": digests["skipped"]}
    today = cal.local_date(clock.now())
    with rt.sessions() as s:
        senders = sending_organisations(s, sink)
        per_org = [
            organisation_summary(s, org_id, senders, today=today, end=end, waiting=WAITING)
            for org_id in org_ids
        ]
    for key in ("meetings", "decisions", "status_checks", "milestones"):
        summary[key] = summed([entry[key] for entry in per_org])
    summary["organisations"] = per_org
    return summary


def _open_wanted_cycle(rt: runtime.Runtime, clock: FrozenClock, org_id: int, day: date) -> None:
    wanted = _next_cycle_wanted(rt, org_id, day)
    if wanted is not None:
        with unit_of_work(rt.sessions) as s:
            open_cycle(
                session=s,
                clock=clock,
                organisation_id=org_id,
                year=wanted,
                actor=COORDINATOR,
            )


def _count(digests: Counter[str], report: TickReport) -> None:
    digests["sent"] += report.digests
    digests["skipped"] += report.digests_skipped


def _next_cycle_wanted(rt: runtime.Runtime, org_id: int, day: date) -> int | None:
    """The year whose cycle the coordinator opens today: the new year's in mid-January, and
    the one an ``open_cycle_reminder`` asks for as soon as it arrives. The sweep carries the
    accepted reviews waiting in Neuplanung into it (workflow/cycles/carry.py)."""
    if day.month == 1 and day.day >= 15 and _cycle_missing(rt, org_id, day.year):
        return day.year
    with rt.sessions() as s:
        asked = s.scalars(
            select(OutboxMessage.context["next_year"].as_integer())
            .where(
                OutboxMessage.organisation_id == org_id,
                OutboxMessage.kind == "open_cycle_reminder",
            )
            .distinct()
        ).all()
    return next((y for y in sorted(asked) if _cycle_missing(rt, org_id, y)), None)


def _cycle_missing(rt: runtime.Runtime, org_id: int, year: int) -> bool:
    with rt.sessions() as s:
        return (
            s.scalars(
                select(Cycle.id).where(Cycle.organisation_id == org_id, Cycle.year == year)
            ).first()
            is None
        )


ACTIVE = (
    State.INITIAL_INTERVIEW.value,
    State.TARGET_AGREEMENT.value,
    State.REVIEW.value,
    State.ASSESSMENT.value,
)
# Today's answers go through the services in transactions of this many items: a commit per
# answer cost more than the answer itself, one per day would hold the write lock too long.
BATCH = 500


@dataclass
class Known:
    """The forms already started for today's answers, read in one query each."""

    agreements: dict[int, TargetAgreement] = field(default_factory=dict)
    reviews: dict[int, Review] = field(default_factory=dict)
    # The stays of today's Erstgespräche, held here because the session's identity map holds
    # rows only weakly: ``record_interview`` then finds each without a query of its own.
    stays: list[MeasureCycle] = field(default_factory=list)


# One answer: given the transaction and the forms read for the batch, it does its part.
Work = Callable[[Session, Known], None]


@dataclass(frozen=True)
class Answer:
    mc_id: int
    work: Work
    form: str = ""  # "interview", "agreement" or "review": what the work reads first


def _active(session: Session) -> list[Item]:
    """Every measure-in-cycle the people may act on, as plain rows (no ORM objects)."""
    rows = session.execute(
        select(
            MeasureCycle.id,
            MeasureCycle.state,
            MeasureCycle.stay,
            MeasureCycle.version,
            MeasureCycle.entered_state_at,
            MeasureCycle.due_on,
            Measure.contact_id,
            Contact.name,
        )
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .outerjoin(Contact, Contact.id == Measure.contact_id)
        .where(MeasureCycle.state.in_(ACTIVE))
        .order_by(MeasureCycle.id)
    ).all()
    return [Item(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] or "") for r in rows]


def _reminders_by_stay(session: Session) -> dict[tuple[int, int], list[datetime]]:
    """The reminders sent to the stays now waiting for an answer, by stay."""
    rows = session.execute(
        select(OutboxMessage.measure_cycle_id, OutboxMessage.dedupe_key, OutboxMessage.sent_at)
        .join(MeasureCycle, MeasureCycle.id == OutboxMessage.measure_cycle_id)
        .where(
            MeasureCycle.state.in_(WAITING),
            OutboxMessage.kind.in_(REMINDER_KINDS),
            OutboxMessage.status == "sent",
        )
    ).all()
    out: dict[tuple[int, int], list[datetime]] = {}
    for mc_id, key, sent_at in rows:
        if mc_id is None or sent_at is None:
            continue
        stay = int(key.split(":")[2])
        out.setdefault((mc_id, stay), []).append(sent_at)
    return {k: sorted(v) for k, v in out.items()}


def _drop_proposed(session: Session) -> set[int]:
    """Agreements whose department proposed to drop the measure: they wait for a body."""
    return set(
        session.scalars(
            select(TargetAgreement.measure_cycle_id)
            .join(MeasureCycle, MeasureCycle.id == TargetAgreement.measure_cycle_id)
            .where(
                MeasureCycle.state.in_(WAITING),
                TargetAgreement.decision == "drop_proposed",
                TargetAgreement.submitted_at.is_not(None),
            )
        )
    )


def _act(
    rt: runtime.Runtime, clock: FrozenClock, people: People, cal: BusinessCalendar, day: date
) -> None:
    """Read once, decide for everyone (every draw in the order of the stays), then answer
    through the services in a few transactions."""
    with rt.sessions() as s:
        active = _active(s)
        reminders = _reminders_by_stay(s)
        proposed = _drop_proposed(s)
    answers: list[Answer] = []
    for mc in active:
        answer = _decide(clock, people, cal, day, mc, reminders, proposed)
        if answer is not None:
            answers.append(answer)
    for first in range(0, len(answers), BATCH):
        _write(rt, answers[first : first + BATCH])


def _decide(
    clock: FrozenClock,
    people: People,
    cal: BusinessCalendar,
    day: date,
    mc: Item,
    reminders: dict[tuple[int, int], list[datetime]],
    proposed: set[int],
) -> Answer | None:
    """What this stay's person does today, if anything; draws now, writes later."""
    entered = cal.local_date(mc.entered_state_at)
    if mc.state == State.INITIAL_INTERVIEW.value:
        return _interview(clock, people, day, mc, entered)
    if mc.state in WAITING and mc.id not in proposed:
        after, delay = people.plan(mc, people.answer_plan)
        sent = reminders.get((mc.id, mc.stay), [])
        if sent and mc.due_on and people.plan_extension(mc):
            # Some departments ask for more time after the first reminder; the coordinator agrees.
            payload = {
                "due_on": (mc.due_on + timedelta(days=21)).isoformat(),
                "reason": "Personalwechsel",
            }
            return Answer(mc.id, lambda s, _k: _move(s, clock, mc, Event.EXTEND_DEADLINE, payload))
        if after is None or len(sent) < after:
            return None
        since = cal.local_date(sent[after - 1]) if after else entered
        if day >= since + timedelta(days=delay):
            return _answer(clock, people, mc, day)
        return None
    if mc.state == State.ASSESSMENT.value:
        wait, send_back = people.plan(
            mc, lambda: (people.rng.randint(1, 8), people.rng.random() < 0.05)
        )
        if day >= entered + timedelta(days=wait):
            event, payload = (
                (Event.SEND_BACK, {"comment": "Bitte Zahlen ergänzen"})
                if send_back
                else (Event.ACCEPT_REVIEW, {})
            )
            return Answer(mc.id, lambda s, _k: _move(s, clock, mc, event, payload))
    return None


def _interview(
    clock: FrozenClock, people: People, day: date, mc: Item, entered: date
) -> Answer | None:
    when = people.plan(mc, lambda: entered + timedelta(days=people.rng.randint(3, 45)))
    if day < when:
        return None
    decision = people.pick([("keep", 80), ("adapt", 15), ("drop", 5)])
    status = people.pick([("in_progress", 50), ("not_started", 30), ("ongoing", 20)])

    def interview(s: Session, _known: Known) -> None:
        record_interview(
            session=s,
            clock=clock,
            measure_cycle_id=mc.id,
            expected_version=mc.version,
            actor=COORDINATOR,
            decision=decision,
            held_on=day,
            notes="simuliert",
            implementation_status=status,
        )

    return Answer(mc.id, interview, "interview")


def _write(rt: runtime.Runtime, answers: list[Answer]) -> None:
    """One transaction for a batch of answers, each through its service; the forms they
    continue are read in one query per kind instead of one per answer."""
    with unit_of_work(rt.sessions) as s:
        known = Known(
            agreements=_by_stay(
                s, TargetAgreement, [a.mc_id for a in answers if a.form == "agreement"]
            ),
            reviews=_by_stay(s, Review, [a.mc_id for a in answers if a.form == "review"]),
            stays=_stays(s, [a.mc_id for a in answers if a.form == "interview"]),
        )
        for answer in answers:
            answer.work(s, known)


def _stays(s: Session, mc_ids: list[int]) -> list[MeasureCycle]:
    if not mc_ids:
        return []
    return list(s.scalars(select(MeasureCycle).where(MeasureCycle.id.in_(mc_ids))))


def _by_stay(s: Session, model: Any, mc_ids: list[int]) -> dict[int, Any]:
    if not mc_ids:
        return {}
    rows = s.scalars(select(model).where(model.measure_cycle_id.in_(mc_ids)).order_by(model.id))
    out: dict[int, Any] = {}
    for row in rows:
        out.setdefault(row.measure_cycle_id, row)  # the first, as ``.first()`` found it
    return out


def _answer(clock: FrozenClock, people: People, mc: Item, day: date) -> Answer:
    actor = f"contact:{mc.contact_id}"
    now = clock.now()
    if mc.state == State.TARGET_AGREEMENT.value:
        decision = people.pick([("implement", 88), ("deferred", 6), ("drop_proposed", 6)])
        milestones = (
            status_model.agreement_milestones(people.status, agreed_on=day)
            if decision == "implement" and people.status is not None
            else None
        )

        def agree(s: Session, known: Known) -> None:
            agreement = known.agreements.get(mc.id)
            if agreement is None:
                agreement = TargetAgreement(measure_cycle_id=mc.id, decision=decision)
                s.add(agreement)
            agreement.decision, agreement.submitted_at, agreement.submitted_by = (
                decision,
                now,
                actor,
            )
            agreement.targets = "Simulierte Zielvereinbarung"
            agreement.responsible = mc.contact_name
            if decision == "implement":
                if milestones is not None:
                    agreement.milestones = milestones
                _move(s, clock, mc, Event.SUBMIT_AGREEMENT, {}, actor)
                status_model.sync_milestones(
                    s, measure_cycle_id=mc.id, agreement=agreement, now=now
                )
            elif decision == "deferred":
                _move(s, clock, mc, Event.DEFER, {"reason": "Personalmangel"}, actor)
            elif people.drops_wait_for_bodies:
                # As the form does: the measure stays, flagged, for a body's Beschluss.
                agreement.reason = "Angebot wird anderweitig finanziert"
            else:  # without bodies the coordinator follows the proposal at once
                _move(s, clock, mc, Event.DROP, {"reason": "Streichung vorgeschlagen"}, COORDINATOR)

        return Answer(mc.id, agree, "agreement")
    achievement = people.pick(
        [("erreicht", 45), ("teilweise", 30), ("nicht_erreicht", 15), ("nicht_begonnen", 10)]
    )
    proposal = people.pick([("continue", 60), ("adapt", 30), ("drop", 10)])

    def review(s: Session, known: Known) -> None:
        row = known.reviews.get(mc.id)
        if row is None:
            row = Review(measure_cycle_id=mc.id, achievement=achievement, proposal=proposal)
            s.add(row)
        row.achievement, row.proposal = achievement, proposal
        row.submitted_at, row.submitted_by = now, actor
        row.proposal_text = "Simulierter Vorschlag"
        _move(s, clock, mc, Event.SUBMIT_REVIEW, {}, actor)

    return Answer(mc.id, review, "review")


def _move(
    s: Session,
    clock: FrozenClock,
    mc: Item,
    event: Event,
    payload: dict[str, Any],
    actor: str = COORDINATOR,
) -> None:
    move(
        session=s,
        clock=clock,
        measure_cycle_id=mc.id,
        event=event,
        expected_version=mc.version,
        actor=actor,
        payload=payload,
    )


def _summary(
    rt: runtime.Runtime,
    sink: RecordingHandler,
    org_id: int,
    cal: BusinessCalendar,
    *,
    start: date,
    end: date,
    days: int,
    seed: int,
) -> dict[str, Any]:
    emails = Counter(m.kind for m in sink.received)
    today = cal.local_date(rt.clock.now())
    with rt.sessions() as s:
        transitions = (
            s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.from_state.is_not(None))
            )
            or 0
        )
        outbox = dict(
            s.execute(select(OutboxMessage.kind, func.count()).group_by(OutboxMessage.kind)).all()
        )
        statuses = dict(
            s.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
        states = dict(
            s.execute(select(MeasureCycle.state, func.count()).group_by(MeasureCycle.state)).all()
        )
        overdue = (
            s.scalar(
                select(func.count())
                .select_from(MeasureCycle)
                .where(MeasureCycle.state.in_(WAITING), MeasureCycle.due_on < today)
            )
            or 0
        )
        measures = s.scalar(select(func.count(func.distinct(MeasureCycle.measure_id)))) or 0
        render_failures = (
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.last_error.like("render:%"))
            )
            or 0
        )
        org = s.get(Organisation, org_id)
        data = data_sources.summary(s)
    return {
        "organisation": org.slug if org else "",
        "start": start.isoformat(),
        "end": end.isoformat(),
        "days": days,
        "seed": seed,
        "measures": measures,
        "transitions": int(transitions),
        "emails": dict(sorted(emails.items())),
        "emails_total": sum(emails.values()),
        "escalations": {
            "department_head": int(outbox.get("escalation_head", 0)),
            "steering_group": int(outbox.get("digest_item", 0)),
        },
        "overdue_at_end": int(overdue),
        "states_at_end": dict(sorted(states.items())),
        "outbox_status": dict(sorted(statuses.items())),
        "render_failures": int(render_failures),
        "data_requests": data,
    }
