"""A district's view of its towns (issue 15, item 2, first part): counts per town and summed,
equal to plain SQL over a district with three towns; a town sees nothing of it; nothing under
it writes. Both databases."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, text

from api.app import create_app
from tests.conftest import EXAMPLES
from tests.dashboard_seed import csrf_headers
from tests.test_api_access import app_routes
from workflow.accounts import Role, add_or_update_user
from workflow.catalogue.service import import_catalogue
from workflow.cycles.queries import OVERDUE_STATES
from workflow.cycles.service import open_cycle
from workflow.db import unit_of_work
from workflow.org_registry import add_organisation
from workflow.runtime import Runtime

YEAR = 2026
PASSWORD = "ein langes Passwort 123"
TOWNS = ("burscheid", "leichlingen", "wermelskirchen")


def _org(rt: Runtime, slug: str, kind: str, parent: str = "", cycle: bool = True) -> int:
    with unit_of_work(rt.sessions) as s:
        org = add_organisation(
            s, slug=slug, name=f"Verwaltung {slug}", kind=kind, parent_slug=parent,
            state="NW", timezone="Europe/Berlin",
        )  # fmt: skip
        import_catalogue(session=s, organisation_id=org.id, path=EXAMPLES / "catalogue.csv")
        if cycle:
            open_cycle(session=s, clock=rt.clock, organisation_id=org.id, year=YEAR)
        add_or_update_user(
            session=s, organisation_id=org.id, email=f"koordination@{slug}.example.org",
            role=Role.COORDINATOR, password=PASSWORD, now=rt.clock.now(),
        )  # fmt: skip
        return org.id


def _set(rt: Runtime, org_id: int, n: int, state: str, due_on: date) -> None:
    """Move the org's first ``n`` items still in their first phase (test data only)."""
    with unit_of_work(rt.sessions) as s:
        ids = (
            s.execute(
                text(
                    "SELECT mc.id FROM measure_cycle mc JOIN cycle c ON c.id = mc.cycle_id"
                    " WHERE c.organisation_id = :o AND mc.state = 'initial_interview'"
                    " ORDER BY mc.id LIMIT :n"
                ),
                {"o": org_id, "n": n},
            )
            .scalars()
            .all()
        )
        s.execute(
            text("UPDATE measure_cycle SET state = :s, due_on = :d WHERE id = :i"),
            [{"s": state, "d": due_on, "i": i} for i in ids],
        )


@pytest.fixture
def district(rt: Runtime) -> dict[str, int]:
    ids = {"rbk": _org(rt, "rbk", "district")}
    ids["burscheid"] = _org(rt, "burscheid", "town", "rbk")
    ids["leichlingen"] = _org(rt, "leichlingen", "town", "rbk")
    ids["wermelskirchen"] = _org(rt, "wermelskirchen", "town", "rbk", cycle=False)
    ids["other"] = _org(rt, "oberberg", "district")
    ids["other-town"] = _org(rt, "gummersbach", "town", "oberberg")
    today = rt.clock.now().date()
    _set(rt, ids["burscheid"], 3, "target_agreement", date(today.year, 1, 5))  # overdue
    _set(rt, ids["burscheid"], 2, "review", date(today.year + 1, 1, 5))
    _set(rt, ids["leichlingen"], 4, "review", date(today.year, 1, 5))  # overdue
    _set(rt, ids["rbk"], 1, "implementation", date(today.year + 1, 6, 30))
    return ids


def _sql_counts(rt: Runtime, org_ids: list[int]) -> dict[str, tuple[int, int]]:
    """(measures, overdue) per organisation, straight from the tables."""
    today = rt.clock.now().date()
    with rt.sessions() as s:
        rows = s.execute(
            text(
                "SELECT o.slug, count(mc.id),"
                " sum(CASE WHEN mc.due_on < :today AND mc.state IN :late THEN 1 ELSE 0 END)"
                " FROM organisation o JOIN cycle c ON c.organisation_id = o.id AND c.year = :y"
                " JOIN measure_cycle mc ON mc.cycle_id = c.id"
                " WHERE o.id IN :ids GROUP BY o.slug"
            ).bindparams(bindparam("late", expanding=True), bindparam("ids", expanding=True)),
            {"today": today, "late": tuple(OVERDUE_STATES), "y": YEAR, "ids": tuple(org_ids)},
        ).all()
    return {slug: (int(n), int(late or 0)) for slug, n, late in rows}


def _client(rt: Runtime, slug: str) -> TestClient:
    client = TestClient(create_app())
    response = client.post(
        "/login",
        data={"email": f"koordination@{slug}.example.org", "password": PASSWORD},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def test_the_rollup_equals_plain_sql_per_town_and_summed(
    rt: Runtime, district: dict[str, int]
) -> None:
    own = [district[k] for k in ("rbk", "burscheid", "leichlingen", "wermelskirchen")]
    expected = _sql_counts(rt, own)
    assert expected["burscheid"][1] == 3 and expected["leichlingen"][1] == 4  # as set up
    client = _client(rt, "rbk")
    found = client.get("/api/v1/district/rollup", params={"year": YEAR}).json()
    rows = {r["slug"]: (r["total"], r["overdue"]) for r in found["rows"]}
    assert list(rows) == ["rbk", "burscheid", "leichlingen", "wermelskirchen"]
    assert {k: v for k, v in rows.items() if k in expected} == expected
    assert rows["wermelskirchen"] == (0, 0)
    assert [r["year_open"] for r in found["rows"]] == [True, True, True, False]
    assert (found["sum"]["total"], found["sum"]["overdue"]) == (
        sum(n for n, _ in expected.values()),
        sum(late for _, late in expected.values()),
    )
    by_state = found["sum"]["by_state"]
    assert by_state["review"] == 6 and by_state["target_agreement"] == 3
    page = client.get("/kreis", params={"jahr": YEAR})
    assert page.status_code == 200
    for slug, (n, late) in expected.items():
        row = page.text.split(f'data-org="{slug}"', 1)[1].split("</tr>", 1)[0]
        assert f'data-total="{n}"' in row and f'data-overdue="{late}"' in row
    assert f'data-total="{found["sum"]["total"]}"' in page.text
    assert "gummersbach" not in page.text  # another district's town
    town = client.get("/kreis/burscheid", params={"jahr": YEAR})
    assert town.status_code == 200 and "Nur zum Lesen" in town.text
    assert client.get("/kreis/gummersbach").status_code == 404


@pytest.mark.parametrize("path", ["/kreis", "/kreis/leichlingen", "/api/v1/district/rollup"])
def test_a_town_sees_nothing_of_its_district_or_its_siblings(
    rt: Runtime, district: dict[str, int], path: str
) -> None:
    client = _client(rt, "burscheid")
    response = client.get(path)
    assert response.status_code == 404
    assert "leichlingen" not in response.text.lower() and "rbk" not in response.text


def test_nothing_under_the_district_view_writes(rt_sqlite: Runtime) -> None:
    routes = [
        (method, path)
        for method, path, _ in app_routes()
        if path.startswith(("/kreis", "/api/v1/district"))
    ]
    assert len(routes) == 6 and {m for m, _ in routes} == {"GET"}
