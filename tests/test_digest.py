"""Digests of the Steuerungsgruppe: once per period, items once per level, resolved ones
reported once, and no digest that has nothing new to say."""

from __future__ import annotations

from datetime import date

from sqlalchemy import event, select, update

from notifications.digest import DigestReport, build_digests
from notifications.models import OutboxMessage
from tests.test_sweep import _at, seed, sweep
from workflow.bodies.models import Body, Meeting
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.runtime import Runtime
from workflow.transitions import apply_event


def _digests(rt: Runtime) -> list[dict[str, object]]:
    with rt.sessions() as s:
        return [
            {"key": r.dedupe_key, **r.context["digest"]}
            for r in s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "digest")
                .order_by(OutboxMessage.id)
            )
        ]


def _codes(items: object) -> list[str]:
    return [str(i["code"]) for i in items]  # type: ignore[attr-defined, index]


def _mark_emails_sent(rt: Runtime, clock: FrozenClock) -> None:
    """What the sender would have done by now (it has tests of its own)."""
    with unit_of_work(rt.sessions) as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.channel == "email")
            .values(status="sent", sent_at=clock.now())
        )


def test_weekly_digest_new_then_still_open_then_resolved(rt: Runtime, clock: FrozenClock) -> None:
    ids = seed(rt, clock, measures=3)
    for day in (_at(2026, 3, 30), _at(2026, 4, 10), _at(2026, 4, 13)):
        sweep(rt, clock, day)
        _mark_emails_sent(rt, clock)
    sweep(rt, clock, _at(2026, 5, 4))  # Monday: 21 days overdue, into the digest
    assert build_digests(sessions=rt.sessions, clock=clock) == DigestReport(sent=1)
    assert build_digests(sessions=rt.sessions, clock=clock) == DigestReport()  # once per period
    first = _digests(rt)[0]
    assert first["key"] == "digest:1:2026-W19:sommer@stadt.example.org"
    assert _codes(first["new_items"]) == ["M0001", "M0002", "M0003"]
    assert first["new_items"][0]["history"] == (  # type: ignore[index]
        "3 Erinnerungen, zuletzt am 13.04.2026; Zielvereinbarung fehlt"
    )
    assert first["totals"] == {"new": 3, "still_open": 0, "resolved": 0}

    clock.set(_at(2026, 5, 6, 10))
    with unit_of_work(rt.sessions) as s:
        apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=ids[1],
            event="submit_agreement",
            expected_version=None,
            actor="contact:1",
        )
    sweep(rt, clock, _at(2026, 5, 11))
    build_digests(sessions=rt.sessions, clock=clock)
    second = _digests(rt)[1]
    assert (
        _codes(second["new_items"]),
        _codes(second["still_open"]),
        _codes(second["resolved_items"]),
    ) == ([], ["M0001", "M0003"], ["M0002"])

    sweep(rt, clock, _at(2026, 5, 18))
    # Only the two still open ones, and M0002 was reported resolved once: nothing new.
    assert build_digests(sessions=rt.sessions, clock=clock) == DigestReport(sent=0, skipped=1)
    assert len(_digests(rt)) == 2


def test_a_meeting_gets_its_own_digest_three_days_ahead(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    seed(rt_sqlite, clock, measures=1)
    with unit_of_work(rt_sqlite.sessions) as s:
        group = s.scalars(select(Body)).one()
        s.add(Meeting(body_id=group.id, held_on=date(2026, 5, 8), title="Sitzung"))
    sweep(rt_sqlite, clock, _at(2026, 5, 4))
    # weekly only: 4 days ahead
    assert build_digests(sessions=rt_sqlite.sessions, clock=clock) == DigestReport(sent=1)
    clock.set(_at(2026, 5, 5, 9))
    # the meeting's, once, although nothing is new
    assert build_digests(sessions=rt_sqlite.sessions, clock=clock) == DigestReport(sent=1)
    assert build_digests(sessions=rt_sqlite.sessions, clock=clock) == DigestReport()
    meeting = _digests(rt_sqlite)[1]
    assert meeting["meeting_label"] == "vor der Sitzung am 08.05.2026"
    assert meeting["totals"] == {"new": 0, "still_open": 1, "resolved": 0}


def test_no_digest_without_anything_to_report(rt_sqlite: Runtime, clock: FrozenClock) -> None:
    seed(rt_sqlite, clock, measures=1)
    sweep(rt_sqlite, clock, _at(2026, 4, 20))  # escalated to the head only
    # Monday's period came for Dr. Sommer with nothing to say: skipped, and counted once.
    assert build_digests(sessions=rt_sqlite.sessions, clock=clock) == DigestReport(skipped=1)
    assert build_digests(sessions=rt_sqlite.sessions, clock=clock) == DigestReport()
    assert _digests(rt_sqlite) == []


def test_a_digest_reads_its_measures_together_not_one_by_one(
    rt: Runtime, clock: FrozenClock
) -> None:
    """Twelve escalated measures in one digest: their stays, measures and reminders are read
    in a few statements for all of them, not in a few for each."""
    seed(rt, clock, measures=12)
    for day in (_at(2026, 3, 30), _at(2026, 4, 10), _at(2026, 4, 13)):
        sweep(rt, clock, day)
        _mark_emails_sent(rt, clock)
    sweep(rt, clock, _at(2026, 5, 4))
    statements: list[str] = []

    def count(_c: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    event.listen(rt.engine, "before_cursor_execute", count)
    try:
        assert build_digests(sessions=rt.sessions, clock=clock) == DigestReport(sent=1)
    finally:
        event.remove(rt.engine, "before_cursor_execute", count)
    digest = _digests(rt)[0]
    assert len(digest["new_items"]) == 12  # type: ignore[arg-type]
    assert digest["new_items"][0]["history"] == (  # type: ignore[index]
        "3 Erinnerungen, zuletzt am 13.04.2026; Zielvereinbarung fehlt"
    )
    # The stays with their measures, goals, fields and departments, and the reminders' times.
    reads = [
        s
        for s in statements
        if s.startswith(PER_MEASURE) or "outbox_message.sent_at" in s.split("FROM")[0]
    ]
    assert len(reads) == 2, reads


PER_MEASURE = tuple(
    f"SELECT {table}." for table in ("measure_cycle", "measure", "goal", "field", "department")
)
