"""``zielflow demo``: sets up example data and runs API, worker with beat and a mail sink together."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

from workflow import cli_lang, runtime
from workflow.accounts import Role, add_or_update_user
from workflow.catalogue.service import import_catalogue
from workflow.cli_text import say
from workflow.cycles.calendar import calendar_of
from workflow.cycles.service import open_cycle
from workflow.db import unit_of_work
from workflow.demo_conference import add_conference
from workflow.demo_data import ensure_people
from workflow.demo_meetings import ensure_meetings
from workflow.demo_status_checks import ensure_status_checks
from workflow.indicators.importer import import_indicators
from workflow.migrate import upgrade
from workflow.orgs import DEFAULT_SLUG, resolve_organisation

EXAMPLE_CATALOGUE = Path(__file__).resolve().parents[1] / "examples" / "catalogue.csv"
EXAMPLE_INDICATORS = Path(__file__).resolve().parents[1] / "examples" / "indicators.csv"
DEMO_LOGIN = "koordination@musterstadt.example.org"


def prepare(catalogue: Path | None, today: datetime) -> tuple[str, str]:
    """Database, example catalogue, bodies with their meetings and decisions, this year's cycle
    with status checks and milestones, and a coordinator; returns the login. Running it again
    adds only what is missing."""
    rt = runtime.current()
    upgrade(rt.settings.database_url)
    password = secrets.token_urlsafe(12)
    source = catalogue or EXAMPLE_CATALOGUE
    with unit_of_work(rt.sessions) as session:
        org = resolve_organisation(
            session,
            rt.settings.organisation or DEFAULT_SLUG,
            create=True,
            state=rt.settings.state,
            timezone=rt.settings.timezone,
        )
        if org.name == org.slug:
            org.name = "Stadt Musterstadt (Demo)"
        if source.is_file():
            import_catalogue(session=session, organisation_id=org.id, path=source)
        ensure_people(session, org)
        if source.resolve() == EXAMPLE_CATALOGUE.resolve():
            # The example indicators name the example catalogue's goals and measures.
            now = rt.clock.now()
            import_indicators(
                session=session,
                organisation_id=org.id,
                path=EXAMPLE_INDICATORS,
                now=now,
                today=calendar_of(org).local_date(now),
            )
            # A past Integrationskonferenz with its actors, invitations and survey answers.
            add_conference(session, org, calendar_of(org).local_date(now))
        # One status check answered (a measure delayed, a milestone moved), one still open;
        # first, so that the meetings' agendas see its measures in Umsetzung.
        ensure_status_checks(session=session, org=org, now=rt.clock.now())
        # A past meeting of the Steuerungsgruppe (it opens the cycle on the day it was opened)
        # and an upcoming one with its proposed agenda.
        ensure_meetings(session=session, org=org, now=rt.clock.now())
        open_cycle(
            session=session, clock=rt.clock, organisation_id=org.id, year=today.year, actor="demo"
        )
        add_or_update_user(
            session=session,
            organisation_id=org.id,
            email=DEMO_LOGIN,
            role=Role.COORDINATOR,
            password=password,
            now=rt.clock.now(),
            name="Demo-Koordination",
        )
    return DEMO_LOGIN, password


def run_demo(
    *, port: int, smtp_port: int, catalogue: Path | None, today: datetime, district: bool = False
) -> None:
    from notifications.sink import start_sink

    rt = runtime.current()
    settings = rt.settings
    if district:
        from workflow.demo_district import account_lines, prepare_district

        logins = account_lines(prepare_district(catalogue, today))
    else:
        login, password = prepare(catalogue, today)
        logins = [say("demo.login", login=login, password=password)]
    smtp_port = smtp_port or settings.smtp_port
    assert settings.mail_sink_dir is not None
    controller, _ = start_sink("127.0.0.1", smtp_port, settings.mail_sink_dir)
    env = {
        **os.environ,
        "ZIELFLOW_SMTP_HOST": "127.0.0.1",
        "ZIELFLOW_SMTP_PORT": str(smtp_port),
        "ZIELFLOW_BASE_URL": f"http://127.0.0.1:{port}",
        "ZIELFLOW_LANG": cli_lang.current(),  # the children speak as the demo was asked to
    }
    cli = [sys.executable, "-m", "workflow.cli"]
    children = [
        subprocess.Popen([*cli, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env),
        subprocess.Popen([*cli, "worker", "--beat", "--concurrency=1"], env=env),
    ]
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    print(_banner(port=port, smtp_port=smtp_port, logins=logins), flush=True)
    failed = False
    while not stop.wait(0.5):
        if any(child.poll() is not None for child in children):
            failed = True
            break
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    controller.stop()
    print(say("demo.stopped"), flush=True)
    if failed:
        sys.exit(1)


def _banner(*, port: int, smtp_port: int, logins: list[str]) -> str:
    sink = runtime.current().settings.mail_sink_dir
    lines = [
        "",
        say("demo.running"),
        say("demo.address", url=f"http://127.0.0.1:{port}/"),
        *logins,
        say("demo.mail", port=smtp_port, path=sink),
        say("demo.stop_hint"),
        "",
    ]
    return "\n".join(lines)
