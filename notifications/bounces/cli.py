"""``zielflow bounces``: read the bounce mailbox once, or ``--listen HOST:PORT`` for reports.

Without ``--listen`` the command reads the IMAP folder of the settings once (what the beat
task ``zielflow.bounces`` does). With it, a local SMTP server takes reports in the foreground
until it is stopped (Ctrl+C or SIGTERM).
"""

from __future__ import annotations

import imaplib
import signal
import threading
from typing import Annotated

import typer

from workflow import runtime
from workflow.cli_text import say

LISTEN_HELP = "help.opt.bounces_listen"


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        _fail(say("bounces.bad_listen", text=text))
    return host.strip("[]"), int(port)


def bounces_cmd(
    listen: Annotated[str, typer.Option("--listen", help=say(LISTEN_HELP))] = "",
) -> None:
    rt = runtime.current()
    if not rt.settings.bounce_domain:
        _fail(say("bounces.no_domain"))
    if listen:
        _listen(*_host_port(listen))
        return
    if not rt.settings.bounce_imap_host:
        _fail(say("bounces.no_imap"))
    _read_once()


def _read_once() -> None:
    from notifications.bounces.imap import read_mailbox

    rt = runtime.current()
    try:
        report = read_mailbox(rt.sessions, rt.settings, rt.clock.now)
    except (OSError, imaplib.IMAP4.error) as exc:
        _fail(say("bounces.imap_failed", host=rt.settings.bounce_imap_host, error=exc))
        return
    counts = report.counts
    typer.echo(
        say(
            "bounces.read",
            recorded=counts.get("recorded", 0),
            duplicate=counts.get("duplicate", 0),
            ignored=counts.get("ignored", 0),
            failed=report.failed,
        )
    )
    if report.failed:
        raise typer.Exit(1)


def _listen(host: str, port: int) -> None:
    from notifications.bounces.listener import start

    rt = runtime.current()
    try:
        controller, _ = start(host, port, rt.sessions, rt.settings, rt.clock.now)
    except (OSError, RuntimeError) as exc:
        _fail(say("bounces.listen_failed", host=host, port=port, error=exc))
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    typer.echo(say("bounces.listening", host=host, port=port, domain=rt.settings.bounce_domain))
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
