"""Bounce intake: VERP envelope senders, RFC 3464 samples through a real SMTP listener
(aiosmtpd, delivered by aiosmtplib) and through the IMAP reader.

No IMAP server package is installed or installable here, so the IMAP reader talks to a
minimal in-process IMAP4 stub on a loopback socket (``_ImapStub``): just the commands
imaplib sends for one read (CAPABILITY, LOGIN, SELECT, UID SEARCH/FETCH/STORE, EXPUNGE).
"""

from __future__ import annotations

import asyncio
import re
import socketserver
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiosmtplib
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from notifications.bounces import dsn, verp
from notifications.bounces.imap import read_mailbox
from notifications.bounces.intake import EVENT, process
from notifications.bounces.listener import start as start_listener
from notifications.bounces.models import AddressBounce
from notifications.models import OutboxMessage
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests.conftest import make_runtime
from tests.live import free_port
from tests.test_sweep import seed
from workflow import runtime
from workflow.clock import FrozenClock
from workflow.config import Settings
from workflow.cycles.models import AuditEvent
from workflow.db import make_engine
from workflow.runtime import Runtime

SAMPLES = Path(__file__).parent / "bounce_samples"
DOMAIN = "bounce.stadt.example.org"
PLACEHOLDER = f"bounce+1-aaaaaaaaaa@{DOMAIN}"
CONTACT = "mkontakt0@stadt.example.org"


def _settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "bounce_domain": DOMAIN,
        "secret_key": "s3cr3t-for-bounces",
    }
    return Settings(**{**values, **overrides})  # type: ignore[arg-type]


def sample(name: str, return_path: str, message_id: str | None = None) -> bytes:
    raw = (SAMPLES / name).read_bytes().replace(PLACEHOLDER.encode(), return_path.encode())
    if message_id is not None:
        raw = re.sub(rb"(?im)^Message-I[dD]: .*$", f"Message-ID: {message_id}".encode(), raw)
    return raw


@pytest.fixture
def bounce_rt(
    database_url: str, clock: FrozenClock, tmp_path: Path, smtp_sink: tuple[int, CapturingHandler]
) -> Iterator[Runtime]:
    rt = make_runtime(
        database_url,
        clock,
        tmp_path,
        smtp_port=smtp_sink[0],
        smtp_timeout_seconds=2.0,
        mail_from="zielflow@stadt.example.org",
        bounce_domain=DOMAIN,
        bounce_temporary_threshold=2,
        secret_key="s3cr3t-for-bounces",
    )
    yield rt
    runtime.install(None)
    rt.dispose()


def _sent_email(rt: Runtime, clock: FrozenClock) -> int:
    """Seeds two measures of one contact, sends their one email; its first row id."""
    seed(rt, clock, measures=2, contacts=1)
    assert send_pending(rt).emails_sent == 1
    with rt.sessions() as s:
        return min(
            s.scalars(select(OutboxMessage.id).where(OutboxMessage.recipient_email == CONTACT))
        )


def _address(rt: Runtime) -> AddressBounce | None:
    with rt.sessions() as s:
        return s.scalars(select(AddressBounce).where(AddressBounce.email == CONTACT)).first()


def _markers(rt: Runtime) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).where(AuditEvent.event == EVENT)) or 0)


# --- VERP ---------------------------------------------------------------------------------


def test_return_path_decodes_to_its_row_and_a_forged_tag_is_refused() -> None:
    settings = _settings()
    address = verp.return_path(4711, settings)
    assert re.fullmatch(rf"bounce\+4711-[0-9a-f]{{10}}@{re.escape(DOMAIN)}", address)
    assert verp.decode(address, settings) == 4711
    assert verp.decode(f"<{address.upper()}>", settings) == 4711  # case of the local part
    tag = address.split("-")[1].split("@")[0]
    assert verp.decode(address.replace("4711", "4712"), settings) is None  # tag of another row
    forged = "0" * 10 if tag != "0" * 10 else "1" * 10
    assert verp.decode(address.replace(tag, forged), settings) is None
    assert verp.decode(address.replace(DOMAIN, "example.org"), settings) is None
    assert verp.decode(address, _settings(secret_key="another-key")) is None
    assert verp.decode(address, _settings(bounce_domain="")) is None


def test_bounce_settings_are_validated() -> None:
    assert (_settings().bounce_temporary_threshold, _settings().bounce_imap_port) == (5, 993)
    for bad in ({"bounce_temporary_threshold": 0}, {"bounce_imap_port": 0}):
        with pytest.raises(ValidationError):
            _settings(**bad)
    with pytest.raises(ValidationError):
        _settings(bounce_imap_port=65536)
    with pytest.raises(ValidationError):
        _settings(bounce_imap_tls="starttls")


def test_envelope_sender_is_the_verp_address_of_the_first_row(
    bounce_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    first = _sent_email(bounce_rt, clock)
    ((mail_from, rcpts),) = smtp_sink[1].envelopes
    assert mail_from == verp.return_path(first, bounce_rt.settings)
    assert verp.decode(mail_from, bounce_rt.settings) == first
    assert rcpts == [CONTACT]
    assert smtp_sink[1].messages[0]["From"].addresses[0].addr_spec == "zielflow@stadt.example.org"


def test_without_a_bounce_domain_the_envelope_sender_stays_mail_from(
    sqlite_url: str, clock: FrozenClock, tmp_path: Path, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    rt = make_runtime(
        sqlite_url, clock, tmp_path, smtp_port=smtp_sink[0], mail_from="zf@example.org"
    )
    try:
        seed(rt, clock, measures=1)
        send_pending(rt)
    finally:
        runtime.install(None)
        rt.dispose()
    assert smtp_sink[1].envelopes[0][0] == "zf@example.org"


# --- DSN parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "action", "status", "permanent", "temporary"),
    [
        ("postfix_5.1.1.eml", "failed", "5.1.1", True, False),
        ("exchange_5.1.10.eml", "failed", "5.1.10", True, False),
        ("gmail_5.1.1.eml", "failed", "5.1.1", True, False),
        ("postfix_delayed_4.4.1.eml", "delayed", "4.4.1", False, True),
    ],
)
def test_samples_are_read_as_rfc_3464_reports(
    name: str, action: str, status: str, permanent: bool, temporary: bool
) -> None:
    report = dsn.parse((SAMPLES / name).read_bytes())
    assert report.ignored == ""
    failure = report.failure()
    assert failure is not None
    assert (failure.final_recipient, failure.action, failure.status) == (CONTACT, action, status)
    assert (failure.permanent, failure.temporary) == (permanent, temporary)
    assert failure.diagnostic and failure.reason.startswith(f"{status} ")
    assert PLACEHOLDER in " ".join(report.addresses)


def test_an_out_of_office_reply_is_ignored_with_a_reason() -> None:
    report = dsn.parse((SAMPLES / "out_of_office.eml").read_bytes())
    assert report.ignored == "not a report: auto-replied"
    assert report.failure() is None


# --- the listener -------------------------------------------------------------------------


def _deliver(port: int, raw: bytes, rcpt: str) -> tuple[int, str]:
    async def send() -> tuple[int, str]:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10)
        await client.connect()
        try:
            errors, response = await client.sendmail("", [rcpt], raw)
        finally:
            await client.quit()
        assert errors == {}
        return 250, response

    # Its own thread: a browser test before this one may leave an event loop running here.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, send()).result(timeout=60)


def test_reports_through_the_listener_mark_the_address_once(
    bounce_rt: Runtime, clock: FrozenClock
) -> None:
    first = _sent_email(bounce_rt, clock)
    rcpt = verp.return_path(first, bounce_rt.settings)
    port = free_port()
    controller, handler = start_listener(
        "127.0.0.1", port, bounce_rt.sessions, bounce_rt.settings, bounce_rt.clock.now
    )
    try:
        _deliver(port, sample("out_of_office.eml", rcpt), rcpt)
        assert _address(bounce_rt) is None
        _deliver(port, sample("postfix_delayed_4.4.1.eml", rcpt), rcpt)
        _deliver(port, sample("postfix_delayed_4.4.1.eml", rcpt), rcpt)  # the relay retried
        row = _address(bounce_rt)
        assert row is not None and (row.state, row.temporary_count) == ("ok", 1)
        # A second, distinct warning reaches the threshold of 2.
        _deliver(port, sample("postfix_delayed_4.4.1.eml", rcpt, "<warn-2@mx1>"), rcpt)
        row = _address(bounce_rt)
        assert row is not None and (row.state, row.temporary_count) == ("bouncing", 2)
        assert row.reason.startswith("4.4.1")
        _deliver(port, sample("postfix_5.1.1.eml", rcpt), rcpt)
    finally:
        controller.stop()
    assert [o.result for o in list(handler.outcomes)] == [
        "ignored",
        "recorded",
        "duplicate",
        "recorded",
        "recorded",
    ]
    assert handler.outcomes[-1].permanent and handler.outcomes[-1].email == CONTACT
    assert _markers(bounce_rt) == 3


def test_the_listener_refuses_other_domains_and_ignores_forged_tags(
    bounce_rt: Runtime, clock: FrozenClock
) -> None:
    first = _sent_email(bounce_rt, clock)
    forged = f"bounce+{first}-0123456789@{DOMAIN}"
    port = free_port()
    controller, handler = start_listener(
        "127.0.0.1", port, bounce_rt.sessions, bounce_rt.settings, bounce_rt.clock.now
    )
    try:
        _deliver(port, sample("postfix_5.1.1.eml", forged), forged)
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            _deliver(port, sample("postfix_5.1.1.eml", forged), "postmaster@stadt.example.org")
    finally:
        controller.stop()
    assert [(o.result, o.reason) for o in handler.outcomes] == [("ignored", "no valid return path")]
    assert _address(bounce_rt) is None


def test_a_permanent_failure_marks_the_address_at_once(
    database_url: str, clock: FrozenClock, tmp_path: Path
) -> None:
    """The state change on both databases without a listener: process() on its own."""
    rt = make_runtime(database_url, clock, tmp_path, bounce_domain=DOMAIN)
    try:
        seed(rt, clock, measures=1)
        with rt.sessions() as s:
            row_id = min(s.scalars(select(OutboxMessage.id)))
            email = s.get(OutboxMessage, row_id).recipient_email  # type: ignore[union-attr]
        rcpt = verp.return_path(row_id, rt.settings)
        raw = sample("exchange_5.1.10.eml", rcpt)
        outcome = process(rt.sessions, raw, envelope_to=None, settings=rt.settings, now=clock.now())
        again = process(rt.sessions, raw, envelope_to=rcpt, settings=rt.settings, now=clock.now())
        assert (outcome.result, outcome.permanent, again.result) == ("recorded", True, "duplicate")
        with rt.sessions() as s:
            (bounce,) = s.scalars(select(AddressBounce))
            assert (bounce.email, bounce.state, bounce.temporary_count) == (email, "bouncing", 0)
            assert bounce.reason.startswith("5.1.10") and bounce.bouncing_since is not None
    finally:
        runtime.install(None)
        rt.dispose()


# --- IMAP ---------------------------------------------------------------------------------


class _ImapStub(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, messages: list[bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _ImapSession)
        self.mailbox: dict[int, bytes] = dict(enumerate(messages, start=1))
        self.deleted: set[int] = set()
        self.logins: list[str] = []


class _ImapSession(socketserver.StreamRequestHandler):
    server: _ImapStub

    def _send(self, line: bytes) -> None:
        self.wfile.write(line + b"\r\n")

    def handle(self) -> None:
        self._send(b"* OK IMAP4rev1 stub ready")
        while line := self.rfile.readline():
            tag, _, rest = line.strip().partition(b" ")
            command, _, args = rest.partition(b" ")
            verb = command.upper()
            if verb == b"UID":
                sub, _, args = args.partition(b" ")
                self._uid(sub.upper(), args)
            elif verb == b"CAPABILITY":
                self._send(b"* CAPABILITY IMAP4rev1")
            elif verb == b"LOGIN":
                self.server.logins.append(args.decode())
            elif verb == b"SELECT":
                self._send(b"* %d EXISTS" % len(self.server.mailbox))
            elif verb == b"EXPUNGE":
                for uid in sorted(self.server.deleted):
                    self.server.mailbox.pop(uid, None)
                    self._send(b"* 1 EXPUNGE")
                self.server.deleted.clear()
            elif verb == b"LOGOUT":
                self._send(b"* BYE")
                self._send(tag + b" OK done")
                return
            self._send(tag + b" OK done")

    def _uid(self, sub: bytes, args: bytes) -> None:
        box = self.server.mailbox
        if sub == b"SEARCH":
            self._send(b"* SEARCH " + b" ".join(str(u).encode() for u in sorted(box)))
        elif sub == b"FETCH":
            uid = int(args.split(b" ")[0])
            raw = box[uid]
            self.wfile.write(b"* 1 FETCH (UID %d BODY[] {%d}\r\n" % (uid, len(raw)) + raw)
            self._send(b")")
        elif sub == b"STORE":
            uid = int(args.split(b" ")[0])
            self.server.deleted.add(uid)
            self._send(b"* 1 FETCH (UID %d FLAGS (\\Deleted))" % uid)


@pytest.fixture
def imap_stub() -> Iterator[_ImapStub]:
    stub = _ImapStub([])
    thread = threading.Thread(target=stub.serve_forever, daemon=True)
    thread.start()
    yield stub
    stub.shutdown()
    stub.server_close()


def _imap_settings(rt: Runtime, stub: _ImapStub) -> Settings:
    return rt.settings.model_copy(
        update={
            "bounce_imap_host": "127.0.0.1",
            "bounce_imap_port": stub.server_address[1],
            "bounce_imap_tls": "none",
            "bounce_imap_user": "bounces",
            "bounce_imap_password": "geheim",
        }
    )


def test_the_imap_reader_applies_each_report_then_deletes_it(
    bounce_rt: Runtime, clock: FrozenClock, imap_stub: _ImapStub
) -> None:
    first = _sent_email(bounce_rt, clock)
    rcpt = verp.return_path(first, bounce_rt.settings)
    warning = sample("postfix_delayed_4.4.1.eml", rcpt)
    imap_stub.mailbox.update(
        {
            1: warning,
            2: warning,
            3: sample("gmail_5.1.1.eml", rcpt),
            4: sample("out_of_office.eml", rcpt),
        }
    )
    settings = _imap_settings(bounce_rt, imap_stub)
    report = read_mailbox(bounce_rt.sessions, settings, clock.now)
    assert (report.counts, report.failed) == ({"recorded": 2, "duplicate": 1, "ignored": 1}, 0)
    assert imap_stub.mailbox == {} and imap_stub.logins == ['bounces "geheim"']
    row = _address(bounce_rt)
    assert row is not None and (row.state, row.temporary_count) == ("bouncing", 1)
    assert row.reason.startswith("5.1.1")


def test_a_report_that_cannot_be_stored_stays_in_the_mailbox(
    tmp_path: Path, clock: FrozenClock, imap_stub: _ImapStub
) -> None:
    settings = _settings(
        bounce_imap_host="127.0.0.1",
        bounce_imap_port=imap_stub.server_address[1],
        bounce_imap_tls="none",
        bounce_imap_user="bounces",
    )
    raw = sample("postfix_5.1.1.eml", verp.return_path(1, settings))
    imap_stub.mailbox[1] = raw
    # A database that is away: its directory does not exist, so every connection fails.
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}")
    report = read_mailbox(sessionmaker(engine), settings, clock.now)
    assert (report.counts, report.failed) == ({}, 1)
    assert imap_stub.mailbox == {1: raw}


def test_cli_reads_the_mailbox_and_says_what_it_did(
    sqlite_url: str, clock: FrozenClock, tmp_path: Path, imap_stub: _ImapStub
) -> None:
    from workflow.cli import app

    rt = make_runtime(
        sqlite_url,
        clock,
        tmp_path,
        bounce_domain=DOMAIN,
        bounce_imap_host="127.0.0.1",
        bounce_imap_port=imap_stub.server_address[1],
        bounce_imap_tls="none",
        bounce_imap_user="bounces",
    )
    try:
        seed(rt, clock, measures=1)
        with rt.sessions() as s:
            row_id = min(s.scalars(select(OutboxMessage.id)))
        imap_stub.mailbox[1] = sample("postfix_5.1.1.eml", verp.return_path(row_id, rt.settings))
        imap_stub.mailbox[2] = sample("out_of_office.eml", verp.return_path(row_id, rt.settings))
        result = CliRunner().invoke(app, ["bounces"])
        assert result.exit_code == 0, (result.stdout, result.stderr)
        assert result.stdout.strip() == (
            "Rücklaufpostfach gelesen: 1 erfasst, 0 bereits erfasst, 1 übergangen, "
            "0 nicht verarbeitet und im Postfach belassen."
        )
        rt.settings.bounce_imap_host = ""
        refused = CliRunner().invoke(app, ["bounces"])
        assert refused.exit_code == 1
        assert refused.stderr.strip().startswith("ZIELFLOW_BOUNCE_IMAP_HOST ist nicht gesetzt")
    finally:
        runtime.install(None)
        rt.dispose()


def test_the_beat_reads_the_mailbox_only_when_one_is_set() -> None:
    from workflow.celery_app import make_celery

    with_mailbox = make_celery(_settings(bounce_imap_host="imap.stadt.example.org"))
    assert with_mailbox.conf.beat_schedule["bounces"]["task"] == "zielflow.bounces"
    assert "bounces" not in make_celery(_settings()).conf.beat_schedule
