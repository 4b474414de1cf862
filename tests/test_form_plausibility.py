"""Plausibility in the target-agreement form, through the real form POST: milestone dates
within the cycle's span, indicator targets within their unit and finite; typed values return."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.form_support import Browser, World, agreement, build_world, link
from workflow.cycles.models import MeasureCycle
from workflow.db import unit_of_work
from workflow.indicators.service import save_indicator
from workflow.runtime import Runtime


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt, measures=2)


@pytest.fixture
def browser(rt: Runtime) -> Iterator[Browser]:
    with TestClient(create_app()) as client:
        yield Browser(client)


def _indicator(rt: Runtime, world: World, mc_id: int, code: str, unit: str) -> int:
    with unit_of_work(rt.sessions) as s:
        mc = s.get(MeasureCycle, mc_id)
        assert mc is not None
        indicator, _ = save_indicator(
            s,
            organisation_id=world.org_id,
            code=code,
            values={"statement": f"Aussage {code}", "unit": unit, "direction": "up"},
            goal_ids=None,
            measure_ids=[mc.measure_id],
            now=rt.clock.now(),
        )
        return indicator.id


@pytest.mark.parametrize("typed", ["1900-01-01", "9999-12-31", "31.12.2025", "01.01.2028"])
def test_milestone_date_outside_the_cycle_is_refused_at_its_field(
    rt: Runtime, world: World, browser: Browser, typed: str
) -> None:
    mine = world.mine[0]
    response = browser.post(
        link(rt, world), {"action": f"submit:{mine}", **agreement(mine, **{"ms-0-due": typed})}
    )
    assert response.status_code == 422
    assert f'href="#m-{mine}-ms-0-due"' in response.text
    assert "zwischen dem 01.01.2026 und dem 31.12.2027" in response.text
    assert typed in response.text
    with rt.sessions() as s:
        assert s.get(MeasureCycle, mine).state == "target_agreement"  # type: ignore[union-attr]


def test_milestone_dates_at_the_edges_of_the_cycle_are_accepted(
    rt: Runtime, world: World, browser: Browser
) -> None:
    mine = world.mine[0]
    answers = agreement(mine, **{"ms-0-due": "01.01.2026", "ms-1-what": "Ende", "ms-1-due": "2027-12-31"})
    response = browser.post(link(rt, world), {"action": f"submit:{mine}", **answers})
    assert response.status_code in (200, 303), response.text
    with rt.sessions() as s:
        assert s.get(MeasureCycle, mine).state == "implementation"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("unit", "typed", "message"),
    [
        ("percent", "250", "zwischen 0 und 100"),
        ("percent", "-5", "zwischen 0 und 100"),
        ("percent", "1e309", "zwischen 0 und 100"),
        ("count", "1e309", "zu groß"),
        ("count", "2,5", "ganze Zahl"),
        ("rate", "-1", "nicht negativ"),
    ],
)
def test_indicator_target_outside_its_unit_is_refused_at_its_field(
    rt: Runtime, world: World, browser: Browser, unit: str, typed: str, message: str
) -> None:
    mine = world.mine[0]
    ind = _indicator(rt, world, mine, "K-1", unit)
    field = f"m-{mine}-ind-i{ind}"
    response = browser.post(
        link(rt, world), {"action": f"submit:{mine}", **agreement(mine), field: typed}
    )
    assert response.status_code == 422, response.text
    assert f'href="#{field}"' in response.text
    assert message in response.text
    assert f'value="{typed}"' in response.text
