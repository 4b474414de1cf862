"""The pure state machine: every (state, event) pair, guards and the generated diagram."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workflow.machine import (
    STATES,
    TRANSITIONS,
    Event,
    MoveRefused,
    State,
    allowed_events,
    plan_move,
    to_mermaid,
)
from workflow.messages import event_label, message

# The whole cycle, written out by hand from DESIGN.md, so the table is checked against it.
EXPECTED: dict[tuple[State, Event], State] = {
    (State.INITIAL_INTERVIEW, Event.RECORD_INTERVIEW): State.TARGET_AGREEMENT,
    (State.INITIAL_INTERVIEW, Event.EXTEND_DEADLINE): State.INITIAL_INTERVIEW,
    (State.INITIAL_INTERVIEW, Event.DEFER): State.DEFERRED,
    (State.INITIAL_INTERVIEW, Event.DROP): State.DROPPED,
    (State.TARGET_AGREEMENT, Event.SUBMIT_AGREEMENT): State.IMPLEMENTATION,
    (State.TARGET_AGREEMENT, Event.EXTEND_DEADLINE): State.TARGET_AGREEMENT,
    (State.TARGET_AGREEMENT, Event.DEFER): State.DEFERRED,
    (State.TARGET_AGREEMENT, Event.DROP): State.DROPPED,
    (State.IMPLEMENTATION, Event.START_REVIEW): State.REVIEW,
    (State.IMPLEMENTATION, Event.DROP): State.DROPPED,
    (State.IMPLEMENTATION, Event.COMPLETE): State.COMPLETED,
    (State.REVIEW, Event.SUBMIT_REVIEW): State.ASSESSMENT,
    (State.REVIEW, Event.EXTEND_DEADLINE): State.REVIEW,
    (State.REVIEW, Event.DROP): State.DROPPED,
    (State.ASSESSMENT, Event.ACCEPT_REVIEW): State.REPLANNING,
    (State.ASSESSMENT, Event.SEND_BACK): State.REVIEW,
    (State.ASSESSMENT, Event.EXTEND_DEADLINE): State.ASSESSMENT,
    (State.ASSESSMENT, Event.DROP): State.DROPPED,
    (State.ASSESSMENT, Event.COMPLETE): State.COMPLETED,
    (State.REPLANNING, Event.CARRY_FORWARD): State.CARRIED_FORWARD,
    (State.REPLANNING, Event.DROP): State.DROPPED,
    (State.REPLANNING, Event.COMPLETE): State.COMPLETED,
}

VALID_PAYLOAD = {
    "reason": "Haushaltssperre",
    "comment": "Bitte Zahlen ergänzen",
    "decision": "keep",
    "due_on": "2030-01-15",
}

ALL_PAIRS = [(s, e) for s in State for e in Event]


@pytest.mark.parametrize(("state", "event"), ALL_PAIRS, ids=[f"{s}-{e}" for s, e in ALL_PAIRS])
def test_every_pair(state: State, event: Event) -> None:
    if (state, event) in EXPECTED:
        assert plan_move(state, event, VALID_PAYLOAD) is EXPECTED[(state, event)]
    else:
        with pytest.raises(MoveRefused) as info:
            plan_move(state, event, VALID_PAYLOAD)
        assert info.value.allowed == allowed_events(state)
        assert info.value.code == "move_not_allowed"
        assert info.value.params["allowed_events"] == [e.value for e in allowed_events(state)]


def test_table_has_no_move_the_design_lacks() -> None:
    assert {(t.source, t.event) for t in TRANSITIONS} == set(EXPECTED)


def test_terminal_states_allow_nothing_and_active_ones_have_a_way_out() -> None:
    for state, spec in STATES.items():
        assert (allowed_events(state) == []) is spec.terminal, state


def test_unknown_event_names_the_allowed_ones() -> None:
    with pytest.raises(MoveRefused) as info:
        plan_move(State.REVIEW, "fly")
    assert (info.value.code, info.value.params) == (
        "move_not_allowed",
        {
            "event": "fly",
            "state": "review",
            "allowed_events": ["submit_review", "extend_deadline", "drop"],
        },
    )
    worded = message(info.value.code, "de", **info.value.params)
    labels = ", ".join(event_label(e, "de") for e in ("submit_review", "extend_deadline", "drop"))
    assert worded.startswith("„fly“ ist im Zustand ") and worded.endswith(f"Erlaubt: {labels}.")


@pytest.mark.parametrize(
    ("state", "event", "payload", "reason"),
    [
        (State.TARGET_AGREEMENT, Event.DEFER, {}, "guard.reason_required"),
        (State.TARGET_AGREEMENT, Event.DROP, {"reason": "   "}, "guard.reason_required"),
        (State.ASSESSMENT, Event.SEND_BACK, {}, "guard.comment_required"),
        (State.REVIEW, Event.EXTEND_DEADLINE, {"reason": "Urlaub"}, "guard.due_on_required"),
        (State.REVIEW, Event.EXTEND_DEADLINE, {"due_on": "2030-01-01"}, "guard.reason_required"),
        (
            State.INITIAL_INTERVIEW,
            Event.RECORD_INTERVIEW,
            {"decision": "drop"},
            "guard.interview_decision",
        ),
    ],
)
def test_guards_say_why(state: State, event: Event, payload: dict[str, str], reason: str) -> None:
    with pytest.raises(MoveRefused) as info:
        plan_move(state, event, payload)
    assert info.value.code == reason
    assert event in info.value.allowed  # the event is allowed here; only its guard refused


def test_readme_diagram_is_generated_from_the_machine() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```mermaid\n(.*?)```", readme, re.S)
    assert match, "README.md has no mermaid block"
    assert match.group(1) == to_mermaid(), "README diagram is stale: run `zielflow diagram`"
