"""Searches of the outbox by the parts of a dedupe key, and for the rows still to be sent:
they find what LIKE found, and an index serves them, so their cost does not grow with the
outbox (which holds every email of every year).

The plans are read with the planner's own EXPLAIN. On PostgreSQL a sequential scan is turned
off for the question, so the plan shows whether an index *can* serve the statement at all: a
small test table would otherwise be read whole, rightly, by either form.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from notifications.digest_items import pending_rows_closed
from notifications.models import OutboxMessage, OutboxStatus
from notifications.outbox import Draft, enqueue
from notifications.outbox_search import NOT_YET_SENT, key_matches
from notifications.sender import claim
from tests import factories
from tests.query_plans import SCANS, postgresql_plan, sqlite_plan, statements
from workflow.clock import FrozenClock
from workflow.conference.consent import _stop_waiting_invitations
from workflow.db import unit_of_work
from workflow.decisions.assignment_mail import _reminders_sent as assignment_reminders_sent
from workflow.forms.ladder_restart import link_waiting
from workflow.indicators.mail import _reminders_sent as data_reminders_sent
from workflow.meetings.invitations import _sent_or_on_the_way
from workflow.runtime import Runtime
from workflow.status_checks.mail_context import _reminders_sent as check_reminders_sent

KEYS = (
    "sc:1:1:reminder:0",
    "sc:1:2:reminder:1",
    "sc:12:1:reminder:0",
    "sc:1:1:escalation:1",
    "SC:1:1:reminder:0",
    "a_b:1",
    "axb:1",
    "p%q:1",
    "pxq:1",
    "conference_invitation:7:3",
    "conference_invitation:7:13",
    "conferenceXinvitation:7:3",
)


def _queue(s: Session, org_id: int, keys: list[str], now: Any) -> None:
    drafts = [Draft(org_id, key, "reminder", "kontakt@stadt.example.org") for key in keys]
    for first in range(0, len(drafts), 500):
        enqueue(s, drafts[first : first + 500], now=now)


def _found(s: Session, condition: Any) -> set[str]:
    return set(s.scalars(select(OutboxMessage.dedupe_key).where(condition)))


def test_key_matches_takes_its_parts_literally_and_in_order(
    rt: Runtime, clock: FrozenClock
) -> None:
    key = OutboxMessage.dedupe_key
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        _queue(s, org.id, list(KEYS), clock.now())
    with rt.sessions() as s:
        assert _found(s, key_matches(key, "sc:1:", ":reminder:", "")) == {
            "sc:1:1:reminder:0",
            "sc:1:2:reminder:1",
        }
        assert _found(s, key_matches(key, "sc:1:", "")) == {
            "sc:1:1:reminder:0",
            "sc:1:2:reminder:1",
            "sc:1:1:escalation:1",
        }
        # ``_`` and ``%`` are characters of the key, not wildcards; case counts.
        assert _found(s, key_matches(key, "a_b:", "")) == {"a_b:1"}
        assert _found(s, key_matches(key, "p%q:", "")) == {"p%q:1"}
        assert _found(s, key_matches(key, "SC:", "")) == {"SC:1:1:reminder:0"}
        # Without an empty last part, the key ends with the last part.
        assert _found(s, key_matches(key, "conference_invitation:", ":3")) == {
            "conference_invitation:7:3"
        }
        assert _found(s, key_matches(key, "sc:1:1:reminder:0")) == {"sc:1:1:reminder:0"}
        assert _found(s, ~key_matches(key, "sc:", "") & ~key_matches(key, "conference", "")) == {
            "SC:1:1:reminder:0",
            "a_b:1",
            "axb:1",
            "p%q:1",
            "pxq:1",
        }
    with pytest.raises(ValueError):
        key_matches(key, "", "x")


def test_not_yet_sent_is_pending_or_sending(rt: Runtime, clock: FrozenClock) -> None:
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        _queue(s, org.id, [f"k:{status}" for status in OutboxStatus], clock.now())
        for status in OutboxStatus:
            s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.dedupe_key == f"k:{status}")
                .values(status=status.value)
            )
    with rt.sessions() as s:
        assert _found(s, NOT_YET_SENT) == {"k:pending", "k:sending"}


# An organisation's rows are its whole outbox, and in most installations the whole table.
BY_ORGANISATION = "ix_outbox_message_organisation_id"


def _full_reads(s: Session, statement: str, parameters: Any) -> list[str]:
    """The parts of the statement's plan that read the outbox without a condition an index
    takes (the partial index of unsent rows is such a condition in itself)."""
    if s.connection().dialect.name == "sqlite":
        return [
            line
            for line in sqlite_plan(s, statement, parameters)
            if " outbox_message" in f" {line}"
            and (
                (line.startswith("SCAN") and "ix_outbox_message_pending" not in line)
                or BY_ORGANISATION in line
            )
        ]
    bad = []
    for node in postgresql_plan(s, statement, parameters):
        index = node.get("Index Name", "")
        on_outbox = node.get("Relation Name") == "outbox_message" or index.startswith(
            ("outbox_message", "ix_outbox_message")
        )
        if not on_outbox or node["Node Type"] not in SCANS:
            continue
        if node["Node Type"] == "Seq Scan":
            bad.append("Seq Scan on outbox_message")
        elif index == BY_ORGANISATION or (
            "Index Cond" not in node and index != "ix_outbox_message_pending"
        ):
            bad.append(f"{node['Node Type']} using {index} without a condition")
    return bad


Search = Callable[[Session, int], object]

SEARCHES: dict[str, Search] = {
    "reminders of a status check": lambda s, _org: check_reminders_sent(s, 5),
    "reminders of a data request": lambda s, _org: data_reminders_sent(s, [5]),
    "reminders of an assignment": lambda s, _org: assignment_reminders_sent(s, [5]),
    "a ladder's link on the way": lambda s, _org: link_waiting(s, "sc:5:1:", ["reminder"]),
    "a meeting's invitations": lambda s, _org: _sent_or_on_the_way(s, 5),
    "an actor's conference invitations": lambda s, _org: _stop_waiting_invitations(s, 5),
    "the sender's claim": lambda s, _org: claim(
        s, now=s.info["now"], limit=10, lease=timedelta(minutes=5)
    ),
    "digest items whose item ended": lambda s, org: pending_rows_closed(s, organisation_id=org),
}


@pytest.mark.parametrize("search", list(SEARCHES))
def test_the_outbox_is_searched_through_an_index(
    rt: Runtime, clock: FrozenClock, search: str
) -> None:
    now = clock.now()
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        keys = [f"{prefix}:{n}:1:reminder:0" for prefix in ("sc", "dr", "as") for n in range(600)]
        keys += [f"invitation:{n}:1" for n in range(300)]
        keys += [f"conference_invitation:{n % 20}:{n}" for n in range(300)]
        _queue(s, org.id, keys, now)
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id % 50 != 0)
            .values(status=OutboxStatus.SENT.value, sent_at=now)
        )
        org_id = org.id
    with rt.sessions() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.connection().exec_driver_sql("ANALYZE outbox_message")
        s.info["now"] = now
        with statements(s) as seen:
            SEARCHES[search](s, org_id)
        assert any("outbox_message" in statement for statement, _ in seen)
        for statement, parameters in seen:
            assert _full_reads(s, statement, parameters) == [], statement
        s.rollback()
