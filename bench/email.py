"""Benchmark of messages per second from the outbox to a local SMTP sink through notifications.sender.

The reference sends the very same messages, already rendered, with a bare aiosmtplib loop
over as many connections as the sender uses (1, and a pool of ``POOL``). Every outbox row
has its own recipient, so one row is one email.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import sys
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from sqlalchemy import bindparam, text

from bench.common import (
    Figure,
    Options,
    Recorder,
    interleaved,
    postgres_database,
    run_benchmark,
    sqlite_database,
)
from bench.data import Shape, Slot, populate
from bench.sink import SinkProcess
from bench.sweep import DUE_AT, DUE_ON, ENTERED, NOW
from notifications.sender import send_pending
from workflow import runtime
from workflow.clock import FrozenClock
from workflow.config import Settings
from workflow.db import UTCDateTime, make_engine
from workflow.sweep import run_sweep

# The configured pool measured besides one connection (ZIELFLOW_SMTP_CONNECTIONS).
POOL = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class EmailData:
    def __init__(self, url: str, messages: int, sink: SinkProcess, scratch_dir: Path) -> None:
        self.engine = make_engine(url)
        self.kind = self.engine.dialect.name
        self.messages = messages
        self.sink = sink
        settings = Settings(
            database_url=url,
            environment="test",
            smtp_host="127.0.0.1",
            smtp_port=sink.port,
            mail_from="zielflow@bench.example.org",
            var_dir=scratch_dir,
        )
        self.rt = runtime.build(settings, FrozenClock(NOW))
        runtime.install(self.rt)
        self.connections = 1
        self.pooled = runtime.build(
            settings.model_copy(update={"smtp_connections": POOL}), self.rt.clock
        )
        # One contact per measure: nothing can be merged into a shared email.
        departments = 20
        populate(
            self.engine,
            Shape(
                organisations=1,
                measures_per_org=messages,
                departments_per_org=departments,
                contacts_per_org=-(-messages // departments) * departments,
            ),
            [Slot("target_agreement", ENTERED, DUE_ON, DUE_AT, interviewed_at=ENTERED)],
            opened_at=ENTERED,
        )
        report = run_sweep(sessions=self.rt.sessions, clock=self.rt.clock)
        if report.queued != messages:
            raise AssertionError(f"the sweep queued {report.queued} reminders, not {messages}")
        self.prerendered: list[EmailMessage] = []

    def reset(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE outbox_message SET status = 'pending', attempts = 0, lease_until = NULL,"
                    " sent_at = NULL, message_id = NULL, last_error = '', not_before = :now"
                ).bindparams(bindparam("now", NOW, type_=UTCDateTime()))
            )
            # The sender issues one form link per email; drop the last run's.
            conn.execute(text("DELETE FROM form_token"))
        if self.kind == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE outbox_message, form_token"))
        self.sink.clear()

    def sender(self) -> int:
        rt = self.pooled if self.connections > 1 else self.rt
        sent = 0
        while True:
            report = send_pending(rt)
            sent += report.emails_sent
            if report.claimed == 0:
                return sent

    def capture(self, directory: Path) -> None:
        """The messages the sender produced, as the reference's pre-rendered input."""
        self.reset()
        self.sender()
        if self.sink.save(directory) != self.messages:
            raise AssertionError("the sink did not get every message")
        self.prerendered = [_parse(path.read_bytes()) for path in sorted(directory.glob("*.eml"))]

    def bare_loop(self) -> int:
        return asyncio.run(_send_all(self.sink.port, self.prerendered, self.connections))

    def check(self, _name: str, outcome: object) -> None:
        received = self.sink.count()
        if outcome != self.messages or received != self.messages:
            raise AssertionError(f"{outcome} sent, {received} received, {self.messages} expected")

    def close(self) -> None:
        runtime.install(None)
        self.pooled.dispose()
        self.rt.dispose()
        self.engine.dispose()


def _parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


async def _send_all(port: int, messages: list[EmailMessage], connections: int) -> int:
    """``connections`` clients, each taking the next message as soon as it is free."""
    pending = iter(messages)

    async def one_client() -> int:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
        await client.connect()
        sent = 0
        try:
            for message in pending:
                await client.send_message(message)
                sent += 1
        finally:
            await client.quit()
        return sent

    counts = await asyncio.gather(*(one_client() for _ in range(connections)))
    return sum(counts)


def run(opts: Options, rec: Recorder) -> None:
    messages = 15 if opts.quick else 2_000
    runs = 2 if opts.quick else 5
    rec.sizes = {
        "messages": messages,
        "distinct_recipients": messages,
        "kind": "reminder (text + HTML, one form link each)",
        "send_batch_size": Settings(environment="test").send_batch_size,
        "smtp_connections": [1, POOL],
        "runs": runs,
    }
    rec.note("The SMTP sink (aiosmtpd) runs in a process of its own on loopback.")
    for kind in ("postgresql", "sqlite"):
        database = (
            postgres_database(opts) if kind == "postgresql" else sqlite_database(opts, "email")
        )
        sink = SinkProcess(free_port())
        try:
            with database as url:
                data = EmailData(url, messages, sink, opts.scratch_dir)
                try:
                    data.capture(opts.scratch_dir / f"prerendered-{kind}")
                    for connections in (1, POOL):
                        data.connections = connections
                        subject, reference = interleaved(
                            runs, data.sender, data.bare_loop, before=data.reset, check=data.check
                        )
                        rec.add(_figure(kind, connections, messages, subject, reference))
                finally:
                    data.close()
        finally:
            sink.stop()


def _figure(
    kind: str, connections: int, messages: int, subject: list[float], reference: list[float]
) -> Figure:
    over = "one connection" if connections == 1 else f"{connections} connections"
    return Figure(
        name=f"emails/s {kind}, {over}, send_pending (render, claim, send, mark)",
        unit="1/s",
        better="higher",
        runs=[messages / s for s in subject],
        reference_name=f"bare aiosmtplib loop, same messages pre-rendered, {over}",
        reference_runs=[messages / s for s in reference],
        target="at least 90% of the bare aiosmtplib loop",
        target_ratio_min=0.9,
    )


def main(argv: list[str] | None = None) -> int:
    return run_benchmark("email", __doc__ or "", run, argv)


if __name__ == "__main__":
    sys.exit(main())
