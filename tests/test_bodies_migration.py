"""Revision 0005 turns steering groups into bodies and keeps every row, on both databases.

Old-shape rows are inserted at 0005's parent (plain SQL, as an older zielflow wrote them),
then 0005 runs: ids, names, addresses and meetings survive, the new columns hold what the
issue asks for old rows, new rows get fresh ids, and the way back restores the old tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests.conftest import IN_CI, PG_URL, _pg_admin_engine
from workflow.bodies.models import Body, BodyMember, Meeting
from workflow.bodies.service import add_member, create_body
from workflow.db import make_engine
from workflow.migrate import alembic_config, upgrade

_PARENT = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision("0005")
assert _PARENT is not None and isinstance(_PARENT.down_revision, str)
PARENT: str = _PARENT.down_revision


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bodies.sqlite3'}"
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
    name = f"zf_bodies_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


OLD_ROWS = [
    "INSERT INTO organisation (id, slug, name, kind, state, timezone, contact_email) VALUES "
    "(1, 'musterstadt', 'Stadt Musterstadt', 'city', 'NW', 'Europe/Berlin', ''), "
    "(2, 'nachbarstadt', 'Stadt Nachbarstadt', 'city', 'NW', 'Europe/Berlin', '')",
    "INSERT INTO steering_group (id, organisation_id, name) VALUES "
    "(4, 1, 'Steuerungsgruppe Integration'), (7, 2, 'Steuerungsgruppe')",
    "INSERT INTO steering_member (id, steering_group_id, name, email) VALUES "
    "(10, 4, 'Dr. Henrike Sommer', 'Henrike.Sommer@musterstadt.example.org'), "
    "(11, 4, 'Murat Yilmaz', 'murat.yilmaz@musterstadt.example.org'), "
    "(12, 7, 'Claudia Weber', 'claudia.weber@nachbarstadt.example.org')",
    "INSERT INTO steering_meeting (id, steering_group_id, held_on, title) VALUES "
    "(3, 4, '2026-05-08', 'Frühjahrssitzung')",
]


def test_steering_rows_become_bodies_members_and_meetings(empty_url: str) -> None:
    upgrade(empty_url, PARENT)
    engine = make_engine(empty_url)
    with engine.begin() as conn:
        for statement in OLD_ROWS:
            conn.execute(text(statement))
    # Up to head, not just 0005: the models read below are the head's.
    upgrade(empty_url, "head")
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    assert {"body", "body_member", "meeting", "body_field", "body_composition_rule"} <= tables
    assert not tables & {"steering_group", "steering_member", "steering_meeting"}
    with Session(engine) as s:
        bodies = s.scalars(select(Body).order_by(Body.id)).all()
        assert [
            (
                b.id,
                b.organisation_id,
                b.name,
                b.kind,
                b.scope,
                b.digest_cadence,
                b.meetings_per_year,
            )
            for b in bodies
        ] == [
            (4, 1, "Steuerungsgruppe Integration", "steering_group", "all", "weekly", 2),
            (7, 2, "Steuerungsgruppe", "steering_group", "all", "weekly", 2),
        ]
        members = s.scalars(select(BodyMember).order_by(BodyMember.id)).all()
        assert [(m.id, m.body_id, m.name, m.email) for m in members] == [
            (10, 4, "Dr. Henrike Sommer", "Henrike.Sommer@musterstadt.example.org"),
            (11, 4, "Murat Yilmaz", "murat.yilmaz@musterstadt.example.org"),
            (12, 7, "Claudia Weber", "claudia.weber@nachbarstadt.example.org"),
        ]
        assert {
            (m.role, m.language, m.represents, m.represents_name, m.joined_on, m.left_on)
            for m in members
        } == {("member", "de", None, "", None, None)}
        assert all(m.is_current(date(2026, 3, 2)) for m in members)
        meeting = s.scalars(select(Meeting)).one()
        assert (meeting.id, meeting.body_id, meeting.held_on, meeting.title) == (
            3,
            4,
            date(2026, 5, 8),
            "Frühjahrssitzung",
        )
        # New rows continue after the copied ids (PostgreSQL's sequences were moved on).
        body = create_body(
            session=s, organisation_id=1, name="Begleitgremium", kind="advisory_board"
        )
        member = add_member(
            session=s, body=body, name="Ingrid", email="i@x.example.org", today=date(2026, 3, 2)
        )
        s.commit()
        assert (body.id, member.id) == (8, 13)
        # The same person twice at once in one body is refused by the database as well.
        s.add(BodyMember(body_id=4, name="Doppelt", email="murat.yilmaz@musterstadt.example.org"))
        with pytest.raises(IntegrityError):
            s.flush()
    engine.dispose()


def test_the_way_back_restores_the_steering_tables(empty_url: str) -> None:
    upgrade(empty_url, PARENT)
    engine = make_engine(empty_url)
    with engine.begin() as conn:
        for statement in OLD_ROWS:
            conn.execute(text(statement))
    upgrade(empty_url, "0005")
    with engine.begin() as conn:  # an ended membership does not go back
        conn.execute(text("UPDATE body_member SET left_on = '2026-01-31' WHERE id = 11"))
    command.downgrade(alembic_config(empty_url), PARENT)
    with engine.connect() as conn:
        groups = conn.execute(
            text("SELECT id, organisation_id, name FROM steering_group ORDER BY id")
        )
        assert [tuple(r) for r in groups] == [
            (4, 1, "Steuerungsgruppe Integration"),
            (7, 2, "Steuerungsgruppe"),
        ]
        members = conn.execute(
            text("SELECT id, steering_group_id FROM steering_member ORDER BY id")
        )
        assert [tuple(r) for r in members] == [(10, 4), (12, 7)]
        assert "body" not in inspect(conn).get_table_names()
    engine.dispose()
