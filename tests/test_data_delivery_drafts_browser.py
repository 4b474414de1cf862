"""The data-delivery form's autosave in Chromium: typed, saved by the page's script, there again
after a reload; the page with its hand-over section stays axe-clean."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import make_runtime
from tests.live import LiveServer, start_live_server
from tests.test_data_delivery_drafts import build
from workflow import runtime
from workflow.clock import FrozenClock
from workflow.indicators.models import DataDraft
from workflow.runtime import Runtime

pytestmark = pytest.mark.browser


@pytest.fixture
def live(sqlite_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[tuple[Runtime, str]]:
    rt = make_runtime(sqlite_url, clock, tmp_path)
    server: LiveServer = start_live_server()
    rt.settings.base_url = server.url
    yield rt, server.url
    server.stop()
    runtime.install(None)
    rt.dispose()


def test_the_data_form_saves_what_was_typed_by_itself(
    live: tuple[Runtime, str], browser: Any
) -> None:
    rt, url = live
    world = build(rt)
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    page.goto(f"{url}/f/{world.raw}")
    section = page.locator("section.measure").filter(has_text="B-K1")
    section.get_by_label("Wert insgesamt (Gesamtstadt)").fill("17")
    status = page.locator("#autosave-status")
    status.filter(has_text="Entwurf gespeichert um").wait_for(timeout=10_000)
    with rt.sessions() as s:
        (draft,) = s.scalars(select(DataDraft)).all()
        assert draft.data_request_id == world.mine and draft.answers["value"] == "17"
    page.reload()
    assert section.get_by_label("Wert insgesamt (Gesamtstadt)").input_value() == "17"
    assert page.get_by_role("heading", name="Formular an eine Kollegin").count() == 1

    from axe_playwright_python.sync_playwright import Axe

    violations = [
        v["id"]
        for v in Axe().run(page).response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert violations == []
    context.close()
