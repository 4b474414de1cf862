"""The sender's pipeline against a real aiosmtpd server: the connection pool, a server that
fails mid-batch, a worker that dies after a "250", and the bytes the sender writes itself."""

from __future__ import annotations

import email
import email.policy
import re
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import event, func, select

import notifications.sender as sender_module
from notifications.mime import Envelope, message_bytes
from notifications.models import OutboxMessage
from notifications.render import RenderedEmail
from notifications.sender import RENDER_CHUNK, backoff, build_message, send_pending
from notifications.sink import CapturingHandler
from tests.conftest import make_runtime
from tests.live import free_port
from tests.test_sweep import seed
from workflow import runtime
from workflow.clock import FrozenClock
from workflow.forms.tokens import FormToken, TokenState, look_up
from workflow.runtime import Runtime

EMAILS = 8  # eight contacts with one measure each: eight emails in one claim
# Two full chunks and a short one, for the links test.
LINKED = 2 * RENDER_CHUNK + 3
LINK = re.compile(r"https?://\S+/f/([A-Za-z0-9_-]{43})")


class _Server(CapturingHandler):
    """Notes each message's connection; from the ``fail_from``-th message on it misbehaves:
    refuses with a 4xx, or stores the message and hangs up before answering."""

    def __init__(self, fail_from: int = 0, how: str = "") -> None:
        super().__init__()
        self.fail_from = fail_from
        self.how = how
        self.peers: list[object] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.append(session.peer)
        failing = self.how and len(self.peers) >= self.fail_from
        if failing and self.how == "refuse":
            return "451 4.3.0 Bitte später noch einmal"
        answer = await super().handle_DATA(server, session, envelope)
        if failing and self.how == "hang_up":
            self.how = ""  # once: stored, and the client never hears the "250"
            server.transport.close()
        return answer


@pytest.fixture
def server() -> Iterator[tuple[int, _Server]]:
    port = free_port()
    handler = _Server()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, handler
    controller.stop()


def _runtime(
    database_url: str, clock: FrozenClock, tmp_path: Path, port: int, **settings: Any
) -> Runtime:
    # Short SMTP timeouts keep the failure tests quick; a test may ask for a longer one.
    settings = {"smtp_timeout_seconds": 2.0, **settings}
    return make_runtime(
        database_url,
        clock,
        tmp_path,
        smtp_port=port,
        mail_from="zielflow@stadt.example.org",
        **settings,
    )


def _statuses(rt: Runtime) -> Counter[str]:
    with rt.sessions() as s:
        return Counter(s.scalars(select(OutboxMessage.status)))


def _to(handler: CapturingHandler) -> Counter[str]:
    return Counter(m["To"].addresses[0].addr_spec for m in handler.messages)


@pytest.mark.parametrize("connections", [1, 4])
def test_the_pool_sends_over_as_many_connections_as_configured(
    database_url: str,
    clock: FrozenClock,
    tmp_path: Path,
    server: tuple[int, _Server],
    connections: int,
) -> None:
    port, handler = server
    # This test counts connections, not timeouts: four connections opened at once to the
    # in-process server took longer than 2 s on a loaded machine, and the email whose connect
    # timed out was (rightly) left for the next pass.
    rt = _runtime(
        database_url, clock, tmp_path, port, smtp_connections=connections, smtp_timeout_seconds=10.0
    )
    seed(rt, clock, measures=EMAILS, contacts=EMAILS)
    report = send_pending(rt)
    assert (report.claimed, report.emails_sent) == (EMAILS, EMAILS)
    assert len(set(handler.peers)) == connections
    assert set(_to(handler).values()) == {1} and len(handler.messages) == EMAILS
    assert _statuses(rt) == Counter({"sent": EMAILS})
    rt.dispose()
    runtime.install(None)


@pytest.mark.parametrize("connections", [1, 4])
def test_a_server_refusing_mid_batch_loses_nothing_and_sends_nothing_twice(
    database_url: str,
    clock: FrozenClock,
    tmp_path: Path,
    server: tuple[int, _Server],
    connections: int,
) -> None:
    port, handler = server
    handler.fail_from, handler.how = 4, "refuse"
    rt = _runtime(database_url, clock, tmp_path, port, smtp_connections=connections)
    seed(rt, clock, measures=EMAILS, contacts=EMAILS)
    report = send_pending(rt)
    assert (report.emails_sent, report.retried) == (3, EMAILS - 3)
    assert _statuses(rt) == Counter({"sent": 3, "pending": EMAILS - 3})
    handler.how = ""
    clock.advance(backoff(1) + timedelta(seconds=1))
    assert send_pending(rt).emails_sent == EMAILS - 3
    assert set(_to(handler).values()) == {1} and len(handler.messages) == EMAILS
    assert _statuses(rt) == Counter({"sent": EMAILS})
    rt.dispose()
    runtime.install(None)


def test_a_server_hanging_up_after_storing_makes_one_copy_with_the_same_message_id(
    database_url: str, clock: FrozenClock, tmp_path: Path, server: tuple[int, _Server]
) -> None:
    """The second documented window: the connection drops before the "250"."""
    port, handler = server
    handler.fail_from, handler.how = 4, "hang_up"
    rt = _runtime(database_url, clock, tmp_path, port)
    seed(rt, clock, measures=EMAILS, contacts=EMAILS)
    report = send_pending(rt)
    assert (report.emails_sent, report.retried) == (EMAILS - 1, 1)
    clock.advance(backoff(1) + timedelta(seconds=1))
    assert send_pending(rt).emails_sent == 1
    copies = [m for m in handler.messages if _to(handler)[m["To"].addresses[0].addr_spec] > 1]
    assert len(handler.messages) == EMAILS + 1 and len(copies) == 2
    assert copies[0]["Message-ID"] == copies[1]["Message-ID"]
    assert _statuses(rt) == Counter({"sent": EMAILS})
    rt.dispose()
    runtime.install(None)


def test_a_worker_dying_after_a_250_leaves_only_that_email_unmarked(
    database_url: str,
    clock: FrozenClock,
    tmp_path: Path,
    server: tuple[int, _Server],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first documented window: each email is marked before its connection sends the
    next, so a death after the second "250" repeats the second email alone, under its
    Message-ID, although the rest of the claim was already rendered."""
    port, handler = server
    rt = _runtime(database_url, clock, tmp_path, port, send_lease_seconds=30)
    seed(rt, clock, measures=EMAILS, contacts=EMAILS)
    marks: list[list[int]] = []
    real_mark = sender_module._mark_sent

    def dying_mark(rt_: Runtime, token: str, row_ids: list[int], *held: object) -> None:
        if marks:
            raise SystemError("worker killed")
        marks.append(row_ids)
        real_mark(rt_, token, row_ids, *held)  # type: ignore[arg-type]

    monkeypatch.setattr(sender_module, "_mark_sent", dying_mark)
    with pytest.raises(SystemError):
        send_pending(rt)
    assert len(handler.messages) == 2 and _statuses(rt) == Counter({"sent": 1, "sending": 7})
    monkeypatch.setattr(sender_module, "_mark_sent", real_mark)
    assert send_pending(rt).claimed == 0  # the lease still holds
    clock.advance(timedelta(seconds=31))
    assert send_pending(rt).emails_sent == EMAILS - 1
    twice = [a for a, n in _to(handler).items() if n > 1]
    assert len(handler.messages) == EMAILS + 1 and twice == [
        str(handler.messages[1]["To"].addresses[0].addr_spec)
    ]
    ids = [
        str(m["Message-ID"]) for m in handler.messages if m["To"].addresses[0].addr_spec == twice[0]
    ]
    assert ids[0] == ids[1]
    assert _statuses(rt) == Counter({"sent": EMAILS})
    rt.dispose()
    runtime.install(None)


def _parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.parametrize(
    ("sender_name", "recipient_name"),
    [
        ("Integrationsbüro Nordstadt", "Dr. Änne Müller-Lüdenscheidt, Amt 51 (Jugend)"),
        ('Stadt "Südheim", Stabsstelle', "Plain Name"),
        ("", ""),
    ],
)
def test_the_written_bytes_read_back_as_the_built_message(
    sender_name: str, recipient_name: str
) -> None:
    """What notifications/mime.py writes, a mail program reads as build_message's message."""
    from datetime import UTC, datetime
    from email.utils import format_datetime
    from types import SimpleNamespace

    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    rendered = RenderedEmail(
        "Erinnerung: Bitte um die Rückmeldung zur Zielerreichung 2026 – " + "Maßnahme " * 6,
        "Sehr geehrte Frau Müller,\n\nLink: https://z.example.org/f/" + "a" * 43 + "?x=1 \n"
        ".\nFrom here\n\x07\n" + "lang " * 30 + "\n",
        '<p>Grüße</p>\n<a href="https://z.example.org/f/' + "b" * 43 + '">Formular</a>\n',
        headers=(("List-Unsubscribe", "<https://z.example.org/abmelden/x>"),),
    )
    row = SimpleNamespace(
        id=7, recipient_name=recipient_name, recipient_email="a@stadt.example.org", kind="reminder"
    )
    built = build_message(
        rendered,
        rows=[row],  # type: ignore[list-item]
        sender_name=sender_name,
        mail_from="zielflow@stadt.example.org",
        now=now,
        reply_to="buero@stadt.example.org",
    )
    old = _parsed(built.as_bytes(policy=email.policy.SMTP))
    raw = message_bytes(
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        envelope=Envelope(
            sender_name,
            "zielflow@stadt.example.org",
            recipient_name,
            "a@stadt.example.org",
            "buero@stadt.example.org",
        ),
        headers=[
            ("Date", format_datetime(now)),
            ("Message-ID", str(built["Message-ID"])),
            ("Auto-Submitted", "auto-generated"),
            ("X-Zielflow-Kind", "reminder"),
            *rendered.headers,
        ],
    )
    assert raw is not None and raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    new = _parsed(raw)
    for name in ("Subject", "Date", "Message-ID", "Auto-Submitted", "X-Zielflow-Kind"):
        assert str(new[name]) == str(old[name]), name
    assert str(new["List-Unsubscribe"]) == str(old["List-Unsubscribe"])
    # Compared with the names themselves: the standard library's own folding may split a
    # word of a long display name ("Jug end"), which is why the sender no longer uses it.
    for name, shown in (("From", sender_name), ("To", recipient_name), ("Reply-To", sender_name)):
        (address,) = new[name].addresses
        assert address.addr_spec == old[name].addresses[0].addr_spec, name
        assert address.display_name == shown, name
    assert new.get_content_type() == old.get_content_type() == "multipart/alternative"
    for subtype in ("plain", "html"):
        new_part, old_part = new.get_body((subtype,)), old.get_body((subtype,))
        assert new_part is not None and old_part is not None
        assert new_part.get_content() == old_part.get_content(), subtype


def test_the_pool_is_one_connection_unless_configured_and_bounded() -> None:
    from pydantic import ValidationError

    from workflow.config import Settings

    assert Settings(environment="test").smtp_connections == 1
    assert Settings(environment="test", smtp_connections=4).smtp_connections == 4
    for refused in (0, 17):
        with pytest.raises(ValidationError):
            Settings(environment="test", smtp_connections=refused)


@pytest.mark.parametrize(
    "recipient",
    [
        "a@stadt.example.org\r\nBcc: x@evil.example",
        "a@stadt.example.org Bcc",
        "ä@stadt.example.org",
    ],
)
def test_an_address_the_writer_cannot_vouch_for_goes_to_email_message(recipient: str) -> None:
    """None sends the sender to ``build_message``, which refuses a line break in a header."""
    envelope = Envelope("Amt", "zielflow@stadt.example.org", "Name", recipient)
    assert message_bytes(subject="S", text="t", html="h", envelope=envelope, headers=[]) is None


def _chunks(emails: int) -> int:
    """How many chunks the sender renders ``emails`` in: 1, 2, 4 … then RENDER_CHUNK each."""
    count, start, size = 0, 0, 1
    while start < emails:
        count, start, size = count + 1, start + size, min(2 * size, RENDER_CHUNK)
    return count


def test_every_emailed_link_opens_and_a_chunk_writes_its_links_in_one_statement(
    database_url: str,
    clock: FrozenClock,
    tmp_path: Path,
    server: tuple[int, _Server],
) -> None:
    """The form links of a claim's emails: each opens its form, and a chunk's are one INSERT."""
    port, handler = server
    rt = _runtime(database_url, clock, tmp_path, port)
    seed(rt, clock, measures=LINKED, contacts=LINKED)
    inserts: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO FORM_TOKEN"):
            inserts.append(statement)

    event.listen(rt.engine, "before_cursor_execute", note)
    try:
        report = send_pending(rt)
    finally:
        event.remove(rt.engine, "before_cursor_execute", note)
    assert (report.claimed, report.emails_sent) == (LINKED, LINKED)
    # One statement per rendered chunk, however many links it holds (the ORM wrote a row at
    # a time on SQLite).
    assert len(inserts) == _chunks(LINKED)
    tokens = [
        match
        for message in handler.messages
        for match in LINK.findall(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    ]
    assert len(tokens) == LINKED and len(set(tokens)) == LINKED
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(FormToken)) == LINKED
        found = [look_up(s, raw, clock.now()) for raw in tokens]
    assert {state for state, _ in found} == {TokenState.VALID}
    # Each link opens its own recipient's form, no one else's.
    assert len({token.contact_id for _, token in found if token is not None}) == LINKED
    rt.dispose()
    runtime.install(None)
