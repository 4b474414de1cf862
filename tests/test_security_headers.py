"""Security headers on every response, derived from ``app.routes``; the API docs without a CDN.

Every route is called signed out and as an admin; static files, 404s, 405s, a last-resort 500
and an HTML report are checked too. The templates carry no inline script, style or handler.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import make_runtime
from tests.dashboard_seed import csrf_headers, login, seed
from workflow import runtime
from workflow.accounts import Role
from workflow.clock import FrozenClock
from workflow.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
VALUES = {"kind": "annual", "lang": "de", "name": "1-00001.eml", "year": "2026"}
TOKEN = "p9BmrkpGrzccSnBqZpR9phJpWnHghNm6MEuGCraEbsQ"


def assert_secure(response: httpx.Response, where: str, *, https: bool = False) -> None:
    h = response.headers
    csp = h.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, where
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, where
    # Scripts only from this site, or none at all (a report: default-src 'none').
    assert "script-src 'self'" in csp or ("default-src 'none'" in csp and "script-src" not in csp)
    assert h.get("x-frame-options") == "DENY", where
    assert h.get("x-content-type-options") == "nosniff", where
    assert h.get("referrer-policy") in ("no-referrer", "strict-origin-when-cross-origin"), where
    assert ("strict-transport-security" in h) is https, where


def _url(path: str) -> str:
    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        return VALUES.get(name, TOKEN if name in ("raw", "token") else "1")

    return re.sub(r"\{(\w+)(:\w+)?\}", fill, path)


def _routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for route in iter_route_contexts(app.routes):
        for method in sorted(getattr(route, "methods", None) or []):
            if method != "HEAD":
                out.append((method, _url(route.path)))
    return out


def test_every_route_static_file_and_error_carries_the_headers(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite)
    app = create_app()
    routes = _routes(app)
    assert len(routes) > 60 and ("GET", "/docs") in routes
    anonymous = TestClient(app)
    admin = TestClient(app)
    login(admin, Role.ADMIN)
    checked = 0
    for client in (anonymous, admin):
        for method, url in routes:
            response = client.request(
                method,
                url,
                headers=csrf_headers(client),
                json={} if url.startswith("/api/") and method != "GET" else None,
                follow_redirects=False,
            )
            assert_secure(response, f"{method} {url}: {response.status_code}")
            checked += 1
        login(admin, Role.ADMIN)  # the walk posts /logout too
    assert checked == 2 * len(routes)
    extra = {
        "/static/site.css": 200,
        "/static/print.js": 200,
        "/docs/assets/swagger-ui-bundle.js": 200,
        "/static/nope.css": 404,
        "/gibt-es-nicht": 404,
        "/api/v1/gibt-es-nicht": 404,
        "/openapi.json": 200,
    }
    for url, status in extra.items():
        response = admin.get(url)
        assert response.status_code == status, url
        assert_secure(response, url)
    wrong_method = admin.delete("/healthz")
    assert wrong_method.status_code == 405
    assert_secure(wrong_method, "DELETE /healthz")


def test_a_last_resort_500_carries_them_too(clock: FrozenClock, tmp_path: Path) -> None:
    # A database that cannot be opened: /healthz fails with an unhandled error.
    missing = tmp_path / "no-such-folder" / "zielflow.sqlite3"
    make_runtime(f"sqlite:///{missing}", clock, tmp_path)
    try:
        response = TestClient(create_app(), raise_server_exceptions=False).get("/healthz")
    finally:
        runtime.install(None)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert_secure(response, "500")


def test_hsts_only_when_the_site_is_https(
    sqlite_url: str, clock: FrozenClock, tmp_path: Path
) -> None:
    make_runtime(sqlite_url, clock, tmp_path, base_url="https://zielflow.stadt.example.org")
    try:
        client = TestClient(create_app(), base_url="https://testserver")
        for url in ("/healthz", "/login", "/static/site.css", "/gibt-es-nicht"):
            response = client.get(url)
            assert_secure(response, url, https=True)
            assert response.headers["strict-transport-security"].startswith("max-age=")
    finally:
        runtime.install(None)


def test_forms_keep_no_referrer_and_reports_allow_only_their_own_stylesheet(
    rt_sqlite: Runtime,
) -> None:
    client = TestClient(create_app())
    unknown_form = client.get(f"/f/{TOKEN}")
    assert unknown_form.headers["referrer-policy"] == "no-referrer"
    assert_secure(unknown_form, "form")
    seed(rt_sqlite)
    login(client, Role.COORDINATOR)
    assert client.get("/pipeline").headers["referrer-policy"] == "no-referrer"
    report = client.get("/api/v1/reports/status-quo?cycle=2026&format=html")
    assert report.status_code == 200, report.text
    assert_secure(report, "report")
    csp = report.headers["content-security-policy"]
    assert re.search(r"style-src 'sha256-[A-Za-z0-9+/=]+'", csp) and "<style>" in report.text


def test_no_template_has_inline_script_style_or_handler() -> None:
    inline = re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+\s*=|javascript:", re.I
    )
    pages = sorted((ROOT / "api" / "pages").rglob("*.html"))
    assert len(pages) > 20
    found = [
        f"{p.relative_to(ROOT)}: {m.group(0)}"
        for p in pages
        for m in inline.finditer(p.read_text(encoding="utf-8"))
    ]
    assert found == []


@pytest.mark.parametrize(
    ("environment", "setting", "docs_on"),
    [("production", None, False), ("production", True, True), ("test", None, True),
     ("development", False, False)],
)  # fmt: skip
def test_api_docs_are_served_from_the_package_or_switched_off(
    sqlite_url: str,
    clock: FrozenClock,
    tmp_path: Path,
    environment: str,
    setting: bool | None,
    docs_on: bool,
) -> None:
    rt = make_runtime(sqlite_url, clock, tmp_path, api_docs=setting)
    rt.settings.environment = environment  # type: ignore[assignment]
    try:
        client = TestClient(create_app())
        docs = client.get("/docs")
        assert client.get("/openapi.json").status_code == 200  # the schema is part of the contract
        assert client.get("/redoc").status_code == 404
        if not docs_on:
            assert docs.status_code == 404
            assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 404
            return
        assert docs.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
        assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources)
        assert "<script>" not in docs.text
        for source in sources:
            assert client.get(source).status_code == 200, source
    finally:
        runtime.install(None)
