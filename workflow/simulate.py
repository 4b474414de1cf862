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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from notifications.sink import CapturingHandler, start_sink
from workflow import runtime
from workflow import simulate_bodies as bodies_model
from workflow import simulate_status_checks as status_model
from workflow.catalogue.models import Organisation
from workflow.catalogue.service import ensure_organisation, import_catalogue
from workflow.clock import FrozenClock
from workflow.config import Settings
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import AuditEvent, Cycle, MeasureCycle, Review, TargetAgreement
from workflow.cycles.service import open_cycle, record_interview
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar
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
from workflow.transitions import apply_event

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
    controller, sink = start_sink("127.0.0.1", port, None)
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
    sink: CapturingHandler,
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


def _reminders_by_stay(
    session: Session, mc_ids: list[int]
) -> dict[tuple[int, int], list[datetime]]:
    rows = session.execute(
        select(
            OutboxMessage.measure_cycle_id, OutboxMessage.dedupe_key, OutboxMessage.sent_at
        ).where(
            OutboxMessage.measure_cycle_id.in_(mc_ids),
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


def _drop_proposed(session: Session, mc_ids: list[int]) -> set[int]:
    """Agreements whose department proposed to drop the measure: they wait for a body."""
    return set(
        session.scalars(
            select(TargetAgreement.measure_cycle_id).where(
                TargetAgreement.measure_cycle_id.in_(mc_ids),
                TargetAgreement.decision == "drop_proposed",
                TargetAgreement.submitted_at.is_not(None),
            )
        )
    )


def _act(
    rt: runtime.Runtime, clock: FrozenClock, people: People, cal: BusinessCalendar, day: date
) -> None:
    with rt.sessions() as s:
        rows = s.scalars(
            select(MeasureCycle)
            .where(
                MeasureCycle.state.in_(
                    [
                        State.INITIAL_INTERVIEW.value,
                        State.TARGET_AGREEMENT.value,
                        State.REVIEW.value,
                        State.ASSESSMENT.value,
                    ]
                )
            )
            .order_by(MeasureCycle.id)
        ).all()
        active = [
            Item(
                mc.id,
                mc.state,
                mc.stay,
                mc.version,
                mc.entered_state_at,
                mc.due_on,
                mc.measure.contact_id,
                mc.measure.contact.name if mc.measure.contact else "",
            )
            for mc in rows
        ]
        reminders = _reminders_by_stay(s, [mc.id for mc in active if mc.state in WAITING])
        proposed = _drop_proposed(s, [mc.id for mc in active if mc.state in WAITING])
    for mc in active:
        entered = cal.local_date(mc.entered_state_at)
        if mc.state == State.INITIAL_INTERVIEW.value:
            when = people.plan(
                mc, lambda entered=entered: entered + timedelta(days=people.rng.randint(3, 45))
            )
            if day >= when:
                decision = people.pick([("keep", 80), ("adapt", 15), ("drop", 5)])
                _do(
                    rt,
                    lambda s, mc=mc, decision=decision: record_interview(
                        session=s,
                        clock=clock,
                        measure_cycle_id=mc.id,
                        expected_version=mc.version,
                        actor=COORDINATOR,
                        decision=decision,
                        held_on=day,
                        notes="simuliert",
                        implementation_status=people.pick(
                            [("in_progress", 50), ("not_started", 30), ("ongoing", 20)]
                        ),
                    ),
                )
        elif mc.state in WAITING and mc.id not in proposed:
            after, delay = people.plan(mc, people.answer_plan)
            sent = reminders.get((mc.id, mc.stay), [])
            if sent and mc.due_on and people.plan_extension(mc):
                # Some departments ask for more time after the first reminder; the coordinator agrees.
                payload = {
                    "due_on": (mc.due_on + timedelta(days=21)).isoformat(),
                    "reason": "Personalwechsel",
                }
                _do(
                    rt,
                    lambda s, mc=mc, payload=payload: _move(
                        s, clock, mc, Event.EXTEND_DEADLINE, payload
                    ),
                )
                continue
            if after is None or len(sent) < after:
                continue
            since = cal.local_date(sent[after - 1]) if after else entered
            if day >= since + timedelta(days=delay):
                _answer(rt, clock, people, mc, day)
        elif mc.state == State.ASSESSMENT.value:
            wait, send_back = people.plan(
                mc, lambda: (people.rng.randint(1, 8), people.rng.random() < 0.05)
            )
            if day >= entered + timedelta(days=wait):
                event, payload = (
                    (Event.SEND_BACK, {"comment": "Bitte Zahlen ergänzen"})
                    if send_back
                    else (Event.ACCEPT_REVIEW, {})
                )
                _do(
                    rt,
                    lambda s, mc=mc, event=event, payload=payload: _move(
                        s, clock, mc, event, payload
                    ),
                )


def _answer(rt: runtime.Runtime, clock: FrozenClock, people: People, mc: Item, day: date) -> None:
    actor = f"contact:{mc.contact_id}"
    now = clock.now()
    if mc.state == State.TARGET_AGREEMENT.value:
        decision = people.pick([("implement", 88), ("deferred", 6), ("drop_proposed", 6)])

        def agree(s: Session) -> None:
            agreement = s.scalars(
                select(TargetAgreement).where(TargetAgreement.measure_cycle_id == mc.id)
            ).first()
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
                if people.status is not None:
                    agreement.milestones = status_model.agreement_milestones(
                        people.status, agreed_on=day
                    )
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

        _do(rt, agree)
    else:
        achievement = people.pick(
            [("erreicht", 45), ("teilweise", 30), ("nicht_erreicht", 15), ("nicht_begonnen", 10)]
        )
        proposal = people.pick([("continue", 60), ("adapt", 30), ("drop", 10)])

        def review(s: Session) -> None:
            row = s.scalars(select(Review).where(Review.measure_cycle_id == mc.id)).first()
            if row is None:
                row = Review(measure_cycle_id=mc.id, achievement=achievement, proposal=proposal)
                s.add(row)
            row.achievement, row.proposal = achievement, proposal
            row.submitted_at, row.submitted_by = now, actor
            row.proposal_text = "Simulierter Vorschlag"
            _move(s, clock, mc, Event.SUBMIT_REVIEW, {}, actor)

        _do(rt, review)


def _move(
    s: Session,
    clock: FrozenClock,
    mc: Item,
    event: Event,
    payload: dict[str, Any],
    actor: str = COORDINATOR,
) -> None:
    apply_event(
        session=s,
        clock=clock,
        measure_cycle_id=mc.id,
        event=event,
        expected_version=mc.version,
        actor=actor,
        payload=payload,
    )


def _do(rt: runtime.Runtime, work: Any) -> None:
    with unit_of_work(rt.sessions) as s:
        work(s)


def _summary(
    rt: runtime.Runtime,
    sink: CapturingHandler,
    org_id: int,
    cal: BusinessCalendar,
    *,
    start: date,
    end: date,
    days: int,
    seed: int,
) -> dict[str, Any]:
    emails = Counter(str(m["X-Zielflow-Kind"]) for m in sink.messages)
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
