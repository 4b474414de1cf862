"""The sender against a real aiosmtpd server: batching, retries, dead letters, leases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from notifications.models import OutboxMessage
from notifications.sender import backoff, send_pending
from notifications.sink import CapturingHandler
from tests.conftest import make_runtime
from tests.test_sweep import _at, seed, sweep
from workflow import runtime
from workflow.accounts import Role, add_or_update_user
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.forms.tokens import FormToken, hash_token
from workflow.runtime import Runtime

LINK = re.compile(r"https?://\S+/f/([A-Za-z0-9_-]{43})")


@pytest.fixture
def mail_rt(
    database_url: str, clock: FrozenClock, tmp_path: Path, smtp_sink: tuple[int, CapturingHandler]
) -> Iterator[Runtime]:
    port, _ = smtp_sink
    rt = make_runtime(
        database_url,
        clock,
        tmp_path,
        smtp_port=port,
        smtp_timeout_seconds=2.0,
        base_url="https://zielflow.stadt.example.org",
        send_max_attempts=3,
        mail_from="zielflow@stadt.example.org",
    )
    yield rt
    runtime.install(None)
    rt.dispose()


def _rows(rt: Runtime) -> list[OutboxMessage]:
    with rt.sessions() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _text(message: object) -> str:
    part = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    return str(part.get_content())


def _html(message: object) -> str:
    part = message.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
    return str(part.get_content())


def test_eight_measures_one_email_one_link(
    mail_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    seed(mail_rt, clock, measures=8, contacts=1)
    report = send_pending(mail_rt)
    assert (report.claimed, report.emails_sent, report.rows_sent) == (8, 1, 8)
    assert len(sink.messages) == 1
    msg = sink.messages[0]
    assert msg["To"].addresses[0].addr_spec == "mkontakt0@stadt.example.org"
    assert msg["X-Zielflow-Kind"] == "invitation_agreement"
    assert msg.get_content_type() == "multipart/alternative"
    text, html = _text(msg), _html(msg)
    links = set(LINK.findall(text))
    assert len(links) == 1, text
    assert f'href="https://zielflow.stadt.example.org/f/{next(iter(links))}"' in html
    for n in range(1, 9):
        assert f"M{n:04d}" in text and f"M{n:04d}" in html
    with mail_rt.sessions() as s:
        token = s.scalars(select(FormToken)).one()
        assert token.token_hash == hash_token(next(iter(links)))  # stored only as its hash
        assert next(iter(links)) not in str([r.context for r in s.scalars(select(OutboxMessage))])
    rows = _rows(mail_rt)
    assert {r.status for r in rows} == {"sent"}
    assert {r.message_id for r in rows} == {msg["Message-ID"]}
    assert send_pending(mail_rt).claimed == 0  # nothing left, nothing twice
    assert len(sink.messages) == 1


def test_reminders_to_two_contacts_are_two_emails(
    mail_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    seed(mail_rt, clock, measures=5, contacts=2)
    send_pending(mail_rt)
    sweep(mail_rt, clock, _at(2026, 3, 30))
    send_pending(mail_rt)
    reminders = [m for m in sink.messages if m["X-Zielflow-Kind"] == "reminder"]
    assert sorted(m["To"].addresses[0].addr_spec for m in reminders) == [
        "mkontakt0@stadt.example.org",
        "mkontakt1@stadt.example.org",
    ]


def test_temporary_refusal_retries_with_backoff_then_delivers_once(
    mail_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    seed(mail_rt, clock, measures=2)
    sink.fail_with = "451 4.3.0 Bitte später noch einmal"
    report = send_pending(mail_rt)
    assert (report.emails_sent, report.retried) == (0, 2)
    rows = _rows(mail_rt)
    assert {(r.status, r.attempts) for r in rows} == {("pending", 1)}
    assert all(r.not_before == clock.now() + backoff(1) for r in rows)
    assert "451" in rows[0].last_error
    sink.fail_with = None
    assert send_pending(mail_rt).claimed == 0  # backoff not over yet
    clock.advance(backoff(1) + timedelta(seconds=1))
    assert send_pending(mail_rt).emails_sent == 1
    assert len(sink.messages) == 1
    assert {r.status for r in _rows(mail_rt)} == {"sent"}


def test_permanent_failure_dead_letters_and_tells_the_coordinator(
    mail_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    seed(mail_rt, clock, measures=1)
    with unit_of_work(mail_rt.sessions) as s:
        add_or_update_user(
            session=s,
            organisation_id=1,
            email="koordination@stadt.example.org",
            role=Role.COORDINATOR,
            password="sehr-geheimes-passwort",
            now=clock.now(),
        )
    sink.fail_with = "550 5.1.1 Postfach unbekannt"
    report = send_pending(mail_rt)
    assert report.dead == 1
    sink.fail_with = None
    send_pending(mail_rt)
    rows = _rows(mail_rt)
    assert [(r.kind, r.status) for r in rows] == [
        ("invitation_agreement", "dead"),
        ("dead_letter", "sent"),
    ]
    notice = sink.messages[-1]
    assert notice["To"].addresses[0].addr_spec == "koordination@stadt.example.org"
    assert "mkontakt0@stadt.example.org" in _text(notice)
    assert "550" in _text(notice)


def test_after_max_attempts_a_temporary_failure_is_dead(
    mail_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    seed(mail_rt, clock, measures=1)
    sink.fail_with = "421 4.4.2 Zu viele Verbindungen"
    for attempt in range(1, 4):
        send_pending(mail_rt)
        clock.advance(backoff(attempt) + timedelta(seconds=1))
    first = _rows(mail_rt)[0]
    assert (first.status, first.attempts) == ("dead", 3)


def test_a_hanging_server_times_out_and_the_row_is_retried(
    mail_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    seed(mail_rt, clock, measures=1)
    # The server holds the DATA answer longer than our 2 s timeout, then refuses it.
    sink.delay_seconds, sink.fail_with = 4.0, "451 4.3.0 zu spät"
    report = send_pending(mail_rt)
    assert (report.emails_sent, report.retried) == (0, 1)
    assert (
        "Timeout" in _rows(mail_rt)[0].last_error
        or "timed out" in _rows(mail_rt)[0].last_error.lower()
    )
    sink.delay_seconds, sink.fail_with = 0.0, None
    clock.advance(backoff(1) + timedelta(seconds=1))
    assert send_pending(mail_rt).emails_sent == 1
    assert len(sink.messages) == 1


def test_a_claim_whose_worker_died_is_taken_again_after_the_lease(
    mail_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    from notifications.sender import claim

    _, sink = smtp_sink
    seed(mail_rt, clock, measures=3)
    with unit_of_work(mail_rt.sessions) as s:
        ids = claim(s, now=clock.now(), limit=100, lease=timedelta(minutes=5)).ids
    assert len(ids) == 3  # ...and then this "worker" dies without sending
    assert send_pending(mail_rt).claimed == 0  # the lease still holds
    clock.advance(timedelta(minutes=5, seconds=1))
    report = send_pending(mail_rt)
    assert (report.claimed, report.emails_sent) == (3, 1)
    assert len(sink.messages) == 1
    assert {(r.status, r.attempts) for r in _rows(mail_rt)} == {("sent", 2)}


def test_eml_files_are_written_by_the_demo_sink(
    mail_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    seed(mail_rt, clock, measures=1)
    send_pending(mail_rt)
    assert sink.directory is not None
    files = list(sink.directory.glob("*.eml"))
    assert len(files) == 1 and b"X-Zielflow-Kind: invitation_agreement" in files[0].read_bytes()


class _SlowRelay(CapturingHandler):
    """Each message takes 4 s of (frozen) time; during the third, another worker sends too."""

    def __init__(self, clock: FrozenClock, during_third: object) -> None:
        super().__init__()
        self.clock = clock
        self.during_third = during_third

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # type: ignore[override]
        self.clock.advance(timedelta(seconds=4))
        if len(self.messages) == 2:
            import asyncio

            await asyncio.get_running_loop().run_in_executor(None, self.during_third)  # type: ignore[arg-type]
        return await super().handle_DATA(server, session, envelope)  # type: ignore[arg-type]


def test_a_batch_longer_than_the_lease_is_not_taken_over(
    database_url: str, clock: FrozenClock, tmp_path: Path
) -> None:
    """Leases are renewed per email: a second worker running while the batch is still under
    way finds nothing to send, although the whole batch took longer than one lease."""
    from aiosmtpd.controller import Controller

    from tests.live import free_port

    port = free_port()
    settings = {"smtp_port": port, "smtp_timeout_seconds": 1.0, "send_lease_seconds": 10}
    first = make_runtime(database_url, clock, tmp_path / "a", **settings)
    second = make_runtime(database_url, clock, tmp_path / "b", **settings)
    seed(first, clock, measures=3, contacts=3)  # three contacts: three emails in one batch
    reports = []
    handler = _SlowRelay(clock, lambda: reports.append(send_pending(second)))
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert send_pending(first).emails_sent == 3
    finally:
        controller.stop()
    assert reports and reports[0].emails_sent == 0  # at 12 s, past the first lease of 10 s
    ids = [str(m["Message-ID"]) for m in handler.messages]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert {r.status for r in _rows(first)} == {"sent"}
    second.dispose()
    first.dispose()
    runtime.install(None)
