"""GET /api/v1/measure-cycles with ``after``: a keyset walk meets the numbered pages' rows."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from api.app import create_app
from tests.dashboard_seed import bearer, seed
from workflow.accounts import Role
from workflow.cycles import item_pages, queries
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.db import unit_of_work
from workflow.runtime import Runtime

LIST = "/api/v1/measure-cycles"
SIZE = 7


def _spread_due_dates(rt: Runtime, ids: list[int]) -> None:
    """Ties, gaps and missing dates, so the walk by due date crosses each kind of boundary."""
    with unit_of_work(rt.sessions) as session:
        for n, item in enumerate(ids):
            due = None if n % 5 == 0 else date(2026, 4, 1 + n % 3)
            session.execute(update(MeasureCycle).where(MeasureCycle.id == item).values(due_on=due))


def _numbered(client: TestClient, h: dict[str, str], params: Mapping[str, object]) -> list[int]:
    first = client.get(LIST, params={**params, "page_size": SIZE}, headers=h).json()
    pages = -(-first["total"] // SIZE)
    return [
        i["id"]
        for page in range(1, pages + 1)
        for i in client.get(
            LIST, params={**params, "page_size": SIZE, "page": page}, headers=h
        ).json()["items"]
    ]


def _walked(client: TestClient, h: dict[str, str], params: Mapping[str, object]) -> list[int]:
    answer = client.get(LIST, params={**params, "page_size": SIZE}, headers=h).json()
    ids = [i["id"] for i in answer["items"]]
    while answer["next"] is not None:
        answer = client.get(
            LIST, params={**params, "page_size": SIZE, "after": answer["next"]}, headers=h
        ).json()
        assert answer["total"] is None
        assert answer["items"], "a cursor was handed out for an empty page"
        ids += [i["id"] for i in answer["items"]]
    return ids


@pytest.mark.parametrize("order", ["code", "due", "state"])
def test_walking_with_after_meets_the_numbered_pages(rt: Runtime, order: str) -> None:
    s = seed(rt)
    client, h = TestClient(create_app()), bearer(s, Role.COORDINATOR)
    _spread_due_dates(rt, s.item_ids)
    moved = client.post(
        f"/api/v1/measure-cycles/{s.item_ids[4]}/transitions",
        json={
            "event": "record_interview",
            "version": 1,
            "payload": {"decision": "keep", "held_on": "2026-03-02"},
        },
        headers=h,
    )
    assert moved.status_code == 200
    numbered = _numbered(client, h, {"order": order})
    assert sorted(numbered) == sorted(s.item_ids)
    assert _walked(client, h, {"order": order}) == numbered
    only = {"order": order, "state": "initial_interview"}
    assert _walked(client, h, only) == _numbered(client, h, only)
    assert len(_walked(client, h, only)) == len(s.item_ids) - 1


def _cursor(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def test_a_bad_cursor_is_422_with_a_german_sentence(rt_sqlite: Runtime) -> None:
    s = seed(rt_sqlite)
    client, h = TestClient(create_app()), bearer(s, Role.COORDINATOR)
    good = client.get(LIST, params={"page_size": 5}, headers=h).json()["next"]
    assert client.get(LIST, params={"after": good}, headers=h).status_code == 200
    for order, cursor in (
        ("code", "nicht-base64!"),
        ("code", _cursor([1, 2])),
        ("code", _cursor({"o": "code", "k": ["M1"]})),
        ("code", _cursor({"o": "code", "k": ["M1", "7"]})),
        ("due", _cursor({"o": "due", "k": ["morgen", "M1", 7]})),
        ("due", good),
    ):
        answer = client.get(LIST, params={"order": order, "after": cursor}, headers=h)
        assert answer.status_code == 422, (cursor, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "cursor_invalid"
        assert "erste Seite" in error["message"]


def test_a_page_is_read_without_parallel_workers_on_postgresql(rt: Runtime) -> None:
    """A page stops after a few rows; on PostgreSQL the workers of a parallel plan take longer
    to start than such a page takes to read, so the page's transaction plans without them, and
    with index reads priced as reads from memory; the rest of the server keeps its settings."""
    seed(rt)
    with rt.sessions() as session:
        cycle = session.scalars(select(Cycle)).first()
        assert cycle is not None
        postgres = session.get_bind().dialect.name == "postgresql"
        before = session.scalar(text("SHOW max_parallel_workers_per_gather")) if postgres else None
        cost = session.scalar(text("SHOW random_page_cost")) if postgres else None
        page = item_pages.list_page(
            session,
            cycle=cycle,
            today=date(2026, 4, 1),
            f=queries.ItemFilter(),
            order="code",
            limit=SIZE,
        )
        assert len(page.rows) == SIZE
        if postgres:
            assert before != "0"  # the server's default, for everything else
            assert session.scalar(text("SHOW max_parallel_workers_per_gather")) == "0"
            assert cost != "1.1"
            assert session.scalar(text("SHOW random_page_cost")) == "1.1"
            session.rollback()
            assert session.scalar(text("SHOW max_parallel_workers_per_gather")) == before
            assert session.scalar(text("SHOW random_page_cost")) == cost


@pytest.mark.parametrize("order", ["code", "due", "state"])
def test_a_filtered_page_holds_the_rows_of_the_full_list_in_its_order(
    rt: Runtime, order: str
) -> None:
    """A page is picked from the stays alone and then joined to their details; it must hold
    exactly the rows, in the order, of the list read in one piece (``queries.list_items``)."""
    s = seed(rt)
    _spread_due_dates(rt, s.item_ids)
    today = date(2026, 4, 2)
    with rt.sessions() as session:
        cycle = session.get_one(Cycle, s.cycle_id)
        rows, _ = queries.list_items(session, cycle_id=cycle.id, today=today)
        first = rows[0]
        filters = [
            queries.ItemFilter(),
            queries.ItemFilter(department_id=first.department_id),
            queries.ItemFilter(field_id=first.field_id),
            queries.ItemFilter(goal_rank=first.goal_rank),
            queries.ItemFilter(contact_id=first.contact_id),
            queries.ItemFilter(overdue=True),
            queries.ItemFilter(overdue=False, field_id=first.field_id),
            queries.ItemFilter(states=("initial_interview",), escalation_level=0),
        ]
        for f in filters:
            whole, total = queries.list_items(
                session, cycle_id=cycle.id, today=today, f=f, order=order
            )
            expected = [r.id for r in whole]
            assert expected, f
            paged: list[int] = []
            for offset in range(0, total, SIZE):
                page = item_pages.list_page(
                    session, cycle=cycle, today=today, f=f, order=order, limit=SIZE, offset=offset
                )
                assert page.total == total, f
                paged += [r.id for r in page.rows]
            assert paged == expected, f
            session.rollback()
