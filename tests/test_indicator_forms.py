"""Indicator values in the department forms: target values in the agreement, actual values in
the review, for the measures linked to indicators (``workflow.forms.indicators``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.form_support import Browser, World, agreement, build_world, link, to_review
from workflow.cycles.models import MeasureCycle, Review, TargetAgreement
from workflow.db import unit_of_work
from workflow.forms.indicators import SlotKind, indicator_slots
from workflow.forms.tokens import Phase
from workflow.indicators.models import IndicatorValue
from workflow.indicators.service import save_indicator
from workflow.runtime import Runtime
from workflow.transitions import apply_event


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt, measures=4)


@pytest.fixture
def browser(rt: Runtime) -> Iterator[Browser]:
    with TestClient(create_app()) as client:
        yield Browser(client)


def _link_indicators(rt: Runtime, world: World, mc_id: int) -> tuple[int, int]:
    """A percentage and a written report, both linked to ``mc_id``'s measure."""
    with unit_of_work(rt.sessions) as s:
        mc = s.get(MeasureCycle, mc_id)
        assert mc is not None
        ids = []
        for code, unit in (("K-1", "percent"), ("W-1", "text")):
            indicator, _ = save_indicator(
                s,
                organisation_id=world.org_id,
                code=code,
                values={"statement": f"Aussage {code}", "unit": unit, "direction": "up"},
                goal_ids=None,
                measure_ids=[mc.measure_id],
                now=rt.clock.now(),
            )
            ids.append(indicator.id)
        s.add(
            IndicatorValue(
                organisation_id=world.org_id,
                indicator_id=ids[0],
                survey_date=date(2025, 2, 15),
                district="",
                value=24.0,
                delivered_by="import",
                delivered_at=rt.clock.now(),
            )
        )
        return ids[0], ids[1]


def test_slots_follow_the_links_between_measures_and_indicators(rt: Runtime, world: World) -> None:
    mine = world.mine[0]
    number, report = _link_indicators(rt, world, mine)
    with rt.sessions() as s:
        linked = indicator_slots(s, s.get(MeasureCycle, mine))  # type: ignore[arg-type]
        other = indicator_slots(s, s.get(MeasureCycle, world.mine[1]))  # type: ignore[arg-type]
    assert [(x.key, x.kind, x.unit) for x in linked] == [
        (f"i{number}", SlotKind.NUMBER, "Prozent"),
        (f"i{report}", SlotKind.TEXT, ""),
    ]
    assert linked[0].label == "K-1: Aussage K-1"
    assert linked[0].hint == "Zuletzt: 24,0 % (Erhebung 15.02.2025)"
    assert other == []


def test_agreement_stores_indicator_targets_and_review_the_actual_values(
    rt: Runtime, world: World, browser: Browser
) -> None:
    mine = world.mine[0]
    number, report = _link_indicators(rt, world, mine)
    raw = link(rt, world)
    page = browser.open(raw)
    assert f'name="m-{mine}-ind-i{number}"' in page.text
    assert "K-1: Aussage K-1 (Prozent)" in page.text
    wrong = browser.post(
        raw, {"action": f"submit:{mine}", **agreement(mine), f"m-{mine}-ind-i{number}": "viel"}
    )
    assert wrong.status_code == 422
    done = browser.post(
        raw,
        {
            "action": f"submit:{mine}",
            **agreement(mine),
            f"m-{mine}-ind-i{number}": "26,5",
            f"m-{mine}-ind-i{report}": "Zwei neue Kooperationen",
        },
    )
    assert done.status_code == 303
    with rt.sessions() as s:
        agreed = s.scalars(
            select(TargetAgreement).where(TargetAgreement.measure_cycle_id == mine)
        ).one()
        assert agreed.indicator_targets == {
            f"i{number}": "26.5",
            f"i{report}": "Zwei neue Kooperationen",
        }

    to_review(rt, [world.mine[1]])  # another measure, to check nothing leaks across
    with unit_of_work(rt.sessions) as s:
        mc = s.get(MeasureCycle, mine)
        assert mc is not None and mc.state == "implementation"
    with unit_of_work(rt.sessions) as s:
        apply_event(
            session=s,
            clock=rt.clock,
            measure_cycle_id=mine,
            event="start_review",
            expected_version=None,
            actor="test",
        )
    review_link = link(rt, world, phase=Phase.REVIEW)
    review_page = browser.open(review_link)
    assert f'name="m-{mine}-ind-i{number}"' in review_page.text
    assert f'name="m-{world.mine[1]}-ind-' not in review_page.text
    answered = browser.post(
        review_link,
        {
            "action": f"submit:{mine}",
            f"m-{mine}-achievement": "teilweise",
            f"m-{mine}-proposal": "continue",
            f"m-{mine}-ind-i{number}": "25,1",
        },
    )
    assert answered.status_code == 303, answered.text
    with rt.sessions() as s:
        review = s.scalars(select(Review).where(Review.measure_cycle_id == mine)).one()
        assert review.indicator_values == {f"i{number}": "25.1"}
