"""The Content-Security-Policy in real headless Chromium: pages work under it and never break it.

Each visited page reports every ``securitypolicyviolation`` and every request that leaves the
test server; the steering page's print button, the contact form's autosave and the API docs
(Swagger UI from the package, no CDN) must work with no violation at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import OUTPUT
from tests.dashboard_seed import EMAILS, PASSWORD, seed
from tests.form_support import build_world, link
from tests.live import LiveServer, start_live_server
from workflow.accounts import Role
from workflow.runtime import Runtime

pytestmark = pytest.mark.browser

WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
window.__printed = 0;
window.print = function () { window.__printed += 1; };
"""


@pytest.fixture
def live(rt_sqlite: Runtime) -> Iterator[tuple[Runtime, LiveServer]]:
    server = start_live_server()
    # The forms build their links from ZIELFLOW_BASE_URL: here that is the live server.
    rt_sqlite.settings.base_url = server.url
    yield rt_sqlite, server
    server.stop()


def _watched(browser: Any, server: LiveServer) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(locale="de-DE", viewport={"width": 1300, "height": 900})
    context.add_init_script(WATCH)
    elsewhere: list[str] = []
    own = urlsplit(server.url).netloc

    def on_request(request: Any) -> None:
        if urlsplit(request.url).netloc != own and not request.url.startswith("data:"):
            elsewhere.append(request.url)

    context.on("request", on_request)
    return context, context.new_page(), elsewhere


def _violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__violations"))


def test_dashboard_pages_work_under_the_policy(
    browser: Any, live: tuple[Runtime, LiveServer]
) -> None:
    rt, server = live
    s = seed(rt)
    context, page, elsewhere = _watched(browser, server)
    page.goto(f"{server.url}/login")
    page.get_by_label("E-Mail-Adresse").fill(EMAILS[Role.COORDINATOR])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{server.url}/pipeline")
    seen: dict[str, list[str]] = {}
    for path in ("/pipeline", "/ueberfaellig", "/fachbereiche", "/erstgespraech",
                 f"/massnahmen/{s.item_ids[0]}", "/kennzahlen", "/berichte", "/konto"):  # fmt: skip
        response = page.goto(f"{server.url}{path}")
        assert response is not None and response.status == 200, path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        seen[path] = _violations(page)
    page.goto(f"{server.url}/steuerung")
    page.get_by_role("button", name="Drucken").click()
    page.wait_for_function("window.__printed === 1")
    seen["/steuerung"] = _violations(page)
    # An HTML report keeps its inline stylesheet: the hash in its own policy allows it.
    page.goto(f"{server.url}/api/v1/reports/status-quo?cycle=2026&format=html")
    colour = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
    seen["report"] = _violations(page)
    assert {path: v for path, v in seen.items() if v} == {}
    assert colour and elsewhere == []
    context.close()


def test_the_contact_form_autosaves_under_the_policy(
    browser: Any, live: tuple[Runtime, LiveServer]
) -> None:
    rt, server = live
    raw = link(rt, build_world(rt))
    context, page, elsewhere = _watched(browser, server)
    page.goto(f"{server.url}/f/{raw}")
    with page.expect_response(lambda r: r.url.endswith("/draft"), timeout=15_000) as saved:
        page.locator("#answers textarea").first.fill("Sprachkurse an zwei weiteren Schulen")
    assert saved.value.status == 200
    page.wait_for_function(
        "document.getElementById('autosave-status').textContent.indexOf('gespeichert um') >= 0"
    )
    assert _violations(page) == [] and elsewhere == []
    context.close()


def test_api_docs_come_from_the_package_not_a_cdn(
    browser: Any, live: tuple[Runtime, LiveServer]
) -> None:
    _rt, server = live
    context, page, elsewhere = _watched(browser, server)
    page.goto(f"{server.url}/docs")
    page.get_by_text("/api/v1/pipeline").first.wait_for(timeout=30_000)
    page.get_by_text("/api/v1/pipeline").first.click()  # open it: parameters, responses
    page.get_by_text("Try it out").first.wait_for()
    out = Path(OUTPUT)
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "api-docs.png"))
    assert _violations(page) == [] and elsewhere == []
    context.close()
