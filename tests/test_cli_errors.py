"""Every command of the CLI, driven into each user error: one German line, exit status 1.

The commands come from the typer app itself, as tests/test_api_access.py takes the routes
from ``app.routes``: a new command fails ``test_every_command_is_classified`` until it says
here which of the conditions it can meet. Each condition runs every command that meets it as
a real subprocess with ``ZIELFLOW_*`` variables and asserts status 1, exactly one line on
standard error naming the problem, and no traceback anywhere.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.main import get_command

from tests.conftest import EXAMPLES, IN_CI, PG_URL
from workflow import cli_errors
from workflow.catalogue.service import ensure_organisation, import_catalogue
from workflow.cli import app
from workflow.clock import SystemClock
from workflow.cycles.service import open_cycle
from workflow.db import make_engine, make_session_factory, unit_of_work

YEAR = str(date.today().year)
NO_ORGANISATION = "no_organisation"
UNKNOWN_ORGANISATION = "unknown_organisation"
AMBIGUOUS_ORGANISATION = "ambiguous_organisation"
NOT_MIGRATED = "not_migrated"
UNREACHABLE = "unreachable"
NO_OUTPUT_FOLDER = "no_output_folder"
BAD_SETTING = "bad_setting"
ORGANISATION = frozenset({NO_ORGANISATION, UNKNOWN_ORGANISATION, AMBIGUOUS_ORGANISATION})
DATABASE = frozenset({NOT_MIGRATED, UNREACHABLE})
# What the one line must say, per condition.
SAYS = {
    NO_ORGANISATION: "noch keine Organisation",
    UNKNOWN_ORGANISATION: "'gibt-es-nicht' gibt es nicht",
    AMBIGUOUS_ORGANISATION: "mehrere Organisationen",
    NOT_MIGRATED: "'zielflow db upgrade'",
    UNREACHABLE: "nicht erreichbar",
    NO_OUTPUT_FOLDER: "Den Ordner",
    BAD_SETTING: "ZIELFLOW_SMTP_PORT='abc'",
}


@dataclass(frozen=True)
class Call:
    """How to call a command, and which conditions it meets (each one must end in status 1)."""

    args: tuple[str, ...]
    meets: frozenset[str]
    stdin: str | None = None


ALL = ORGANISATION | DATABASE | {BAD_SETTING}
# {out} is a folder that exists except under NO_OUTPUT_FOLDER; {port} a free port.
COMMANDS: dict[str, Call] = {
    "db upgrade": Call((), frozenset({UNREACHABLE, BAD_SETTING})),
    "db check": Call((), DATABASE | {BAD_SETTING}),
    # Never connects: it copies the SQLite file, and names a missing one.
    "db backup": Call(("{out}/sicherung.sqlite3",), frozenset({NO_OUTPUT_FOLDER, BAD_SETTING})),
    "person export": Call(("niemand@stadt.example.org", "--output", "{out}/person.json"), ALL),
    "person erase": Call(("niemand@stadt.example.org",), ALL),
    # Without a bounce domain it stops before it reads any mailbox or database.
    "bounces": Call((), frozenset({BAD_SETTING})),
    # Creates the organisation it is given (or the default one), so only "ambiguous" applies.
    "import-catalogue": Call(
        (str(EXAMPLES / "catalogue.csv"),), DATABASE | {AMBIGUOUS_ORGANISATION, BAD_SETTING}
    ),
    "import-indicators": Call((str(EXAMPLES / "indicators.csv"),), ALL),
    "export-catalogue": Call(("{out}/katalog.csv",), ALL | {NO_OUTPUT_FOLDER}),
    "open-cycle": Call((YEAR,), ALL),
    "user add": Call(
        ("neu@stadt.example.org", "--role", "coordinator", "--password-stdin"),
        ALL,
        stdin="ein langes Passwort 123\n",
    ),
    "sweep": Call((), DATABASE | {BAD_SETTING}),
    # Fills a database of its own, so the configured one does not matter.
    "simulate": Call(("--start", f"{YEAR}-01-05", "--days", "1"), frozenset({BAD_SETTING})),
    "report": Call(
        ("status-quo", "--cycle", YEAR, "--output", "{out}/bericht.html"), ALL | {NO_OUTPUT_FOLDER}
    ),
    "export-answers": Call(("{out}/antworten.csv", "--cycle", YEAR), ALL | {NO_OUTPUT_FOLDER}),
    "diagram": Call((), frozenset()),  # reads no setting, no database, no file
    "org show": Call((), ALL),
    "body add": Call(("Steuerungsgruppe", "--kind", "steering_group"), ALL),
    "body list": Call((), ALL),
    "member add": Call(("1", "neu@stadt.example.org", "--name", "Neu"), ALL),
    "member end": Call(("1", "neu@stadt.example.org"), ALL),
    "member list": Call(("1",), ALL),
    "member edit": Call(("1", "neu@stadt.example.org", "--name", "Neu"), ALL),
    "meeting add": Call(("1", "--date", f"{YEAR}-06-01"), ALL),
    "meeting list": Call(("1",), ALL),
    "meeting agenda": Call(("1", "--propose"), ALL),
    "status-check": Call(("--cycle", YEAR, "--due", f"{YEAR}-06-30"), ALL),
    # Finds the account by its address in any organisation; --org only double-checks it.
    "user deactivate": Call(("neu@stadt.example.org",), DATABASE | {BAD_SETTING}),
    # Creates the organisation it is given (or the default one), so only "ambiguous" applies.
    "org set": Call(
        ("--office-name", "Integrationsbüro"), DATABASE | {AMBIGUOUS_ORGANISATION, BAD_SETTING}
    ),
    # The Integrationskonferenz, its actors and their reports.
    "actor add": Call(("Elternverein", "--kind", "association", "--email", "e@v.example.org"), ALL),
    "actor consent": Call(
        ("1", "--purpose", "invitations", "--given-on", "31.01.2027", "--how", "schriftlich"), ALL
    ),
    "actor withdraw": Call(("1", "--purpose", "invitations"), ALL),
    "actor list": Call((), ALL),
    "actor reports request": Call(("--year", YEAR), ALL),
    "actor reports count": Call(("--year", YEAR, "--indicator", "C-K1"), ALL),
    "conference add": Call(
        ("--title", "Integrationskonferenz", "--date", "31.03.2027", "--place", "Ratssaal"), ALL
    ),
    "conference invite": Call(("1",), ALL),
    "conference survey": Call(("1", "--open"), ALL),
    "conference results": Call(("1",), ALL),
    # Any readable text will do: the organisation and the database are checked before saving.
    "monitoring assumptions": Call(("A", "--text-file", str(EXAMPLES / "catalogue.csv")), ALL),
    "monitoring statement": Call(
        ("--year", YEAR, "--text-file", str(EXAMPLES / "catalogue.csv")), ALL
    ),
    # Adds an organisation of its own, so no organisation condition applies; lists them all.
    "org add": Call(("rbk", "--name", "Kreis", "--kind", "district"), DATABASE | {BAD_SETTING}),
    "org list": Call((), DATABASE | {BAD_SETTING}),
    "org rename": Call(("rbk", "--name", "Kreis"), DATABASE | {BAD_SETTING}),
    "org move": Call(("rbk", "--no-parent"), DATABASE | {BAD_SETTING}),
    "org archive": Call(("rbk",), DATABASE | {BAD_SETTING}),
    "org unarchive": Call(("rbk",), DATABASE | {BAD_SETTING}),
    "operator grant": Call(("niemand@stadt.example.org",), DATABASE | {BAD_SETTING}),
    "operator revoke": Call(("niemand@stadt.example.org",), DATABASE | {BAD_SETTING}),
    "user join": Call(
        ("neu@stadt.example.org", "--org", "rbk", "--role", "steering"), DATABASE | {BAD_SETTING}
    ),
    "user leave": Call(("neu@stadt.example.org", "--org", "rbk"), DATABASE | {BAD_SETTING}),
    "user places": Call(("neu@stadt.example.org",), DATABASE | {BAD_SETTING}),
    # Long-running: only what they check before they serve.
    "serve": Call(("--port", "{port}"), frozenset({BAD_SETTING})),
    "worker": Call((), frozenset({BAD_SETTING})),
    "beat": Call((), frozenset({BAD_SETTING})),
    "demo": Call(
        ("--port", "{port}", "--smtp-port", "{port2}"), frozenset({UNREACHABLE, BAD_SETTING})
    ),
}


def command_names() -> set[str]:
    found: set[str] = set()

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "commands"):  # a group (typer brings its own click)
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            found.add(" ".join(path))

    walk(get_command(app), [])
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Outcome:
    name: str
    returncode: int | None
    stdout: str
    stderr: str


def _run(name: str, call: Call, condition: str, env: dict[str, str], cwd: Path) -> Outcome:
    out = cwd / ("fehlt" if condition == NO_OUTPUT_FOLDER else "ausgabe")
    args = [
        a.replace("{out}", str(out))
        .replace("{port}", str(_free_port()))
        .replace("{port2}", str(_free_port()))
        for a in call.args
    ]
    if condition == UNKNOWN_ORGANISATION:
        args += ["--org", "gibt-es-nicht"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "workflow.cli", *name.split(), *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a server that wrongly starts is stopped with its children
    )
    try:
        stdout, stderr = proc.communicate(call.stdin, timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        return Outcome(name, None, stdout, "timed out: " + stderr)
    return Outcome(name, proc.returncode, stdout, stderr)


def _problems(condition: str, outcomes: list[Outcome]) -> list[str]:
    problems = []
    for o in outcomes:
        lines = o.stderr.strip().splitlines()
        if (
            o.returncode != 1
            or len(lines) != 1
            or "Traceback" in o.stderr + o.stdout
            or SAYS[condition].lower() not in o.stderr.lower()
        ):
            problems.append(f"{o.name}: status {o.returncode}, stderr {o.stderr[-600:]!r}")
    return problems


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIELFLOW_")}
    env.update(
        ZIELFLOW_VAR_DIR=str(tmp_path / "var"),
        ZIELFLOW_MAIL_SINK_DIR=str(tmp_path / "mail"),
        **settings,
    )
    return env


def run_condition(condition: str, tmp_path: Path, **settings: str) -> None:
    """Run every command that meets ``condition`` under ``settings``; all must fail cleanly."""
    (tmp_path / "ausgabe").mkdir(exist_ok=True)
    env = _env(tmp_path, **settings)
    chosen = [(n, c) for n, c in COMMANDS.items() if condition in c.meets]
    assert chosen, condition
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda nc: _run(nc[0], nc[1], condition, env, tmp_path), chosen))
    assert _problems(condition, outcomes) == []


def _sqlite_copy(template: Path, tmp_path: Path) -> str:
    target = tmp_path / f"zielflow-{uuid.uuid4().hex[:8]}.sqlite3"
    shutil.copy(template, target)
    return f"sqlite:///{target}"


def _with_organisations(url: str, *slugs: str) -> str:
    """Each organisation with the example catalogue and this year's cycle."""
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as s:
        for slug in slugs:
            org = ensure_organisation(s, slug=slug, name=slug)
            import_catalogue(session=s, organisation_id=org.id, path=EXAMPLES / "catalogue.csv")
            open_cycle(session=s, clock=SystemClock(), organisation_id=org.id, year=int(YEAR))
    engine.dispose()
    return url


def _pg_reachable() -> bool:
    engine = create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A PostgreSQL database that exists and has no table: never migrated."""
    if not _pg_reachable():
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and not reachable at {PG_URL}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"zf_empty_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_every_command_is_classified() -> None:
    assert command_names() == set(COMMANDS), "say in COMMANDS which conditions a command meets"
    for name, call in COMMANDS.items():
        if UNKNOWN_ORGANISATION in call.meets:
            params = get_command(app)
            for word in name.split():
                params = params.commands[word]  # type: ignore[attr-defined]
            assert "org" in {p.name for p in params.params}, f"{name} has no --org"


def test_no_organisation_yet(sqlite_template: Path, tmp_path: Path) -> None:
    url = _sqlite_copy(sqlite_template, tmp_path)
    run_condition(NO_ORGANISATION, tmp_path, ZIELFLOW_DATABASE_URL=url)


def test_unknown_organisation(sqlite_template: Path, tmp_path: Path) -> None:
    url = _with_organisations(_sqlite_copy(sqlite_template, tmp_path), "musterstadt")
    run_condition(UNKNOWN_ORGANISATION, tmp_path, ZIELFLOW_DATABASE_URL=url)


def test_ambiguous_organisation(sqlite_template: Path, tmp_path: Path) -> None:
    url = _sqlite_copy(sqlite_template, tmp_path)
    url = _with_organisations(url, "musterstadt", "beispielkreis")
    run_condition(AMBIGUOUS_ORGANISATION, tmp_path, ZIELFLOW_DATABASE_URL=url)


def test_database_not_migrated_sqlite(tmp_path: Path) -> None:
    # The default database: a file under ZIELFLOW_VAR_DIR that no upgrade has created.
    run_condition(NOT_MIGRATED, tmp_path)


@pytest.mark.postgres
def test_database_not_migrated_postgres(empty_postgres: str, tmp_path: Path) -> None:
    run_condition(NOT_MIGRATED, tmp_path, ZIELFLOW_DATABASE_URL=empty_postgres)


def test_database_unreachable(tmp_path: Path) -> None:
    closed = f"postgresql+psycopg://zielflow:zielflow@127.0.0.1:{_free_port()}/zielflow"
    run_condition(UNREACHABLE, tmp_path, ZIELFLOW_DATABASE_URL=closed)


def test_missing_output_folder(sqlite_template: Path, tmp_path: Path) -> None:
    url = _with_organisations(_sqlite_copy(sqlite_template, tmp_path), "musterstadt")
    run_condition(NO_OUTPUT_FOLDER, tmp_path, ZIELFLOW_DATABASE_URL=url)


def test_invalid_setting(tmp_path: Path) -> None:
    run_condition(BAD_SETTING, tmp_path, ZIELFLOW_SMTP_PORT="abc")


def _zielflow(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workflow.cli", *args],
        env=_env(tmp_path, **settings),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_debug_shows_the_traceback_and_still_the_sentence(
    sqlite_template: Path, tmp_path: Path
) -> None:
    url = _sqlite_copy(sqlite_template, tmp_path)
    plain = _zielflow(tmp_path, "open-cycle", YEAR, ZIELFLOW_DATABASE_URL=url)
    debug = _zielflow(tmp_path, "--debug", "open-cycle", YEAR, ZIELFLOW_DATABASE_URL=url)
    assert plain.returncode == debug.returncode == 1
    assert "Traceback" not in plain.stderr and "Traceback" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == plain.stderr.strip()


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"ZIELFLOW_STATE": "XX"}, "ZIELFLOW_STATE='XX': erlaubt sind BB, BE, BW,"),
        ({"ZIELFLOW_SMTP_TLS": "ja"}, "ZIELFLOW_SMTP_TLS='ja': erlaubt sind none, starttls, tls"),
        # What was typed is echoed, but never as a second line.
        ({"ZIELFLOW_STATE": "N\nW"}, "ZIELFLOW_STATE='N?W': erlaubt sind"),
        (
            {"ZIELFLOW_SEND_BATCH_SIZE": "0"},
            "ZIELFLOW_SEND_BATCH_SIZE='0': erlaubt ist mindestens 1",
        ),
        (
            {"ZIELFLOW_SEND_LEASE_SECONDS": "60"},
            "ZIELFLOW_SEND_LEASE_SECONDS (60) muss länger sein als 8 × "
            "ZIELFLOW_SMTP_TIMEOUT_SECONDS (30.0)",
        ),
        ({"ZIELFLOW_ENVIRONMENT": "production"}, "ZIELFLOW_SECRET_KEY muss in der Produktion"),
        ({"ZIELFLOW_SMTP_PORT": "geheim"}, "ZIELFLOW_SMTP_PORT='geheim': erwartet wird eine ganze"),
        ({"ZIELFLOW_DATABASE_URL": "kein-url"}, "ZIELFLOW_DATABASE_URL ist keine Datenbankadresse"),
    ],
)
def test_each_invalid_setting_is_one_german_line(
    tmp_path: Path, settings: dict[str, str], says: str
) -> None:
    result = _zielflow(tmp_path, "sweep", **settings)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert says in result.stderr and "Traceback" not in result.stderr


def test_an_error_no_table_knows_is_one_line_with_status_70(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken() -> None:
        raise RuntimeError("kaputt\nin zwei Zeilen")

    with pytest.raises(SystemExit) as ended:
        cli_errors.run(broken)
    assert ended.value.code == cli_errors.INTERNAL_ERROR == 70
    assert capsys.readouterr().err.splitlines() == [
        "Unerwarteter Fehler (RuntimeError: kaputt in zwei Zeilen). "
        "Mit 'zielflow --debug …' erneut aufrufen, um die Einzelheiten zu sehen."
    ]
