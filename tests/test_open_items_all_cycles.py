"""No backlog drops out when next year's cycle opens: over a simulated turn of the year, every
count of the newest cycle (overdue list, steering view, digest, Jahresbericht, pipeline, CSV)
equals an independent SQL query over measure_cycle and cycle, and the older cycle's open
items show with their cycle."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.app import create_app
from notifications.digest_items import MEASURE, open_items
from tests.conftest import BERLIN, make_runtime
from tests.dashboard_seed import EMAILS, PASSWORD, login
from workflow import runtime
from workflow.accounts import Role, add_or_update_user
from workflow.bodies.models import Body, BodyKind
from workflow.catalogue.models import Organisation
from workflow.clock import FrozenClock
from workflow.cycles import queries
from workflow.cycles.models import Cycle
from workflow.db import unit_of_work
from workflow.deadlines import DeadlinePolicy
from workflow.reports import data
from workflow.reports.answers import answers_table
from workflow.simulate import run_simulation

# Opened on 2 November 2026, so that every measure is still on its way when the coordinator
# opens 2027 in mid-January: the 2027 views consist mostly of the 2026 backlog. 140 days
# run in about 25 s on SQLite; two full years would take minutes.
START = date(2026, 11, 2)
DAYS = 140
SEED = 1
HEADER = (
    "handlungsfeld_code,handlungsfeld,ziel_code,ziel,ziel_rang,massnahme_code,massnahme,"
    "beschreibung,fachbereich,kontakt_name,kontakt_email"
)
FIELDS = {"A": "Wirtschaft und Arbeit", "B": "Bildung und Sprache", "C": "Zusammenleben"}
GOALS = {"A1": "Übergänge in Ausbildung", "A2": "Anerkennung", "B1": "Sprachförderung",
         "B2": "Bildungsberatung", "C1": "Begegnung"}  # fmt: skip
# (code, title, department, contact)
MEASURES = (
    ("A1.1", "Ausbildungslotsen", "Wirtschaftsförderung", "Tobias Brandt"),
    ("A1.2", "Praktikumsbörse", "Wirtschaftsförderung", "Sabine Krüger"),
    ("A2.1", "Lotsenstelle Anerkennung", "Wirtschaftsförderung", "Sabine Krüger"),
    ("B1.1", "Sprachkurse für Eltern", "Amt für Schule", "Jürgen Möller"),
    ("B1.2", "Sprachbildung in Kitas", "Jugendamt", "Aylin Demir"),
    ("B2.1", "Elternlotsen", "Amt für Schule", "Jürgen Möller"),
    ("C1.1", "Stadtteilfeste", "Jugendamt", "Aylin Demir"),
    ("C1.2", "Patenschaften", "Jugendamt", "Marta Nowak"),
)


def _catalogue() -> str:
    lines = [HEADER]
    for code, title, department, contact in MEASURES:
        email = contact.lower().replace(" ", ".").replace("ü", "ue").replace("ö", "oe")
        lines.append(
            f"{code[0]},{FIELDS[code[0]]},{code[:2]},{GOALS[code[:2]]},1,{code},{title},"
            f"{title} (Beispiel),{department},{contact},{email}@stadt.example.org"
        )
    return "\n".join(lines) + "\n"

# The rules, written out again on purpose instead of imported: the view of a year is its own
# stays and the still open ones of earlier years; "overdue" is a due date before today in a
# state with a deadline; "late" in a report, in a state in which someone owes a step.
VIEW = """
    FROM measure_cycle mc JOIN cycle c ON c.id = mc.cycle_id
    WHERE c.organisation_id = :org
      AND (c.year = :year OR (c.year < :year
           AND mc.state NOT IN ('carried_forward', 'deferred', 'dropped', 'completed')))
"""
OVERDUE = """
      AND mc.due_on < :today
      AND mc.state IN ('initial_interview', 'target_agreement', 'implementation', 'review',
                       'assessment', 'replanning')
"""
LATE = """
      AND mc.due_on < :today
      AND mc.state IN ('initial_interview', 'target_agreement', 'review', 'assessment',
                       'replanning')
"""
DIGEST_OPEN = """
    SELECT COUNT(DISTINCT mc.id)
    FROM outbox_message o
    JOIN measure_cycle mc ON mc.id = o.measure_cycle_id
    JOIN cycle c ON c.id = mc.cycle_id
    WHERE c.organisation_id = :org AND o.kind = 'digest_item' AND o.channel = 'digest'
      AND CAST(json_extract(o.context, '$.stay') AS INTEGER) = mc.stay
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("turn-of-the-year")
    catalogue = folder / "catalogue.csv"
    catalogue.write_text(_catalogue(), encoding="utf-8")
    url = f"sqlite:///{folder / 'sim.sqlite3'}"
    summary = run_simulation(
        database_url=url,
        start=START,
        days=DAYS,
        seed=SEED,
        catalogue=catalogue,
        var_dir=folder / "var",
    )
    return {"summary": summary, "url": url, "folder": folder}


def _sql(session: Session, query: str, **params: object) -> int:
    return int(session.execute(text(query), params).scalar_one())


def test_every_count_of_the_new_cycle_includes_the_old_backlog(world: dict[str, Any]) -> None:
    today = date.fromisoformat(world["summary"]["end"]) - timedelta(days=1)
    clock = FrozenClock(datetime(today.year, today.month, today.day, 17, 0, tzinfo=BERLIN))
    rt = make_runtime(world["url"], clock, Path(world["folder"]))
    try:
        with unit_of_work(rt.sessions) as s:
            org = s.scalars(select(Organisation).where(Organisation.slug == "simulation")).one()
            cycle = s.scalars(select(Cycle).where(Cycle.organisation_id == org.id)
                              .order_by(Cycle.year.desc())).first()  # fmt: skip
            assert cycle is not None and cycle.year == 2027
            add_or_update_user(session=s, organisation_id=org.id, email=EMAILS[Role.COORDINATOR],
                               role=Role.COORDINATOR, password=PASSWORD, now=clock.now())  # fmt: skip
            org_id, cycle_id = org.id, cycle.id
        p = {"org": org_id, "year": 2027, "today": today}
        with rt.sessions() as s:
            in_view = _sql(s, "SELECT COUNT(*)" + VIEW, **p)
            carried = _sql(s, "SELECT COUNT(*)" + VIEW + " AND c.year < :year", **p)
            overdue = _sql(s, "SELECT COUNT(*)" + VIEW + OVERDUE, **p)
            overdue_2026 = _sql(s, "SELECT COUNT(*)" + VIEW + OVERDUE + " AND c.year < :year", **p)
            late = _sql(s, "SELECT COUNT(*)" + VIEW + LATE, **p)
            by_state: dict[str, int] = dict(
                s.execute(text("SELECT mc.state, COUNT(*)" + VIEW + " GROUP BY mc.state"), p).all()
            )
            digest_open = _sql(s, DIGEST_OPEN, org=org_id)
            # The simulated world shows what the rule is about: a backlog, some of it overdue.
            assert carried >= 4 and overdue_2026 >= 1 and late >= 1, (carried, overdue_2026, late)

            # Pipeline totals and the overdue list (the steering view reads the same list).
            counts = queries.pipeline_counts(s, cycle=s.get(Cycle, cycle_id), today=today)  # type: ignore[arg-type]
            assert counts.total == in_view
            assert {k: v for k, v in counts.by_state.items() if v} == by_state
            assert counts.overdue_total == overdue
            listed = queries.overdue_items(s, cycle_id=cycle_id, today=today)
            assert len(listed) == overdue
            assert sum(1 for i in listed if i.item.year == 2026) == overdue_2026

            # The digest of the steering group lists every escalated open item, of any cycle.
            steering = s.scalars(
                select(Body).where(Body.organisation_id == org_id,
                                   Body.kind == BodyKind.STEERING_GROUP.value)
            ).first()  # fmt: skip
            assert steering is not None
            items = open_items(s, body=steering, policy=DeadlinePolicy(), today=today)
            assert sum(1 for i in items.values() if i.kind == MEASURE) == digest_open

            # The Jahresbericht's overdue figure, and the CSV export of the answers.
            scope = data.scope_for(s, organisation_id=org_id, year=2027, report_date=today)
            annual = data.annual(s, scope)
            assert len(annual.late) == late
            assert sum(1 for i in annual.late if i.carried_from == 2026) == _sql(
                s, "SELECT COUNT(*)" + VIEW + LATE + " AND c.year < :year", **p
            )
            assert annual.header.measures == in_view
            table = answers_table(s, organisation_id=org_id, year=2027)
            assert len(table.rows) == in_view
            assert sum(1 for r in table.rows if r["zyklus"] == 2026) == carried

        # The pages: each carried item is marked with its cycle.
        client = TestClient(create_app())
        login(client, Role.COORDINATOR)
        for path in ("/ueberfaellig", "/steuerung"):
            page = client.get(path)
            assert page.status_code == 200
            rows = re.findall(r'<tr class="level-\d">', page.text)
            assert len(rows) == overdue, path
            assert page.text.count('data-cycle="2026"') == overdue_2026, path
            assert "aus 2026" in page.text
        board = client.get("/pipeline").text
        assert board.count('data-cycle="2026"') == carried
    finally:
        rt.dispose()
        runtime.install(None)
