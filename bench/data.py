"""Fast generation of valid benchmark data: organisations, catalogue, contacts, cycles, measures-in-cycle.

Writes with bulk ``INSERT … SELECT`` over ``generate_series`` (PostgreSQL) or a recursive
CTE (SQLite) into a freshly migrated scratch database only; ids are explicit and computed,
so every foreign key points at a row of the same organisation. Never used on real data.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Column, Date, Integer, MetaData, String, Table, bindparam, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from workflow.cycles import pipeline_store
from workflow.db import UTCDateTime
from workflow.deadlines import DeadlinePolicy

_scratch_meta = MetaData()
# One row per schedule variant; measure-in-cycle ``i`` takes variant ``i % variants``.
SCHEDULE = Table(
    "bench_schedule",
    _scratch_meta,
    Column("k", Integer, primary_key=True, autoincrement=False),
    Column("state", String(32), nullable=False),
    Column("entered_state_at", UTCDateTime(), nullable=False),
    Column("due_on", Date, nullable=True),
    Column("next_action_at", UTCDateTime(), nullable=True),
    Column("action_step", Integer, nullable=False),
    Column("stay", Integer, nullable=False),
    Column("escalation_level", Integer, nullable=False),
    Column("interviewed_at", UTCDateTime(), nullable=True),
)


@dataclass(frozen=True)
class Slot:
    """Where a measure-in-cycle stands: its state and its timing."""

    state: str
    entered_state_at: datetime
    due_on: date | None
    next_action_at: datetime | None
    action_step: int = 0
    stay: int = 1
    interviewed_at: datetime | None = None
    escalation_level: int = 0


@dataclass(frozen=True)
class Shape:
    """How big the data is: ``organisations`` × ``measures_per_org`` measures, one cycle each."""

    organisations: int
    measures_per_org: int
    departments_per_org: int = 30
    contacts_per_org: int = 300  # department contacts, spread evenly; heads come on top
    fields_per_org: int = 5
    goals_per_field: int = 4
    year: int = 2026

    def __post_init__(self) -> None:
        if self.contacts_per_org % self.departments_per_org:
            # Measure j's contact (j mod C) then sits in measure j's department (j mod D).
            raise ValueError("contacts_per_org must be a multiple of departments_per_org")

    @property
    def measures(self) -> int:
        return self.organisations * self.measures_per_org


def _numbers(dialect: str, n: int) -> str:
    if dialect == "postgresql":
        return f"WITH s(i) AS (SELECT generate_series(1, {int(n)}))"
    return f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {int(n)})"


def _json(dialect: str, literal_or_param: str) -> str:
    # PostgreSQL types a bare text value as text, which a json column refuses.
    return f"CAST({literal_or_param} AS JSON)" if dialect == "postgresql" else literal_or_param


def _bool(dialect: str, value: bool) -> str:
    if dialect == "postgresql":
        return "TRUE" if value else "FALSE"
    return "1" if value else "0"


def populate(
    engine: Engine, shape: Shape, slots: Sequence[Slot], *, opened_at: datetime
) -> dict[str, int]:
    """Fill an empty, migrated database; returns the row counts written."""
    dialect = engine.dialect.name
    o, d, c = shape.organisations, shape.departments_per_org, shape.contacts_per_org
    f, g, m = shape.fields_per_org, shape.goals_per_field, shape.measures_per_org
    k = len(slots)
    yes, no = _bool(dialect, True), _bool(dialect, False)
    policy = json.dumps(DeadlinePolicy().model_dump(mode="json"))
    with engine.begin() as conn:
        SCHEDULE.drop(conn, checkfirst=True)
        SCHEDULE.create(conn)
        conn.execute(
            SCHEDULE.insert(),
            [{"k": i, **slot.__dict__} for i, slot in enumerate(slots)],
        )
        run = conn.execute
        run(
            text(
                f"""{_numbers(dialect, o)}
                INSERT INTO organisation (id, slug, name, kind, state, timezone, contact_email)
                SELECT i, 'bench-' || i, 'Benchkommune ' || i, 'city', 'NW', 'Europe/Berlin',
                       'integration@k' || i || '.example.org' FROM s"""
            )
        )
        run(
            text(
                f"""{_numbers(dialect, o * d)}
                INSERT INTO department (id, organisation_id, name)
                SELECT i, (i - 1) / {d} + 1, 'Fachbereich ' || ((i - 1) % {d} + 1) FROM s"""
            )
        )
        # Department contacts first (local number 1..C), then one head per department.
        run(
            text(
                f"""{_numbers(dialect, o * (c + d))}
                INSERT INTO contact (id, organisation_id, department_id, name, email, language,
                                     is_head)
                SELECT i, (i - 1) / {c + d} + 1,
                       ((i - 1) / {c + d}) * {d} + CASE WHEN (i - 1) % {c + d} < {c}
                            THEN (i - 1) % {c + d} % {d} + 1
                            ELSE (i - 1) % {c + d} - {c} + 1 END,
                       CASE WHEN (i - 1) % {c + d} < {c}
                            THEN 'Kontakt ' || ((i - 1) % {c + d} + 1)
                            ELSE 'Amtsleitung ' || ((i - 1) % {c + d} - {c} + 1) END,
                       CASE WHEN (i - 1) % {c + d} < {c}
                            THEN 'kontakt' || ((i - 1) % {c + d} + 1)
                            ELSE 'leitung' || ((i - 1) % {c + d} - {c} + 1) END
                         || '@k' || ((i - 1) / {c + d} + 1) || '.example.org',
                       'de',
                       CASE WHEN (i - 1) % {c + d} < {c} THEN {no} ELSE {yes} END
                FROM s"""
            )
        )
        run(
            text(
                f"""{_numbers(dialect, o * f)}
                INSERT INTO field (id, organisation_id, code, name)
                SELECT i, (i - 1) / {f} + 1, 'F' || ((i - 1) % {f} + 1),
                       'Handlungsfeld ' || ((i - 1) % {f} + 1) FROM s"""
            )
        )
        run(
            text(
                f"""{_numbers(dialect, o * f * g)}
                INSERT INTO goal (id, organisation_id, field_id, code, name, rank)
                SELECT i, (i - 1) / {f * g} + 1, (i - 1) / {g} + 1,
                       'Z' || ((i - 1) % {f * g} + 1), 'Ziel ' || ((i - 1) % {f * g} + 1),
                       (i - 1) % 4 + 1 FROM s"""
            )
        )
        run(
            text(
                f"""{_numbers(dialect, o * m)}
                INSERT INTO measure (id, organisation_id, goal_id, department_id, contact_id, code,
                                     title, description, status, interviewed_at)
                SELECT i, (i - 1) / {m} + 1,
                       ((i - 1) / {m}) * {f * g} + (i - 1) % {m} % {f * g} + 1,
                       ((i - 1) / {m}) * {d} + (i - 1) % {m} % {d} + 1,
                       ((i - 1) / {m}) * {c + d} + (i - 1) % {m} % {c} + 1,
                       'M' || ((i - 1) % {m} + 1), 'Maßnahme ' || ((i - 1) % {m} + 1),
                       'Beschreibung der Maßnahme ' || ((i - 1) % {m} + 1), 'active',
                       b.interviewed_at
                FROM s JOIN bench_schedule b ON b.k = s.i % {k}"""
            )
        )
        run(
            text(
                f"""{_numbers(dialect, o)}
                INSERT INTO cycle (id, organisation_id, year, starts_on, ends_on, opened_at, policy)
                SELECT i, i, {int(shape.year)}, :starts, :ends, :opened, {_json(dialect, ":policy")}
                FROM s"""
            ).bindparams(
                bindparam("starts", date(shape.year, 1, 1), type_=Date()),
                bindparam("ends", date(shape.year, 12, 31), type_=Date()),
                bindparam("opened", opened_at, type_=UTCDateTime()),
                bindparam("policy", policy, type_=String()),
            )
        )
        run(
            text(
                f"""{_numbers(dialect, o * m)}
                INSERT INTO measure_cycle (id, organisation_id, cycle_id, measure_id, state,
                    entered_state_at, due_on, next_action_at, action_step, escalation_level,
                    stay, version, draft)
                SELECT i, (i - 1) / {m} + 1, (i - 1) / {m} + 1, i, b.state, b.entered_state_at,
                       b.due_on, b.next_action_at, b.action_step, b.escalation_level, b.stay, 1,
                       {_json(dialect, "'{}'")}
                FROM s JOIN bench_schedule b ON b.k = s.i % {k}"""
            )
        )
        if dialect == "postgresql":
            for table in ("organisation", "department", "contact", "field", "goal", "measure"):
                _sync_sequence(conn, table)
            for table in ("cycle", "measure_cycle"):
                _sync_sequence(conn, table)
    # The triggers logged one change row per stay; fold them as the first sweep would.
    with Session(bind=engine) as session, session.begin():
        pipeline_store.fold(session)
    analyze(engine)
    return {
        "organisations": o,
        "departments": o * d,
        "contacts": o * (c + d),
        "goals": o * f * g,
        "measures": o * m,
        "measure_cycles": o * m,
    }


def _sync_sequence(conn: Connection, table: str) -> None:
    conn.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
        )
    )


def analyze(engine: Engine) -> None:
    """Fresh statistics (and, on PostgreSQL, a vacuumed visibility map) as after a quiet night."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def vacuum_tables(engine: Engine, *tables: str) -> None:
    """Between repetitions: clear the dead rows a run left, so every run starts alike."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM ANALYZE {', '.join(tables)}"))
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def write_catalogue(
    path: Path, *, measures: int, departments: int = 30, contacts: int = 300
) -> None:
    """A catalogue CSV in the import format with ``measures`` rows (fictional data)."""
    fields = ("A", "B", "C", "D", "E")
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                "handlungsfeld_code",
                "handlungsfeld",
                "ziel_code",
                "ziel",
                "ziel_rang",
                "massnahme_code",
                "massnahme",
                "beschreibung",
                "fachbereich",
                "kontakt_name",
                "kontakt_email",
            ]
        )
        for j in range(measures):
            field_code = fields[j % len(fields)]
            goal = (j // len(fields)) % 4 + 1
            contact = j % contacts
            department = contact % departments
            out.writerow(
                [
                    field_code,
                    f"Handlungsfeld {field_code}",
                    f"{field_code}{goal}",
                    f"Ziel {field_code}{goal}",
                    goal,
                    f"{field_code}{goal}.{j + 1}",
                    f"Maßnahme {j + 1}",
                    f"Beschreibung der Maßnahme {j + 1} (fiktiv)",
                    f"Fachbereich {department + 1}",
                    f"Kontakt {contact + 1}",
                    f"kontakt{contact + 1}@stadt.example.org",
                ]
            )
