"""A district's roll-up, drill-down and goal links (issue 15, item 2, second part).

Status, overdue list and indicators per town equal plain SQL over a district with three
towns; a town's coordinator meets 404 on every district route; a town that declines to share
shows counts only; a town's goal serves a district goal only by the rules. Both databases.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, select, text
from typer.testing import CliRunner

from api.app import create_app
from api.dashboard import goal_links as goal_links_page
from api.routes import goal_links as goal_links_api
from tests import status_support
from tests.dashboard_seed import csrf_headers
from tests.test_district_rollup import PASSWORD, YEAR, _org, _set
from workflow.catalogue.models import Goal, Measure
from workflow.cli import app as cli_app
from workflow.cycles.queries import OVERDUE_STATES
from workflow.db import unit_of_work
from workflow.indicators.models import Indicator, IndicatorValue
from workflow.runtime import Runtime

DISTRICT_PREFIXES = ("/kreis", "/api/v1/district")


def _app() -> TestClient:
    """The shared app, with the goal-link routes mounted until the lead registers them."""
    app = create_app()
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/api/v1/goals/{goal_id}/district-goal" not in paths:
        app.include_router(goal_links_api.router)
    if goal_links_page.PATH not in paths:
        app.include_router(goal_links_page.router)
    return TestClient(app)


def _client(slug: str) -> TestClient:
    client = _app()
    response = client.post(
        "/login",
        data={"email": f"koordination@{slug}.example.org", "password": PASSWORD},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def _indicator(rt: Runtime, org_id: int, code: str, unit: str, values: list[float]) -> None:
    """An indicator with one total value per month from January (the last is the latest)."""
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:
        ind = Indicator(
            organisation_id=org_id, code=code, statement=f"Kennzahl {code}", unit=unit,
            direction="up", created_at=now,
        )  # fmt: skip
        s.add(ind)
        s.flush()
        for month, value in enumerate(values, start=1):
            s.add(
                IndicatorValue(
                    organisation_id=org_id,
                    indicator_id=ind.id,
                    value=value,
                    survey_date=date(YEAR, month, 1),
                    delivered_by="test",
                    delivered_at=now,
                )
            )
        # A breakdown cell is no total: it must not count.
        s.add(
            IndicatorValue(
                organisation_id=org_id,
                indicator_id=ind.id,
                value=9999,
                cell="geschlecht=w",
                survey_date=date(YEAR, 2, 1),
                delivered_by="test",
                delivered_at=now,
            )
        )


def _answers(rt: Runtime, org_id: int, stands: list[str]) -> None:
    """The org's first measures answered with ``stands``; the first once more, older."""
    at = datetime(YEAR, 2, 1, 9, tzinfo=UTC)
    with unit_of_work(rt.sessions) as s:
        measures = s.scalars(
            select(Measure).where(Measure.organisation_id == org_id).order_by(Measure.id)
        ).all()
        cycle_id = s.scalar(text("SELECT id FROM cycle WHERE organisation_id = :o"), {"o": org_id})
        for measure, stand in zip(measures, stands, strict=False):
            status_support.answer(s, measure=measure, cycle_id=cycle_id, stand=stand, at=at)
        older = at - timedelta(days=30)  # an older answer must not count
        status_support.answer(s, measure=measures[0], cycle_id=cycle_id, stand="done", at=older)


@pytest.fixture
def district(rt: Runtime) -> dict[str, int]:
    ids = {"rbk": _org(rt, "rbk", "district")}
    for town in ("burscheid", "leichlingen"):
        ids[town] = _org(rt, town, "town", "rbk")
    ids["wermelskirchen"] = _org(rt, "wermelskirchen", "town", "rbk", cycle=False)
    ids["oberberg"] = _org(rt, "oberberg", "district")
    ids["gummersbach"] = _org(rt, "gummersbach", "town", "oberberg")
    today = rt.clock.now().date()
    _set(rt, ids["burscheid"], 3, "target_agreement", today - timedelta(days=10))  # overdue
    _set(rt, ids["burscheid"], 2, "review", today + timedelta(days=30))
    _set(rt, ids["leichlingen"], 4, "review", today - timedelta(days=3))  # overdue
    _answers(rt, ids["burscheid"], ["on_track", "at_risk", "at_risk", "delayed"])
    _answers(rt, ids["leichlingen"], ["done", "on_track"])
    _indicator(rt, ids["rbk"], "K1", "count", [500.0])
    _indicator(rt, ids["burscheid"], "K1", "count", [100.0, 120.0])
    _indicator(rt, ids["leichlingen"], "K1", "count", [80.5])
    _indicator(rt, ids["burscheid"], "Q1", "percent", [12.5, 29.7])
    _indicator(rt, ids["leichlingen"], "Q1", "percent", [33.0])
    _indicator(rt, ids["gummersbach"], "K1", "count", [7000.0])  # another district's town
    return ids


def _sql(rt: Runtime, query: str, **params: object) -> list[tuple[object, ...]]:
    statement = text(query)
    for name, value in params.items():
        if isinstance(value, tuple):
            statement = statement.bindparams(bindparam(name, expanding=True))
    with rt.sessions() as s:
        return [tuple(r) for r in s.execute(statement, params).all()]


def _sql_status(rt: Runtime, org_id: int) -> dict[str, int]:
    """Stand of each measure's newest answer, plus the measures of the year without one."""
    rows = _sql(
        rt,
        "SELECT i.stand, count(*) FROM status_check_item i WHERE i.organisation_id = :o"
        " AND i.answered_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM status_check_item n"
        "  WHERE n.measure_id = i.measure_id AND n.answered_at IS NOT NULL"
        "  AND (n.answered_at > i.answered_at OR (n.answered_at = i.answered_at AND n.id > i.id)))"
        " GROUP BY i.stand",
        o=org_id,
    )
    out = {str(stand): int(str(n)) for stand, n in rows}
    ((measures,),) = _sql(
        rt,
        "SELECT count(DISTINCT mc.measure_id) FROM measure_cycle mc JOIN cycle c"
        " ON c.id = mc.cycle_id WHERE c.organisation_id = :o AND c.year = :y",
        o=org_id,
        y=YEAR,
    )
    out["none"] = int(str(measures)) - sum(out.values())
    return out


def _sql_overdue(rt: Runtime, org_id: int) -> list[list[object]]:
    today = rt.clock.now().date()
    rows = _sql(
        rt,
        "SELECT m.code, m.title, mc.state, mc.due_on FROM measure_cycle mc"
        " JOIN cycle c ON c.id = mc.cycle_id JOIN measure m ON m.id = mc.measure_id"
        " WHERE c.organisation_id = :o AND c.year = :y AND mc.due_on < :today"
        " AND mc.state IN :late ORDER BY mc.due_on, m.code",
        o=org_id,
        y=YEAR,
        today=today,
        late=tuple(OVERDUE_STATES),
    )
    out = []
    for code, title, state, due in rows:
        due_on = due if isinstance(due, date) else date.fromisoformat(str(due))
        out.append([code, title, state, due_on.isoformat(), (today - due_on).days])
    return out


def _sql_latest_total(rt: Runtime, org_id: int, code: str) -> float:
    ((value,),) = _sql(
        rt,
        "SELECT v.value FROM indicator_value v JOIN indicator i ON i.id = v.indicator_id"
        " WHERE i.organisation_id = :o AND i.code = :c AND v.cell = '' AND v.district = ''"
        " ORDER BY v.survey_date DESC LIMIT 1",
        o=org_id,
        c=code,
    )
    return float(str(value))


def test_status_overdue_and_indicators_equal_plain_sql(
    rt: Runtime, district: dict[str, int]
) -> None:
    client = _client("rbk")
    found = client.get("/api/v1/district/rollup", params={"year": YEAR}).json()
    rows = {r["slug"]: r for r in found["rows"]}
    for town in ("burscheid", "leichlingen"):
        expected = _sql_status(rt, district[town])
        assert {k: v for k, v in rows[town]["status"].items() if v} == {
            k: v for k, v in expected.items() if v
        }
    assert rows["burscheid"]["status"]["at_risk"] == 2  # as set up
    assert rows["leichlingen"]["status"]["done"] == 1 and rows["leichlingen"]["status"]["none"]
    assert found["sum"]["status"]["at_risk"] == 2 and found["sum"]["status"]["on_track"] == 2
    by_code = {i["code"]: i for i in found["indicators"]}
    towns_k1 = [_sql_latest_total(rt, district[t], "K1") for t in ("burscheid", "leichlingen")]
    assert by_code["K1"]["summed"] and by_code["K1"]["total"] == pytest.approx(sum(towns_k1))
    assert by_code["K1"]["values"]["rbk"]["value"] == 500.0  # beside the sum, not in it
    assert "gummersbach" not in by_code["K1"]["values"]
    assert not by_code["Q1"]["summed"] and by_code["Q1"]["total"] is None
    assert by_code["Q1"]["values"]["burscheid"]["value"] == pytest.approx(29.7)

    town = client.get("/api/v1/district/towns/burscheid", params={"year": YEAR}).json()
    assert town["shares"] is True
    overdue = [[o[k] for k in ("measure_code", "title", "state", "due_on", "days_overdue")]
               for o in town["overdue"]]  # fmt: skip
    assert overdue == _sql_overdue(rt, district["burscheid"]) and len(overdue) == 3
    assert town["status"] == rows["burscheid"]["status"]
    assert [i["code"] for i in town["indicators"]] == ["K1", "Q1"]

    page = client.get("/kreis", params={"jahr": YEAR}).text
    row = page.split('data-org="burscheid"', 1)[1].split("</tr>", 1)[0]
    assert 'data-stand="at_risk" data-count="2"' in row
    assert 'data-indicator="K1"' in page and "29,7" in page
    drill = client.get("/kreis/burscheid", params={"jahr": YEAR}).text
    assert all(f'data-measure="{code}"' in drill for code, *_ in overdue)
    assert client.get("/api/v1/district/towns/gummersbach").status_code == 404


def _district_routes() -> list[tuple[str, str]]:
    found = []
    for route in iter_route_contexts(_app().app.routes):  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        if path.startswith(DISTRICT_PREFIXES):
            found += [
                (m, path) for m in sorted(getattr(route, "methods", None) or []) if m != "HEAD"
            ]
    return found


def test_a_town_coordinator_gets_404_on_every_district_route(
    rt: Runtime, district: dict[str, int]
) -> None:
    routes = _district_routes()
    assert len(routes) >= 6 and {m for m, _ in routes} == {"GET"}  # read only, all of it
    client = _client("burscheid")
    for _, path in routes:
        for sibling in ("leichlingen", "burscheid"):
            response = client.get(path.replace("{slug}", sibling))
            assert response.status_code == 404, path
            assert "leichlingen" not in response.text.lower() and "rbk" not in response.text
            assert "Kennzahl K1" not in response.text


def test_a_declining_town_shows_counts_only(rt: Runtime, district: dict[str, int]) -> None:
    town = _client("leichlingen")
    saved = town.post(
        "/organisation",
        data={"shares_with_district": "nein"},
        headers=csrf_headers(town),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    refused = town.post(
        "/organisation", data={"shares_with_district": "vielleicht"}, headers=csrf_headers(town)
    )
    assert refused.status_code == 422 and "ja oder nein" in refused.text
    _link(rt, district["leichlingen"], "A1", "A1")

    client = _client("rbk")
    api = client.get("/api/v1/district/towns/leichlingen", params={"year": YEAR}).json()
    assert api["shares"] is False and "nur Zahlen" in api["note"]
    assert api["overdue"] == [] and api["indicators"] == [] and api["overdue_total"] == 4
    assert sum(api["status"].values()) == api["total"] > 0
    page = client.get("/kreis/leichlingen", params={"jahr": YEAR}).text
    titles = [str(t) for (t,) in _sql(rt, "SELECT title FROM measure WHERE organisation_id = :o",
                                     o=district["leichlingen"])]  # fmt: skip
    assert "teilt mit dem Kreis nur Zahlen" in page and 'data-count="1"' in page
    assert not [t for t in titles if t in page] and "data-measure" not in page
    rollup = client.get("/api/v1/district/rollup", params={"year": YEAR}).json()
    k1 = next(i for i in rollup["indicators"] if i["code"] == "K1")
    assert "leichlingen" not in k1["values"] and k1["withheld"] == ["leichlingen"]
    assert k1["total"] == pytest.approx(_sql_latest_total(rt, district["burscheid"], "K1"))
    overview = client.get("/kreis", params={"jahr": YEAR}).text
    assert "Nicht enthalten, weil nur Zahlen geteilt werden: Verwaltung leichlingen." in overview
    table = overview.split('data-testid="district-indicators"', 1)[1].split("</table>", 1)[0]
    assert "29,7" in table and "33" not in table  # burscheid's share shown, leichlingen's not
    goals = client.get("/api/v1/district/goals", params={"year": YEAR}).json()["goals"]
    a1 = next(g for g in goals if g["code"] == "A1")
    assert a1["measures"] == [] and a1["counted"] == [
        {"town_name": "Verwaltung leichlingen", "measures": 3, "overdue": 3}
    ]
    goals_page = client.get("/kreis/ziele", params={"jahr": YEAR}).text
    assert "Verwaltung leichlingen teilt nur Zahlen" in goals_page
    assert not [t for t in titles if t in goals_page]

    shown = CliRunner().invoke(
        cli_app, ["org", "set", "--shares-with-district", "ja", "--org", "leichlingen"]
    )
    assert shown.exit_code == 0 and "Daten mit dem Kreis teilen: ja" in shown.stdout
    assert client.get("/api/v1/district/towns/leichlingen").json()["shares"] is True


def _goal_id(rt: Runtime, org_id: int, code: str) -> int:
    with rt.sessions() as s:
        found = s.scalars(
            select(Goal.id).where(Goal.organisation_id == org_id, Goal.code == code)
        ).one()
        return int(found)


def _link(rt: Runtime, town_id: int, goal: str, district_goal: str) -> None:
    from workflow.district.goal_links import link_goal

    with unit_of_work(rt.sessions) as s:
        row = s.get(Goal, _goal_id(rt, town_id, goal))
        assert row is not None
        link_goal(s, goal=row, district_goal_code=district_goal)


def test_goal_link_rules(rt: Runtime, district: dict[str, int]) -> None:
    town = _client("burscheid")
    a1 = _goal_id(rt, district["burscheid"], "A1")

    def put(client: TestClient, goal_id: int, code: str | None) -> tuple[int, dict[str, object]]:
        response = client.put(
            f"/api/v1/goals/{goal_id}/district-goal",
            json={"district_goal": code},
            headers=csrf_headers(client),
        )
        return response.status_code, response.json()

    assert put(town, a1, "A2") == (200, {"goal": "A1", "district_goal": "A2"})
    with rt.sessions() as s:
        linked = s.get(Goal, a1)
        assert linked is not None and linked.district_goal_id == _goal_id(rt, district["rbk"], "A2")
    status, body = put(town, a1, "Z9")
    assert status == 422 and body["error"]["code"] == "unknown_district_goal"  # type: ignore[index]
    assert "Der Kreis Verwaltung rbk hat kein Ziel mit der Nummer „Z9“." in str(body)
    assert put(town, _goal_id(rt, district["leichlingen"], "A1"), "A1")[0] == 404  # a sibling's
    assert put(town, _goal_id(rt, district["rbk"], "A1"), "A1")[0] == 404  # the district's
    status, body = put(_client("rbk"), _goal_id(rt, district["rbk"], "A1"), "A1")
    assert status == 422 and body["error"]["code"] == "not_a_town"  # type: ignore[index]
    other = _client("gummersbach")  # a town of another district: rbk's goals are not its own
    assert put(other, _goal_id(rt, district["gummersbach"], "A1"), "A9")[0] == 422
    assert put(town, a1, None) == (200, {"goal": "A1", "district_goal": None})

    form = town.get(goal_links_page.PATH)
    assert form.status_code == 200 and f'name="goal-{a1}"' in form.text
    saved = town.post(
        goal_links_page.PATH,
        data={f"goal-{a1}": "A1"},
        headers=csrf_headers(town),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert _client("rbk").get(goal_links_page.PATH).status_code == 404  # not a town
    goals = _client("rbk").get("/api/v1/district/goals", params={"year": YEAR}).json()["goals"]
    served = next(g for g in goals if g["code"] == "A1")["measures"]
    expected = _sql(
        rt,
        "SELECT m.code, mc.state FROM measure m JOIN goal g ON g.id = m.goal_id"
        " JOIN measure_cycle mc ON mc.measure_id = m.id WHERE g.district_goal_id = :d"
        " ORDER BY m.code",
        d=_goal_id(rt, district["rbk"], "A1"),
    )
    assert [(m["measure_code"], m["state"]) for m in served] == expected and expected
    assert {m["town_name"] for m in served} == {"Verwaltung burscheid"}
    assert sum(m["overdue"] for m in served) == 3  # burscheid's first three, as set up
