"""A review's indicator values join the indicator's series, through the real form on both databases.

The actual values (Ist) of a review become values of the series at the review's date, with the
answer as their source (who, when, which measure); a correction of the answer corrects that
value. Targets of the agreement stay targets. A value of the data source (or one a coordinator
entered) for the same date wins over the answer's, whichever came first.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.dashboard_seed import EMAILS, PASSWORD, login
from tests.form_support import Browser, World, agreement, build_world, link, to_review
from workflow.accounts import Role, add_or_update_user
from workflow.cycles.models import MeasureCycle, Review
from workflow.db import unit_of_work
from workflow.forms.tokens import Phase
from workflow.indicators.models import Indicator, IndicatorValue
from workflow.indicators.service import record_value, save_indicator
from workflow.indicators.validation import Entry
from workflow.runtime import Runtime

REVIEW_DAY = date(2026, 3, 2)  # the clock's local date


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt, measures=2)


@pytest.fixture
def browser(rt: Runtime) -> Iterator[Browser]:
    with TestClient(create_app()) as client:
        yield Browser(client)


def _indicators(rt: Runtime, world: World) -> tuple[int, int]:
    """A percentage and a written report, both linked to the first measure."""
    with unit_of_work(rt.sessions) as s:
        mc = s.get(MeasureCycle, world.mine[0])
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
                now=rt.clock.now() - timedelta(days=300),
            )
            ids.append(indicator.id)
        return ids[0], ids[1]


def _review(browser: Browser, raw: str, mc_id: int, **values: str) -> None:
    answered = browser.post(
        raw,
        {
            "action": f"submit:{mc_id}",
            f"m-{mc_id}-achievement": "teilweise",
            f"m-{mc_id}-proposal": "continue",
            **{f"m-{mc_id}-ind-{k}": v for k, v in values.items()},
        },
    )
    assert answered.status_code == 303, answered.text


def _series(rt: Runtime, indicator_id: int) -> list[IndicatorValue]:
    with rt.sessions() as s:
        return list(
            s.scalars(
                select(IndicatorValue)
                .where(IndicatorValue.indicator_id == indicator_id)
                .order_by(IndicatorValue.survey_date)
            )
        )


def _source_value(rt: Runtime, indicator_id: int, value: float) -> None:
    """What the data source's path (or a coordinator's entry) stores for the review's date."""
    with unit_of_work(rt.sessions) as s:
        indicator = s.get(Indicator, indicator_id)
        assert indicator is not None
        record_value(
            s,
            indicator=indicator,
            survey_date=REVIEW_DAY,
            entry=Entry("", value=value),
            comment="",
            actor="user:1",
            actor_name="Statistikstelle",
            now=rt.clock.now(),
        )


def test_review_values_become_values_of_the_series_with_the_answer_as_source(
    rt: Runtime, world: World, browser: Browser
) -> None:
    mine = world.mine[0]
    number, report = _indicators(rt, world)
    to_review(rt, [mine])
    raw = link(rt, world, phase=Phase.REVIEW)
    _review(browser, raw, mine, **{f"i{number}": "25,1", f"i{report}": "Zwei Kooperationen"})

    (value,) = _series(rt, number)
    assert (value.survey_date, value.district, value.value) == (REVIEW_DAY, "", 25.1)
    assert value.measure_cycle_id == mine and value.data_request_id is None
    assert value.delivered_by == f"contact:{world.contact_id}"
    assert value.delivered_by_name == "Kontakt 0"
    assert value.delivered_at == rt.clock.now()
    assert value.source == "Zielerreichung 2026: M0001"
    (text,) = _series(rt, report)
    assert (text.value, text.report, text.measure_cycle_id) == (None, "Zwei Kooperationen", mine)

    # The indicator's page names the review the value came from.
    with unit_of_work(rt.sessions) as s:
        add_or_update_user(
            session=s,
            organisation_id=world.org_id,
            email=EMAILS[Role.COORDINATOR],
            role=Role.COORDINATOR,
            password=PASSWORD,
            now=rt.clock.now(),
        )
    coordinator = TestClient(create_app())
    login(coordinator, Role.COORDINATOR)
    page = coordinator.get(f"/kennzahlen/{number}").text
    assert f'<a href="/massnahmen/{mine}">aus der Zielerreichung 2026 zu M0001</a>' in page

    # A correction of the answer (a day later, still before acceptance) corrects that value,
    # at the review's date; nothing is added.
    rt.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    _review(browser, raw, mine, **{f"i{number}": "27", f"i{report}": "Zwei Kooperationen"})
    (value,) = _series(rt, number)
    assert (value.survey_date, value.value, value.revision) == (REVIEW_DAY, 27.0, 2)
    assert value.history[0]["value"] == 25.1
    with rt.sessions() as s:
        review = s.scalars(select(Review).where(Review.measure_cycle_id == mine)).one()
        assert review.indicator_values[f"i{number}"] == "27"


def test_targets_of_the_agreement_stay_targets(rt: Runtime, world: World, browser: Browser) -> None:
    mine = world.mine[0]
    number, _ = _indicators(rt, world)
    raw = link(rt, world)
    done = browser.post(
        raw, {"action": f"submit:{mine}", **agreement(mine), f"m-{mine}-ind-i{number}": "26,5"}
    )
    assert done.status_code == 303, done.text
    assert _series(rt, number) == []


def test_a_value_of_the_source_for_the_same_date_wins_over_the_answer(
    rt: Runtime, world: World, browser: Browser
) -> None:
    mine = world.mine[0]
    number, report = _indicators(rt, world)
    _source_value(rt, number, 23.0)
    to_review(rt, [mine])
    raw = link(rt, world, phase=Phase.REVIEW)
    _review(browser, raw, mine, **{f"i{number}": "25,1", f"i{report}": "Bericht"})
    # Where the source has no value for the date, the answer's joins the series.
    (text,) = _series(rt, report)
    assert (text.report, text.measure_cycle_id) == ("Bericht", mine)

    (value,) = _series(rt, number)
    assert (value.value, value.measure_cycle_id, value.delivered_by_name) == (
        23.0,
        None,
        "Statistikstelle",
    )
    # The answer keeps what the department reported; only the series holds the source's.
    with rt.sessions() as s:
        review = s.scalars(select(Review).where(Review.measure_cycle_id == mine)).one()
        assert review.indicator_values == {f"i{number}": "25.1", f"i{report}": "Bericht"}


def test_a_later_source_value_replaces_the_answer_and_a_correction_leaves_it_alone(
    rt: Runtime, world: World, browser: Browser
) -> None:
    mine = world.mine[0]
    number, _ = _indicators(rt, world)
    to_review(rt, [mine])
    raw = link(rt, world, phase=Phase.REVIEW)
    _review(browser, raw, mine, **{f"i{number}": "25,1"})
    (value,) = _series(rt, number)
    assert (value.value, value.measure_cycle_id) == (25.1, mine)
    _source_value(rt, number, 23.0)
    (value,) = _series(rt, number)
    assert (value.value, value.measure_cycle_id) == (23.0, None)

    _review(browser, raw, mine, **{f"i{number}": "30"})
    (value,) = _series(rt, number)
    assert (value.value, value.measure_cycle_id, value.delivered_by_name) == (
        23.0,
        None,
        "Statistikstelle",
    )
