"""The data of one fault run and the department answers given during it; never judges the outcome.

``seed_world`` builds, at the real "now", measures that owe a reminder (fresh), measures 30
days overdue (final reminder, head escalation, steering digest) and measures whose contacts
answer during the run through the forms' service layer, each with a contact of its own so
that one outbox row is one email. ``expected_rows`` says which outbox rows must exist at the end.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from tests import factories
from tests.conftest import make_runtime
from workflow.accounts import Role, User
from workflow.bodies.models import Body, BodyMember
from workflow.clock import FrozenClock, SystemClock
from workflow.config import Settings
from workflow.cycles.models import MeasureCycle
from workflow.cycles.service import open_cycle, record_interview
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar, DeadlinePolicy
from workflow.forms.scope import scope_of
from workflow.forms.submit import submit
from workflow.forms.tokens import Phase, TokenState, issue_token, look_up
from workflow.runtime import Runtime, build

Row = tuple[str, str, int | None]  # kind, recipient, measure_cycle_id


@dataclass(frozen=True)
class Item:
    mc_id: int
    contact: str
    token: str = ""  # form link of an answering contact


@dataclass
class World:
    coordinator: str
    steering: str
    head: str
    fresh: list[Item]
    stale: list[Item]
    answering: list[Item]

    def contacts(self) -> list[str]:
        return [i.contact for i in (*self.fresh, *self.stale, *self.answering)]

    def expected_rows(self, dead_recipient: str | None) -> Counter[Row]:
        rows: Counter[Row] = Counter()
        for item in (*self.fresh, *self.stale, *self.answering):
            rows[("invitation_agreement", item.contact, item.mc_id)] += 1
        for item in self.fresh:
            rows[("reminder", item.contact, item.mc_id)] += 1
        for item in self.stale:
            rows[("final_reminder", item.contact, item.mc_id)] += 1
            rows[("escalation_head", self.head, item.mc_id)] += 1
            rows[("digest_item", "", item.mc_id)] += 1
        for item in self.answering:
            rows[("confirmation_agreement", item.contact, item.mc_id)] += 1
        if self.stale:
            rows[("digest", self.steering, None)] += 1
        dead = sum(n for (_, to, _), n in rows.items() if to == dead_recipient)
        if dead:
            rows[("dead_letter", self.coordinator, None)] += dead
        return rows


def seed_world(
    database_url: str,
    tmp_path: Path,
    *,
    fresh: int,
    stale: int,
    answering: int,
    tag: str,
    contacts: int | None = None,
) -> tuple[Runtime, World]:
    """``contacts`` None gives every measure a contact of its own; else they take turns."""
    now = datetime.now(UTC)
    cal = BusinessCalendar()
    policy = DeadlinePolicy(
        agreement_days=30, send_hour=0, digest_weekday=cal.local_date(now).weekday()
    )
    clock = FrozenClock(now - timedelta(days=60))
    rt = make_runtime(database_url, clock, tmp_path)
    count = fresh + stale + answering
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s, slug=f"fault-{tag}")
        measures = factories.measures(s, org, count, contacts=contacts or count, prefix="F")
        emails = [m.contact.email for m in measures if m.contact is not None]
        coordinator = f"koordination.{tag}@stadt.example.org"
        s.add(
            User(
                organisation_id=org.id,
                email=coordinator,
                name="Koordinierungsstelle",
                role=Role.COORDINATOR.value,
                password_hash="x",
                created_at=clock.now(),
            )
        )
        group = Body(organisation_id=org.id, name="Steuerungsgruppe")
        s.add(group)
        s.flush()
        steering = f"sommer.{tag}@stadt.example.org"
        s.add(BodyMember(body_id=group.id, name="Dr. Sommer", email=steering))
        cycle = open_cycle(
            session=s, clock=clock, organisation_id=org.id, year=clock.now().year, policy=policy
        )
        ids = list(
            s.scalars(
                select(MeasureCycle.id)
                .where(MeasureCycle.organisation_id == org.id)
                .order_by(MeasureCycle.id)
            )
        )
        org_id, cycle_id = org.id, cycle.cycle_id
        contact_ids = [m.contact_id for m in measures]
    # Stale: interviewed 60 days ago (due 30 days ago); fresh: 20 days ago (the 14-days-before
    # reminder is 4 days old); answering: yesterday (nothing due for two weeks).
    ages = [20] * fresh + [60] * stale + [1] * answering
    for mc_id, age in zip(ids, ages, strict=True):
        clock.set(now - timedelta(days=age))
        with unit_of_work(rt.sessions) as s:
            record_interview(
                session=s,
                clock=clock,
                measure_cycle_id=mc_id,
                expected_version=None,
                actor="user:1",
                decision="keep",
            )
    clock.set(now)
    items = [Item(mc_id, email) for mc_id, email in zip(ids, emails, strict=True)]
    answering_items = []
    links: dict[int, str] = {}
    for item, contact_id in zip(items[fresh + stale :], contact_ids[fresh + stale :], strict=True):
        assert contact_id is not None
        if contact_id in links:
            answering_items.append(Item(item.mc_id, item.contact, links[contact_id]))
            continue
        with unit_of_work(rt.sessions) as s:
            raw = issue_token(
                session=s,
                organisation_id=org_id,
                contact_id=contact_id,
                cycle_id=cycle_id,
                phase=Phase.TARGET_AGREEMENT,
                expires_at=now + timedelta(days=60),
                now=now,
                issued_by="fault-suite",
            )
        links[contact_id] = raw
        answering_items.append(Item(item.mc_id, item.contact, raw))
    world = World(
        coordinator=coordinator,
        steering=steering,
        head="fleitung@stadt.example.org",
        fresh=items[:fresh],
        stale=items[fresh : fresh + stale],
        answering=answering_items,
    )
    return rt, world


def answer_fields(mc_id: int, tag: str) -> dict[str, str]:
    return {
        "decision": "implement",
        "targets": f"Lauf {tag}: 20 Lesepatinnen für Maßnahme {mc_id} – „Ümläut“ ✓",
        "responsible": "Frau Ölmez",
        "ms-0-what": "Konzept steht",
        "ms-0-due": "30.06.2027",
    }


@dataclass
class Answer:
    """One department answer given during a run, retried across database outages."""

    item: Item
    fields: dict[str, str]
    not_before: float  # time.monotonic()
    gate: threading.Event | None = None  # start only once this is set (e.g. "database down")
    attempts: int = 0
    database_errors: int = 0
    outcome: str = ""  # "moved" (first commit), "unchanged" (an unclear commit had succeeded)
    error: str = ""
    started_in_outage: bool = False
    done: threading.Event = field(default_factory=threading.Event)


def _submit_once(rt: Runtime, answer: Answer) -> str:
    with unit_of_work(rt.sessions) as s:
        state, token = look_up(s, answer.item.token, rt.clock.now())
        assert state is TokenState.VALID and token is not None, state
        scope = scope_of(s, token)
        outcome = submit(
            session=s,
            clock=rt.clock,
            scope=scope,
            posted={answer.item.mc_id: answer.fields},
            only={answer.item.mc_id},
        )
        assert outcome.ok, outcome.errors
        if outcome.moved:
            return "moved"
        assert outcome.unchanged == [answer.item.mc_id], outcome
        return "unchanged"


def give_answer(database_url: str, answer: Answer, deadline_seconds: float = 120.0) -> None:
    """Submit like the form does, retrying on connection errors until it commits; never raises."""
    rt = build(Settings(database_url=database_url, environment="test"), SystemClock())
    try:
        if answer.gate is not None:
            answer.started_in_outage = answer.gate.wait(timeout=deadline_seconds)
        delay = answer.not_before - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        deadline = time.monotonic() + deadline_seconds
        while True:
            answer.attempts += 1
            try:
                answer.outcome = _submit_once(rt, answer)
                return
            except DBAPIError as exc:
                # Connection refused, terminated by the restart, or an unclear commit: the next
                # attempt reads the row again and finds out what happened.
                answer.database_errors += 1
                if time.monotonic() > deadline:
                    answer.error = f"{type(exc).__name__}: {exc}"[:500]
                    return
                time.sleep(0.25)
            except Exception as exc:
                answer.error = f"{type(exc).__name__}: {exc}"[:500]
                return
    finally:
        rt.dispose()
        answer.done.set()


def start_answers(database_url: str, answers: list[Answer]) -> list[threading.Thread]:
    threads = [
        threading.Thread(target=give_answer, args=(database_url, a), daemon=True) for a in answers
    ]
    for t in threads:
        t.start()
    return threads
