"""The released schema upgrades with data in it: every revision after the first, on both databases.

For each revision R after the first, an empty database is upgraded to R's parent, every
table is filled with rows by plain inserts (columns found with ``sqlalchemy.inspect``, values
chosen from each column's type, so a later revision's columns are filled without naming
them here), then R is applied: every row must still be there with its values, and new
columns of old rows must hold their defaults. Finally the database goes to head and every
model loads its rows through the ORM. Downgrades are not promised and not tested.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.interfaces import ReflectedCheckConstraint, ReflectedColumn
from sqlalchemy.orm import Session
from sqlalchemy.sql.ddl import sort_tables

from tests.conftest import IN_CI, PG_URL, _pg_admin_engine
from workflow.db import make_engine
from workflow.migrate import alembic_config, upgrade
from workflow.models import Base

ROWS_PER_TABLE = 3
# New columns whose revision computes each old row's value (a data migration) instead of
# leaving the server default: "table.column". Every other new column must hold its default.
COMPUTED: set[str] = {"measure_cycle.measure_code", "target_agreement.milestones_synced"}
Rows = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


def _chain() -> tuple[list[tuple[str, str]], str]:
    """(revision, its parent) from the first to head, and why not if the chain is broken."""
    try:
        script = ScriptDirectory.from_config(alembic_config("sqlite://"))
        heads = script.get_heads()
        ordered = list(reversed(list(script.walk_revisions())))
    except Exception as exc:  # a missing parent, a cycle: reported by the chain test
        return [], f"{type(exc).__name__}: {exc}"
    if len(heads) != 1:
        return [], f"more than one head: {heads}"
    steps = []
    for s in ordered:
        if s.down_revision is None:
            continue
        if not isinstance(s.down_revision, str):
            return [], f"revision {s.revision} merges {s.down_revision}"
        steps.append((s.revision, s.down_revision))
    return steps, ""


STEPS, CHAIN_ERROR = _chain()
KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=KINDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (not the migrated template), SQLite or PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    admin = _pg_admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and not reachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    name = f"zf_empty_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- filling every table ---------------------------------------------------------------------

START = datetime(2025, 3, 2, 9, 30, tzinfo=UTC)
# Values a reader of the data would expect, where a column's name tells its meaning; every
# other column gets a value from its type alone.
REALISTIC: dict[str, Callable[[int], Any]] = {
    "organisation.slug": lambda i: f"stadt-{i}",
    "organisation.kind": lambda i: "city",
    "organisation.state": lambda i: "NW",
    "organisation.timezone": lambda i: "Europe/Berlin",
    "app_user.role": lambda i: ("coordinator", "admin", "steering")[i % 3],
    "app_user.password_hash": lambda i: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA" + str(i),
    "measure.status": lambda i: "active",
    "measure_cycle.state": lambda i: ("initial_interview", "target_agreement", "review")[i % 3],
    "outbox_message.status": lambda i: ("sent", "pending", "dead")[i % 3],
    "outbox_message.channel": lambda i: "email",
    "outbox_message.kind": lambda i: "agreement_invitation",
    "form_token.phase": lambda i: "target_agreement",
    "indicator.unit": lambda i: "count",
    "indicator.direction": lambda i: "up",
    "data_request.status": lambda i: "open",
    "data_request.period": lambda i: f"2025-{i + 1:02d}",
    "archived_record.kind": lambda i: "field",
    "interview.decision": lambda i: "keep",
    "target_agreement.decision": lambda i: "keep",
    "review.achievement": lambda i: "reached",
    "review.proposal": lambda i: "continue",
    "audit_event.event": lambda i: "open_cycle",
    "audit_event.from_state": lambda i: None,
    "audit_event.to_state": lambda i: "initial_interview",
    "address_bounce.state": lambda i: ("ok", "bouncing")[i % 2],
    "indicator.rhythm": lambda i: "months",
    "indicator.computation": lambda i: "typed",
    "indicator_value.check_state": lambda i: ("unchecked", "checked", "confirmed")[i % 3],
    "actor.kind": lambda i: ("provider", "press", "religious_community")[i % 3],
    "actor_consent.purpose": lambda i: ("invitations", "activity_reports")[i % 2],
    "actor_token.purpose": lambda i: ("invitation", "activity_report")[i % 2],
    "conference_question.kind": lambda i: ("scale", "text")[i % 2],
    "conference_invitation.status": lambda i: ("invited", "registered", "declined")[i % 3],
    "membership.role": lambda i: ("coordinator", "steering", "admin")[i % 3],
    "language": lambda i: "de",
}


def _type_value(table: str, column: ReflectedColumn, i: int, dialect: str) -> Any:
    name, kind = column["name"], column["type"]
    if isinstance(kind, Boolean):
        return i % 2 == 0
    if isinstance(kind, Integer):
        return i + 1
    if isinstance(kind, Float | Numeric):
        return 1.5 + i
    if isinstance(kind, DateTime):
        moment = START + timedelta(days=i, minutes=name.__len__())
        return moment.replace(tzinfo=None) if dialect == "sqlite" else moment
    if isinstance(kind, Date):
        return (START + timedelta(days=i)).date()
    if isinstance(kind, JSON):
        return [i + 1] if name.endswith("s") else {"key": f"{table}-{i}"}
    if isinstance(kind, LargeBinary):
        return f"{table}-{i}".encode()
    if isinstance(kind, String | Text):
        length = getattr(kind, "length", None) or 200
        if "email" in name:
            value = f"person{i}@{table.replace('_', '-')}.example.org"
        elif name.endswith("hash") or name.endswith("key") or name.endswith("token"):
            value = hashlib.sha256(f"{table}.{name}.{i}".encode()).hexdigest()
        else:
            value = f"{i}-{table}.{name} Größe"  # the index first keeps short values unique
        return value[:length]
    raise AssertionError(f"{table}.{name}: no test value for type {kind!r}; add one here")


# Tables that point at each other (a decision belongs to an agenda item; an item carries an
# earlier decision forward): the first table's pointer stays empty in the filled rows.
POINTS_BACK = {("decision", "agenda_item")}


def _points_back(fk: Any) -> bool:
    # sort_tables hands over a ForeignKey, although its type hint names the constraint.
    return (fk.parent.table.name, fk.column.table.name) in POINTS_BACK


@contextmanager
def filled_then_upgraded(url: str, revision: str) -> Iterator[tuple[Engine, dict[str, int]]]:
    """The database of ``url`` upgraded to ``revision``, filled (``fill``), then upgraded to
    head: its engine (disposed afterwards) and how many rows went into each table."""
    upgrade(url, revision)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            counts = fill(conn)
        upgrade(url, "head")
        yield engine, counts
    finally:
        engine.dispose()


def fill(conn: Connection) -> dict[str, int]:
    """Insert ROWS_PER_TABLE rows into every table; returns how many went into each."""
    dialect = conn.dialect.name
    meta = MetaData()
    meta.reflect(conn)
    inspector = inspect(conn)
    keys: dict[str, list[tuple[Any, ...]]] = {}
    counts: dict[str, int] = {}
    for table in sort_tables(meta.tables.values(), skip_fn=_points_back):
        if table.name == "alembic_version":
            continue
        columns = inspector.get_columns(table.name)
        fks = {
            fk["constrained_columns"][0]: fk["referred_table"]
            for fk in inspector.get_foreign_keys(table.name)
            if len(fk["constrained_columns"]) == 1
        }
        pk = inspector.get_pk_constraint(table.name)["constrained_columns"]
        allowed = _allowed_values(inspector.get_check_constraints(table.name), columns)
        auto = len(pk) == 1 and isinstance(table.c[pk[0]].type, Integer) and pk[0] not in fks
        keys[table.name] = []
        for i in range(ROWS_PER_TABLE):
            row: dict[str, Any] = {}
            for column in columns:
                name = column["name"]
                if auto and name == pk[0]:
                    continue
                if name in fks:
                    row[name] = _reference(fks[name], table.name, name, i, keys, column)
                    continue
                rule = REALISTIC.get(f"{table.name}.{name}")
                if rule is None and name in allowed:
                    row[name] = allowed[name][i % len(allowed[name])]
                    continue
                rule = rule or REALISTIC.get(name)
                row[name] = rule(i) if rule else _type_value(table.name, column, i, dialect)
            result = conn.execute(table.insert().values(**row))
            key = tuple(result.inserted_primary_key or ()) if auto else tuple(row[c] for c in pk)
            keys[table.name].append(key)
    # Counted, not assumed: triggers (the pipeline's counts) add rows of their own.
    for name in keys:
        counts[name] = int(
            conn.execute(select(func.count()).select_from(meta.tables[name])).scalar_one()
        )
    return counts


def _allowed_values(
    checks: list[ReflectedCheckConstraint], columns: list[ReflectedColumn]
) -> dict[str, list[str]]:
    """Values a CHECK on one column allows (``status IN ('a', 'b')``, or PostgreSQL's
    ``= ANY (ARRAY['a', 'b'])``); checks on several columns need a REALISTIC entry."""
    out: dict[str, list[str]] = {}
    for check in checks:
        sql = check["sqltext"]
        named = [c["name"] for c in columns if re.search(rf"\b{c['name']}\b", sql)]
        literals = re.findall(r"'([^']*)'", sql)
        if len(named) == 1 and literals:
            out[named[0]] = literals
    return out


def _reference(
    target: str,
    table: str,
    column: str,
    i: int,
    keys: dict[str, list[tuple[Any, ...]]],
    spec: ReflectedColumn,
) -> Any:
    """Row i points at row i of the parent; a second pointer to the same parent (a delegate,
    a parent organisation) at another row, so the rows look like real ones."""
    parents = keys.get(target, [])
    if target == table:  # points at its own table: the first row has no parent
        if not parents:
            return None if spec["nullable"] else i + 1
        return parents[-1][0]
    if not parents and (table, target) in POINTS_BACK and spec["nullable"]:
        return None  # the pointer that closes a cycle: filled before its target exists
    if not parents:
        raise AssertionError(f"{table}.{column} points at {target}, which is not filled yet")
    index = i if not column.startswith(("delegated_", "parent_")) else (i + 1) % len(parents)
    return parents[index % len(parents)][0]


# --- reading it back -------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return value


def read_all(conn: Connection) -> Rows:
    meta = MetaData()
    meta.reflect(conn)
    out: Rows = {}
    for table in sort_tables(meta.tables.values(), skip_fn=_points_back):
        if table.name == "alembic_version":
            continue
        pk = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
        out[table.name] = {
            tuple(row[c] for c in pk): {k: _plain(v) for k, v in row.items()}
            for row in conn.execute(select(table)).mappings()
        }
    return out


def _defaults(conn: Connection) -> dict[str, dict[str, Any]]:
    inspector = inspect(conn)
    return {
        t: {c["name"]: c for c in inspector.get_columns(t)}
        for t in inspector.get_table_names()
        if t != "alembic_version"
    }


def matches_default(value: Any, default: str | None) -> bool:
    """Whether a value is what the column's server default (as the database prints it) gives."""
    if default is None:
        return False
    shown = default.split("::")[0].strip().strip("()").strip("'").lower()
    if isinstance(value, bool):
        return shown in (("true", "1") if value else ("false", "0"))
    if isinstance(value, datetime | date):
        return "now" in shown or "current" in shown or shown.startswith(str(value)[:10])
    return shown == str(value).lower() or shown == repr(value).lower()


def compare(before: Rows, after: Rows, new_columns: dict[str, dict[str, Any]]) -> list[str]:
    """What an upgrade lost or changed of the rows that were there before it."""
    problems: list[str] = []
    for table, rows in before.items():
        if table not in after:
            continue  # a revision may drop a table on purpose; its rows go with it
        if set(after[table]) != set(rows):
            problems.append(f"{table}: rows {sorted(rows)} became {sorted(after[table])}")
            continue
        for key, old in rows.items():
            new = after[table][key]
            for column, value in old.items():
                if column in new and new[column] != value:
                    problems.append(f"{table}{key}.{column}: {value!r} became {new[column]!r}")
            for column, spec in new_columns.get(table, {}).items():
                got = new[column]
                if got is None and not spec["nullable"]:
                    problems.append(f"{table}{key}.{column}: NULL in a NOT NULL column")
                elif (
                    f"{table}.{column}" not in COMPUTED
                    and spec["default"] is not None
                    and not matches_default(got, spec["default"])
                ):
                    problems.append(
                        f"{table}{key}.{column}: {got!r} is not its default {spec['default']}"
                    )
    return problems


def orm_smoke(engine: Engine) -> dict[str, int]:
    """Every model loads every row at head, through the ORM with its own types."""
    loaded = {}
    with Session(engine) as session:
        for mapper in Base.registry.mappers:
            rows = session.scalars(select(mapper.class_)).unique().all()
            for row in rows:  # touch every column: JSON, dates and enums convert on load
                for attr in mapper.column_attrs:
                    getattr(row, attr.key)
            loaded[mapper.class_.__name__] = len(rows)
    return loaded


def _upgrade_with_rows(url: str, start: str, target: str) -> tuple[Rows, list[str], dict[str, int]]:
    upgrade(url, start)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            counts = fill(conn)
        with engine.connect() as conn:
            before = read_all(conn)
            columns_before = _defaults(conn)
        engine.dispose()
        upgrade(url, target)
        with engine.connect() as conn:
            after = read_all(conn)
            columns_after = _defaults(conn)
    finally:
        engine.dispose()
    new_columns = {
        t: {c: spec for c, spec in cols.items() if c not in columns_before[t]}
        for t, cols in columns_after.items()
        if t in columns_before
    }
    return before, compare(before, after, new_columns), counts


# --- the tests -------------------------------------------------------------------------------


def test_the_revisions_form_one_line() -> None:
    assert CHAIN_ERROR == "", CHAIN_ERROR
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert script.get_base() == "0001"
    assert [r for r, _ in STEPS] == sorted(r for r, _ in STEPS)  # numbered in order


@pytest.mark.parametrize(("revision", "parent"), STEPS, ids=[r for r, _ in STEPS])
def test_each_revision_upgrades_a_database_full_of_rows(
    empty_url: str, revision: str, parent: str
) -> None:
    before, problems, counts = _upgrade_with_rows(empty_url, parent, revision)
    assert sum(counts.values()) >= ROWS_PER_TABLE * 20  # every table of the release, filled
    assert all(len(before[table]) == n >= ROWS_PER_TABLE for table, n in counts.items())
    assert problems == [], "\n".join(problems)
    upgrade(empty_url, "head")
    engine = make_engine(empty_url)
    try:
        loaded = orm_smoke(engine)
    finally:
        engine.dispose()
    assert loaded["Measure"] == ROWS_PER_TABLE and loaded["OutboxMessage"] == ROWS_PER_TABLE


def test_rows_of_the_first_release_reach_head(empty_url: str) -> None:
    """Also when only the first revision exists: the filler and the ORM check stay honest."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    base = script.get_base()
    assert base is not None
    before, problems, counts = _upgrade_with_rows(empty_url, base, "head")
    assert {"organisation", "measure_cycle", "outbox_message", "app_user"} <= set(counts)
    assert problems == [], "\n".join(problems)
    engine = make_engine(empty_url)
    try:
        loaded = orm_smoke(engine)
    finally:
        engine.dispose()
    tables = {
        m.class_.__name__: str(getattr(m.local_table, "name", "")) for m in Base.registry.mappers
    }
    for model, n in loaded.items():
        table = tables[model]
        if table in before:
            assert n == len(before[table]), model
