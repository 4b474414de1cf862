"""The Integrationskonferenz's survey on the day: one answer per device, only while open, and
the indicator's value equal to the answers (both databases); the public pages by a test
client; three phones in real Chromium answering through /k/<code>, then the indicator page
showing the counts and the mean, axe-core clean."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.dashboard.conference_survey import router as dashboard_router
from api.forms.conference_survey import COOKIE
from api.forms.conference_survey import router as survey_router
from tests import factories
from tests.conftest import BERLIN, OUTPUT, make_runtime
from tests.dashboard_seed import EMAILS, PASSWORD, login
from tests.live import CHROMIUM, CHROMIUM_ARGS, LiveServer, free_port
from workflow import runtime
from workflow.accounts import Role, add_or_update_user
from workflow.catalogue.models import Field
from workflow.clock import FrozenClock
from workflow.conference.models import Conference, ConferenceQuestion
from workflow.conference.survey import (
    FREQUENCY,
    Posted,
    SurveyRefused,
    close_survey,
    open_survey,
    results,
    set_up_questions,
    submit,
)
from workflow.db import unit_of_work
from workflow.indicators.models import IndicatorValue
from workflow.indicators.service import save_indicator
from workflow.runtime import Runtime

HELD_ON = date(2026, 3, 2)
CODE = "ik26abc"


def _world(rt: Runtime) -> tuple[int, list[int]]:
    """An organisation with one field, two survey indicators and today's conference with its
    questions set up (the second indicator on the frequency scale) and the survey open."""
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s, "musterstadt")
        add_or_update_user(
            session=s,
            organisation_id=org.id,
            email=EMAILS[Role.COORDINATOR],
            role=Role.COORDINATOR,
            password=PASSWORD,
            now=now,
        )
        s.add(Field(organisation_id=org.id, code="B", name="Bildung und Sprache"))
        ids = []
        for code, statement in (
            ("C-W1", "Der interkulturelle Austausch ist wichtig"),
            ("C-W2", "Ich nehme an Angeboten der Begegnung teil"),
        ):
            indicator, _ = save_indicator(
                s,
                organisation_id=org.id,
                code=code,
                values={"statement": statement, "unit": "scale", "direction": "up"},
                goal_ids=None,
                measure_ids=None,
                now=now,
            )
            ids.append(indicator.id)
        conference = Conference(
            organisation_id=org.id,
            title="Integrationskonferenz 2026",
            held_on=HELD_ON,
            survey_code=CODE,
            created_at=now,
            created_by="test",
        )
        s.add(conference)
        s.flush()
        set_up_questions(s, conference, {ids[1]: FREQUENCY})
        open_survey(s, conference, now)
        return conference.id, ids


def _questions(rt: Runtime, conference_id: int) -> list[ConferenceQuestion]:
    with rt.sessions() as s:
        return list(
            s.scalars(
                select(ConferenceQuestion)
                .where(ConferenceQuestion.conference_id == conference_id)
                .order_by(ConferenceQuestion.position)
            )
        )


def _answer(rt: Runtime, conference_id: int, token: str, points: dict[int, str]) -> None:
    text_q = [q.id for q in _questions(rt, conference_id) if q.kind == "text"]
    with unit_of_work(rt.sessions) as s:
        submit(
            s,
            conference_id=conference_id,
            token=token,
            posted=Posted(points, {text_q[0]: f"Gut war {token}"}),
            now=rt.clock.now(),
        )


def _total(rt: Runtime, indicator_id: int) -> IndicatorValue | None:
    with rt.sessions() as s:
        return s.scalars(
            select(IndicatorValue).where(
                IndicatorValue.indicator_id == indicator_id,
                IndicatorValue.district == "",
                IndicatorValue.cell == "",
                IndicatorValue.survey_date == HELD_ON,
            )
        ).first()


def test_questions_per_indicator_and_field_with_their_scales(rt: Runtime) -> None:
    conference_id, ids = _world(rt)
    questions = _questions(rt, conference_id)
    assert [(q.kind, q.indicator_id) for q in questions] == [
        ("scale", ids[0]),
        ("scale", ids[1]),
        ("text", None),
    ]
    assert questions[0].scale_labels[0] == "sehr wichtig"
    assert questions[0].scale_labels[4] == "überhaupt nicht wichtig"
    assert questions[1].scale_labels == list(FREQUENCY)
    assert questions[2].text == "Was ist gut gelaufen?" and questions[2].field_id is not None


def test_counts_and_mean_in_the_indicator_equal_the_answers(rt: Runtime) -> None:
    conference_id, ids = _world(rt)
    first, second, _ = (q.id for q in _questions(rt, conference_id))
    for token, points in (
        ("gerät-a", {first: "1", second: "5"}),
        ("gerät-b", {first: "2", second: "4"}),
        ("gerät-c", {first: "2"}),  # no answer to the second: "keine Angabe"
    ):
        _answer(rt, conference_id, token, points)
    value = _total(rt, ids[0])
    assert value is not None
    assert value.counts == [1, 2, 0, 0, 0]
    assert value.value == pytest.approx(5 / 3)
    assert value.source == "Integrationskonferenz am 02.03.2026"
    assert value.delivered_by == "survey"
    other = _total(rt, ids[1])
    assert other is not None and other.counts == [0, 0, 0, 1, 1] and other.value == 4.5
    with rt.sessions() as s:
        conference = s.get(Conference, conference_id)
        assert conference is not None
        found = results(s, conference)
    assert found.responses == 3
    assert found.questions[0].counts == (1, 2, 0, 0, 0)
    assert sorted(found.questions[2].texts) == [f"Gut war gerät-{x}" for x in "abc"]


def test_a_device_answers_once_and_only_while_the_survey_is_open(
    rt: Runtime, clock: FrozenClock
) -> None:
    conference_id, ids = _world(rt)
    first = _questions(rt, conference_id)[0].id
    _answer(rt, conference_id, "gerät-a", {first: "3"})
    with pytest.raises(SurveyRefused) as twice:
        _answer(rt, conference_id, "gerät-a", {first: "1"})
    assert twice.value.code == "already_answered"
    with pytest.raises(SurveyRefused) as invalid:
        _answer(rt, conference_id, "gerät-b", {first: "6"})
    assert invalid.value.code == "answer_invalid"
    with unit_of_work(rt.sessions) as s:
        conference = s.get(Conference, conference_id)
        assert conference is not None
        close_survey(s, conference, clock.now())
    clock.set(clock.now() + timedelta(minutes=1))
    with pytest.raises(SurveyRefused) as closed:
        _answer(rt, conference_id, "gerät-c", {first: "1"})
    assert closed.value.code == "closed"
    value = _total(rt, ids[0])
    assert value is not None and value.counts == [0, 0, 1, 0, 0]


def test_the_commands_close_the_survey_and_print_the_results(rt: Runtime) -> None:
    import json

    import typer
    from typer.testing import CliRunner

    from workflow.conference.survey_cli import register

    conference_id, _ = _world(rt)
    first = _questions(rt, conference_id)[0].id
    _answer(rt, conference_id, "gerät-a", {first: "4"})
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    closed = runner.invoke(app, ["survey", str(conference_id), "--close"])
    assert closed.exit_code == 0 and "beendet" in closed.output
    printed = runner.invoke(app, ["results", str(conference_id), "--json"])
    assert printed.exit_code == 0, printed.output
    shown = json.loads(printed.output)
    assert shown["state"] == "closed" and shown["responses"] == 1
    assert shown["questions"][0]["counts"] == [0, 0, 0, 1, 0] and shown["questions"][0]["mean"] == 4
    text = runner.invoke(app, ["results", str(conference_id)])
    assert "1 Antwort" in text.output and "Mittelwert 4,00" in text.output
    unknown = runner.invoke(app, ["survey", "999", "--open"])
    assert unknown.exit_code == 1


# -- the pages ----------------------------------------------------------------------------


def _app() -> FastAPI:
    """The app with the survey's routers, until the lead registers them."""
    app = create_app()
    if not any(getattr(r, "path", "") == "/k/{code}" for r in app.routes):
        app.include_router(survey_router)
        app.include_router(dashboard_router)
    return app


def _post(client: TestClient, choice: str, first: int, csrf: str) -> Any:
    return client.post(
        f"/k/{CODE}", data={"csrf_token": csrf, f"q-{first}": choice}, follow_redirects=False
    )


def test_the_public_pages_keep_one_answer_per_device(rt_sqlite: Runtime) -> None:
    rt = rt_sqlite
    conference_id, _ = _world(rt)
    first = _questions(rt, conference_id)[0].id
    with TestClient(_app()) as phone:
        opened = phone.get(f"/k/{CODE}")
        assert opened.status_code == 200
        cookie = opened.headers["set-cookie"]
        assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "Path=/k/" in cookie
        assert "samesite=lax" in cookie.lower()
        assert "sehr wichtig" in opened.text and "eigentlich nie" in opened.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', opened.text)
        assert csrf is not None
        answered = _post(phone, "2", first, csrf[1])
        assert answered.status_code == 303 and answered.headers["location"].endswith("/danke")
        again = _post(phone, "1", first, csrf[1])
        assert again.status_code == 409
        assert "bereits" in again.text
        assert "bereits" in phone.get(f"/k/{CODE}").text
    with rt.sessions() as s:
        stored = s.scalars(select(IndicatorValue.counts)).all()
        hashes = s.scalars(select(Conference.survey_code)).all()
    assert stored == [[0, 1, 0, 0, 0]] and hashes == [CODE]
    with TestClient(_app()) as stranger:
        assert stranger.get("/k/unbekannt").status_code == 404
        with unit_of_work(rt.sessions) as s:
            conference = s.get(Conference, conference_id)
            assert conference is not None
            close_survey(s, conference, rt.clock.now())
        rt.clock.set(rt.clock.now() + timedelta(minutes=1))  # type: ignore[attr-defined]
        closed = stranger.get(f"/k/{CODE}")
        assert closed.status_code == 410 and "beendet" in closed.text
    with TestClient(_app()) as coordinator:
        login(coordinator, Role.COORDINATOR)
        page = coordinator.get(f"/konferenzen/{conference_id}/befragung")
        assert page.status_code == 200
        assert "<svg" in page.text and f"/k/{CODE}" in page.text
        qr = coordinator.get(f"/konferenzen/{conference_id}/qr.svg")
        assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")


# -- three phones in Chromium -------------------------------------------------------------


@pytest.fixture
def live(sqlite_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[tuple[Runtime, str]]:
    import threading
    import time

    import uvicorn

    rt = make_runtime(sqlite_url, clock, tmp_path)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "live server did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    rt.settings.base_url = url
    yield rt, url
    LiveServer(url, server, thread).stop()
    runtime.install(None)
    rt.dispose()


def _axe(page: Any) -> list[Any]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in found
        if v["impact"] in {"serious", "critical"}
    ]


def _three_phones(url: str, choices: list[tuple[str, str]], indicator_id: int) -> dict[str, Any]:
    """In its own thread: Playwright's sync API leaves an event loop behind in the thread it
    runs in, which would break a later test's ``asyncio.run``."""
    from playwright.sync_api import sync_playwright

    seen: dict[str, Any] = {"widths": [], "axe": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for n, (first, second) in enumerate(choices):
            context = browser.new_context(locale="de-DE", viewport={"width": 375, "height": 800})
            page = context.new_page()
            page.goto(f"{url}/k/{CODE}")
            if n == 0:
                seen["axe"] = _axe(page)
                OUTPUT.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(OUTPUT / "conference-survey.png"), full_page=True)
            seen["widths"].append(page.evaluate("document.documentElement.scrollWidth"))
            page.get_by_role(
                "group", name="Der interkulturelle Austausch ist wichtig"
            ).get_by_label(first, exact=True).check()
            page.get_by_role(
                "group", name="Ich nehme an Angeboten der Begegnung teil"
            ).get_by_label(second, exact=True).check()
            page.get_by_label(re.compile("Was ist gut gelaufen")).fill(f"Gespräche am Tisch {n}")
            page.get_by_role("button", name="Antworten absenden").click()
            page.wait_for_url(f"{url}/k/{CODE}/danke")
            seen.setdefault("thanks", []).append(page.locator("h1").inner_text())
            context.close()
        context = browser.new_context(locale="de-DE")
        page = context.new_page()
        page.goto(f"{url}/login")
        page.get_by_label("E-Mail-Adresse").fill(EMAILS[Role.COORDINATOR])
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url(f"{url}/pipeline")
        page.goto(f"{url}/kennzahlen/{indicator_id}")
        seen["indicator"] = page.locator("main").inner_text()
        context.close()
        browser.close()
    return seen


@pytest.mark.browser
def test_three_phones_answer_and_the_indicator_shows_counts_and_mean(
    live: tuple[Runtime, str],
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium not installed")
    rt, url = live
    rt.clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN))  # type: ignore[attr-defined]
    _, ids = _world(rt)
    choices = [("sehr wichtig", "sehr oft"), ("wichtig", "oft"), ("wichtig", "sehr oft")]
    with ThreadPoolExecutor(max_workers=1) as pool:
        seen = pool.submit(_three_phones, url, choices, ids[0]).result(timeout=180)
    assert seen["axe"] == []
    assert all(w <= 375 for w in seen["widths"]), seen["widths"]
    assert len(seen["thanks"]) == 3
    # 1 × "sehr wichtig" (1), 2 × "wichtig" (2): mean 5/3.
    assert "1,67 (1 / 2 / 0 / 0 / 0)" in seen["indicator"]
    assert "Integrationskonferenz am 02.03.2026" in seen["indicator"]
    value = _total(rt, ids[1])
    assert value is not None and value.counts == [0, 0, 0, 1, 2]
