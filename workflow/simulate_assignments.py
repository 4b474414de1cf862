"""The department contacts of ``zielflow simulate`` answering the Aufträge of the bodies.

Each Auftrag gets one seeded plan when it is given: answered on time, late (after its
reminders, sometimes after the escalation) or never, and now and then first only in part
(in progress). A contact answers through the Auftrag form's own service
(``assignment_answers.answer``), with the link of the latest Auftrag email the SMTP sink
received for them, exactly as a person following the link would. Never touches the clock.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from notifications.sink import RecordingHandler
from workflow import runtime
from workflow.catalogue.models import Contact
from workflow.clock import Clock
from workflow.db import unit_of_work
from workflow.decisions import assignment_answers
from workflow.decisions.assignment_mail import LINK_KINDS
from workflow.decisions.models import Decision, DecisionStatus
from workflow.forms.tokens import TokenState, look_up

# When a contact answers: on time, late or never.
ON_TIME, LATE, NEVER = "on_time", "late", "never"
WHEN: tuple[tuple[str, int], ...] = ((ON_TIME, 50), (LATE, 30), (NEVER, 20))
PARTIAL_SHARE = 0.2  # answers that report progress only
FINISH_SHARE = 0.5  # of those, the ones a final answer follows
LINK = re.compile(r"/f/([A-Za-z0-9_-]{20,})")


@dataclass(frozen=True)
class Plan:
    on: date
    status: str


@dataclass
class Answers:
    rng: random.Random
    plans: dict[int, Plan] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # address: raw token of the latest email
    read: int = 0  # sink messages looked at so far

    def plan(self, decision_id: int, *, given_on: date, due_on: date) -> None:
        names, weights = zip(*WHEN, strict=True)
        when = self.rng.choices(names, weights)[0]
        partial = self.rng.random() < PARTIAL_SHARE
        status = DecisionStatus.IN_PROGRESS.value if partial else DecisionStatus.DONE.value
        if when == ON_TIME:
            room = max(2, (due_on - given_on).days - 2)
            self.plans[decision_id] = Plan(
                given_on + timedelta(days=self.rng.randint(2, room)), status
            )
        elif when == LATE:
            self.plans[decision_id] = Plan(due_on + timedelta(days=self.rng.randint(3, 25)), status)

    def act(self, rt: runtime.Runtime, clock: Clock, day: date, sink: RecordingHandler) -> None:
        """Every contact whose plan says so answers today, one transaction each."""
        self._read(sink)
        for decision_id in sorted(d for d, p in self.plans.items() if p.on <= day):
            self._answer(rt, clock, decision_id, day)

    def _read(self, sink: RecordingHandler) -> None:
        messages = sink.received[self.read :]
        self.read += len(messages)
        for message in messages:
            if message.kind not in LINK_KINDS or message.text is None:
                continue
            found = LINK.search(message.text)
            if found:
                self.links[message.to] = found[1]

    def _answer(self, rt: runtime.Runtime, clock: Clock, decision_id: int, day: date) -> None:
        plan = self.plans[decision_id]
        with unit_of_work(rt.sessions) as s:
            decision = s.get(Decision, decision_id)
            contact = s.get(Contact, decision.contact_id or 0) if decision else None
            if decision is None or contact is None or decision.status == DecisionStatus.DONE.value:
                del self.plans[decision_id]
                return
            raw = self.links.get(contact.email.lower())
            state, token = look_up(s, raw, clock.now()) if raw else (TokenState.UNKNOWN, None)
            if state is not TokenState.VALID or token is None:
                return  # no working link yet: a reminder will bring one
            scope = assignment_answers.scope_of(s, token)
            text = (
                "Erledigt; der Bericht liegt der Koordinierungsstelle vor."
                if plan.status == DecisionStatus.DONE.value
                else "Zwischenstand: die Arbeiten laufen, der Bericht folgt."
            )
            outcome = assignment_answers.answer(
                session=s,
                clock=clock,
                scope=scope,
                posted={decision_id: {"answer": text, "status": plan.status}},
                only={decision_id},
            )
        if (
            outcome.answered
            and plan.status != DecisionStatus.DONE.value
            and (self.rng.random() < FINISH_SHARE)
        ):
            later = day + timedelta(days=self.rng.randint(10, 30))
            self.plans[decision_id] = Plan(later, DecisionStatus.DONE.value)
        else:
            del self.plans[decision_id]
