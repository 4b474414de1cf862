"""Test servers and databases: real SQLite files and a real PostgreSQL, a fresh database per test.

Migrations run once per session into a template; each test gets a copy (a file copy on
SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL), so tests never share state and may
use several connections at once.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from workflow import cli_errors, cli_help, cli_lang, runtime
from workflow.clock import FrozenClock
from workflow.config import Settings
from workflow.migrate import upgrade

BERLIN = ZoneInfo("Europe/Berlin")
pytest_plugins = ["tests.live", "tests.simulated_year"]

PG_URL = os.environ.get(
    "ZIELFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://zielflow:zielflow@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI") == "true"
OUTPUT = Path(os.environ.get("ZIELFLOW_TEST_OUTPUT", "test-output"))


def _pg_admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database on the real PostgreSQL server."""
    admin = _pg_admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and not reachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    name = f"zf_template_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


def _fresh_database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / f"zielflow-{uuid.uuid4().hex[:8]}.sqlite3"
        shutil.copy(template, target)
        yield f"sqlite:///{target}"
        return
    template_name: str = request.getfixturevalue("pg_template")
    name = f"zf_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def another_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """A factory of further fresh databases of a kind, for tests that compare two."""
    from contextlib import ExitStack, contextmanager

    with ExitStack() as stack:

        def make(kind: str) -> str:
            return stack.enter_context(contextmanager(_fresh_database)(kind, request, tmp_path))

        yield make


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database, once on SQLite and once on PostgreSQL."""
    yield from _fresh_database(request.param, request, tmp_path)


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated SQLite database, for tests whose subject is not the database."""
    yield from _fresh_database("sqlite", request, tmp_path)


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _fresh_database("postgresql", request, tmp_path)


@pytest.fixture(autouse=True)
def _cli_state_of_a_new_process() -> Iterator[None]:
    """A command run here with ``--lang en`` or ``--debug`` keeps that for the rest of the
    process, as a real ``zielflow`` call does; the next test starts as a new process would,
    whichever tests ran before it in this process."""
    yield
    cli_errors.set_debug(False)
    if cli_lang.current() != cli_lang.DEFAULT:
        cli_lang.set_language(cli_lang.DEFAULT)
        cli_help.localise_help()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN))


def make_runtime(
    url: str, clock: FrozenClock, tmp_path: Path, **overrides: object
) -> runtime.Runtime:
    settings = Settings(database_url=url, var_dir=tmp_path / "var", environment="test", **overrides)  # type: ignore[arg-type]
    rt = runtime.build(settings, clock)
    runtime.install(rt)
    return rt


@pytest.fixture
def rt(database_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[runtime.Runtime]:
    yield make_runtime(database_url, clock, tmp_path)
    runtime.install(None)


@pytest.fixture
def rt_sqlite(sqlite_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[runtime.Runtime]:
    yield make_runtime(sqlite_url, clock, tmp_path)
    runtime.install(None)


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
