"""The cycle's state machine as a plain transition table: states, events, guards, due-date rules.

Pure: no I/O, no clock, no database. The transition service asks it what a move means;
the README's diagram is generated from it (``zielflow diagram``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class State(StrEnum):
    INITIAL_INTERVIEW = "initial_interview"
    TARGET_AGREEMENT = "target_agreement"
    IMPLEMENTATION = "implementation"
    REVIEW = "review"
    ASSESSMENT = "assessment"
    REPLANNING = "replanning"
    CARRIED_FORWARD = "carried_forward"
    DEFERRED = "deferred"
    DROPPED = "dropped"
    COMPLETED = "completed"


class Event(StrEnum):
    RECORD_INTERVIEW = "record_interview"
    SUBMIT_AGREEMENT = "submit_agreement"
    START_REVIEW = "start_review"
    SUBMIT_REVIEW = "submit_review"
    ACCEPT_REVIEW = "accept_review"
    SEND_BACK = "send_back"
    CARRY_FORWARD = "carry_forward"
    EXTEND_DEADLINE = "extend_deadline"
    DEFER = "defer"
    DROP = "drop"
    COMPLETE = "complete"


LABELS_DE: dict[State, str] = {
    State.INITIAL_INTERVIEW: "Erstgespräch",
    State.TARGET_AGREEMENT: "Zielvereinbarung",
    State.IMPLEMENTATION: "Umsetzung",
    State.REVIEW: "Rückmeldung zur Zielerreichung",
    State.ASSESSMENT: "Bewertung",
    State.REPLANNING: "Neuplanung",
    State.CARRIED_FORWARD: "Fortgeschrieben",
    State.DEFERRED: "Zurückgestellt",
    State.DROPPED: "Gestrichen",
    State.COMPLETED: "Abgeschlossen",
}

EVENT_LABELS_DE: dict[Event, str] = {
    Event.RECORD_INTERVIEW: "Erstgespräch erfassen",
    Event.SUBMIT_AGREEMENT: "Zielvereinbarung abgeben",
    Event.START_REVIEW: "Rückmeldung zur Zielerreichung anfordern",
    Event.SUBMIT_REVIEW: "Rückmeldung zur Zielerreichung abgeben",
    Event.ACCEPT_REVIEW: "Rückmeldung annehmen",
    Event.SEND_BACK: "Zur Überarbeitung zurückgeben",
    Event.CARRY_FORWARD: "In den nächsten Zyklus übernehmen",
    Event.EXTEND_DEADLINE: "Frist verlängern",
    Event.DEFER: "Zurückstellen",
    Event.DROP: "Streichen",
    Event.COMPLETE: "Abschließen",
}


class Actor(StrEnum):
    """Who waits on whom in a state: drives who is reminded and who is escalated."""

    COORDINATOR = "coordinator"
    DEPARTMENT = "department"
    NOBODY = "nobody"


@dataclass(frozen=True)
class DueRule:
    """A state's deadline: ``policy[key]`` days (or months) after the state was entered.

    ``auto_event`` is fired by the sweep when the due date is reached instead of reminding
    anyone (the 12 months of implementation simply end).
    """

    policy_key: str
    unit: str = "days"
    waiting_on: Actor = Actor.DEPARTMENT
    auto_event: Event | None = None


@dataclass(frozen=True)
class StateSpec:
    due: DueRule | None
    terminal: bool = False


STATES: dict[State, StateSpec] = {
    State.INITIAL_INTERVIEW: StateSpec(DueRule("interview_days", waiting_on=Actor.COORDINATOR)),
    State.TARGET_AGREEMENT: StateSpec(DueRule("agreement_days")),
    State.IMPLEMENTATION: StateSpec(
        DueRule(
            "implementation_months",
            unit="months",
            waiting_on=Actor.NOBODY,
            auto_event=Event.START_REVIEW,
        )
    ),
    State.REVIEW: StateSpec(DueRule("review_days")),
    State.ASSESSMENT: StateSpec(DueRule("assessment_days", waiting_on=Actor.COORDINATOR)),
    # The coordinator owes the next cycle: the sweep carries the measure into it by itself
    # once it is open, and reminds the coordinators when it is not (workflow/cycles/carry.py).
    State.REPLANNING: StateSpec(DueRule("replanning_days", waiting_on=Actor.COORDINATOR)),
    State.CARRIED_FORWARD: StateSpec(None, terminal=True),
    State.DEFERRED: StateSpec(None, terminal=True),
    State.DROPPED: StateSpec(None, terminal=True),
    State.COMPLETED: StateSpec(None, terminal=True),
}

Guard = Callable[[Mapping[str, Any]], str | None]
"""Takes the event's payload; returns the code of the reason a move is refused, or None.

Codes only: the edges word them (workflow/messages.py), so the machine stays free of any
language.
"""


def _needs_reason(payload: Mapping[str, Any]) -> str | None:
    reason = payload.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        return "guard.reason_required"
    return None


def _needs_new_due_date(payload: Mapping[str, Any]) -> str | None:
    if not payload.get("due_on"):
        return "guard.due_on_required"
    return _needs_reason(payload)


def _needs_comment(payload: Mapping[str, Any]) -> str | None:
    comment = payload.get("comment")
    if not isinstance(comment, str) or not comment.strip():
        return "guard.comment_required"
    return None


def _interview_decision(payload: Mapping[str, Any]) -> str | None:
    if payload.get("decision") not in {"keep", "adapt"}:
        return "guard.interview_decision"
    return None


@dataclass(frozen=True)
class Transition:
    source: State
    event: Event
    target: State
    guards: tuple[Guard, ...] = field(default=())


_ACTIVE = (
    State.INITIAL_INTERVIEW,
    State.TARGET_AGREEMENT,
    State.IMPLEMENTATION,
    State.REVIEW,
    State.ASSESSMENT,
    State.REPLANNING,
)
_WAITING = (State.INITIAL_INTERVIEW, State.TARGET_AGREEMENT, State.REVIEW, State.ASSESSMENT)

TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        State.INITIAL_INTERVIEW,
        Event.RECORD_INTERVIEW,
        State.TARGET_AGREEMENT,
        (_interview_decision,),
    ),
    Transition(State.TARGET_AGREEMENT, Event.SUBMIT_AGREEMENT, State.IMPLEMENTATION),
    Transition(State.IMPLEMENTATION, Event.START_REVIEW, State.REVIEW),
    Transition(State.REVIEW, Event.SUBMIT_REVIEW, State.ASSESSMENT),
    Transition(State.ASSESSMENT, Event.ACCEPT_REVIEW, State.REPLANNING),
    Transition(State.ASSESSMENT, Event.SEND_BACK, State.REVIEW, (_needs_comment,)),
    Transition(State.REPLANNING, Event.CARRY_FORWARD, State.CARRIED_FORWARD),
    *(Transition(s, Event.EXTEND_DEADLINE, s, (_needs_new_due_date,)) for s in _WAITING),
    *(
        Transition(s, Event.DEFER, State.DEFERRED, (_needs_reason,))
        for s in (State.INITIAL_INTERVIEW, State.TARGET_AGREEMENT)
    ),
    *(Transition(s, Event.DROP, State.DROPPED, (_needs_reason,)) for s in _ACTIVE),
    *(
        Transition(s, Event.COMPLETE, State.COMPLETED, (_needs_reason,))
        for s in (State.IMPLEMENTATION, State.ASSESSMENT, State.REPLANNING)
    ),
)

_TABLE: dict[tuple[State, Event], Transition] = {(t.source, t.event): t for t in TRANSITIONS}


class MoveRefused(Exception):
    """An event that the current state does not allow, or whose guard says no.

    ``code`` names the reason ("move_not_allowed", "guard.reason_required", …) and ``params``
    what its sentence needs (the event, the state, the allowed events as values); the edges
    word it in the reader's language (workflow/messages.py). ``str()`` is the code, for logs.
    """

    def __init__(
        self, state: State, event: str, allowed: list[Event], code: str, **params: Any
    ) -> None:
        self.state = state
        self.event = event
        self.allowed = allowed
        self.code = code
        self.params: dict[str, Any] = {
            "event": event,
            "state": state.value,
            "allowed_events": [e.value for e in allowed],
            **params,
        }
        super().__init__(code)


def allowed_events(state: State) -> list[Event]:
    return [t.event for t in TRANSITIONS if t.source is state]


def plan_move(state: State, event: str, payload: Mapping[str, Any] | None = None) -> State:
    """The state ``event`` leads to from ``state``, or MoveRefused saying why not."""
    payload = payload or {}
    allowed = allowed_events(state)
    try:
        transition = _TABLE[(state, Event(event))]
    except (ValueError, KeyError):
        raise MoveRefused(state, event, allowed, "move_not_allowed") from None
    for guard in transition.guards:
        code = guard(payload)
        if code is not None:
            raise MoveRefused(state, event, allowed, code)
    return transition.target


def to_mermaid() -> str:
    lines = ["stateDiagram-v2"]
    lines += [f"    {s.value}: {LABELS_DE[s]}" for s in State]
    lines.append("    [*] --> initial_interview")
    lines.append("    [*] --> target_agreement")
    for t in TRANSITIONS:
        lines.append(f"    {t.source.value} --> {t.target.value}: {t.event.value}")
    lines += [f"    {s.value} --> [*]" for s, spec in STATES.items() if spec.terminal]
    return "\n".join(lines) + "\n"
