"""Secrets in URL paths never reach the logs: one redaction list, checked against ``app.routes``
and against uvicorn's real access log for a real password-reset link.
"""

from __future__ import annotations

import logging
import re
import threading
import time

import httpx
import uvicorn
from fastapi.routing import iter_route_contexts

from api.app import create_app
from api.forms import redact as redaction
from tests.dashboard_seed import seed
from tests.live import free_port
from workflow.accounts import Role, issue_password_reset
from workflow.db import unit_of_work
from workflow.runtime import Runtime

TOKEN = "p9BmrkpGrzccSnBqZpR9phJpWnHghNm6MEuGCraEbsQ"
MARK = "[redacted]"
# Path parameters that are credentials themselves (an id such as {token_id} is not).
SECRET_PARAMS = re.compile(r"\{(raw|token)\}")


def test_redact_covers_every_secret_path() -> None:
    redact = redaction.redact
    assert redact(f"GET /passwort/neu/{TOKEN} HTTP/1.1") == f"GET /passwort/neu/{MARK} HTTP/1.1"
    assert redact(f"https://x.example/passwort/neu/{TOKEN}?lang=en") == (
        f"https://x.example/passwort/neu/{MARK}?lang=en"
    )
    assert redact(f"POST /f/{TOKEN}/draft") == f"POST /f/{MARK}/draft"
    assert redact("/passwort/vergessen /konto/tokens/12/widerrufen") == (
        "/passwort/vergessen /konto/tokens/12/widerrufen"
    )
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", f"/passwort/neu/{TOKEN}", "1.1", 303), None,
    )  # fmt: skip
    assert redaction.RedactFormTokens().filter(record) is True
    assert TOKEN not in record.getMessage()


def test_every_route_with_a_secret_in_its_path_is_on_the_list(rt_sqlite: Runtime) -> None:
    secret_routes = [
        route.path
        for route in iter_route_contexts(create_app().routes)
        if SECRET_PARAMS.search(getattr(route, "path", ""))
    ]
    assert "/passwort/neu/{token}" in secret_routes and "/f/{raw}" in secret_routes
    for path in secret_routes:
        prefix = path[: SECRET_PARAMS.search(path).start()]  # type: ignore[union-attr]
        assert prefix in redaction.SECRET_PATHS, path


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_uvicorn_access_log_never_shows_a_reset_token(rt_sqlite: Runtime) -> None:
    s = seed(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as session:
        raw = issue_password_reset(session, s.user_ids[Role.ADMIN], rt_sqlite.clock.now())
    capture = _Capture()
    access = logging.getLogger("uvicorn.access")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="info")
    )  # configures uvicorn's logging, access log on
    access.addHandler(capture)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base) as client:
            page = client.get(f"/passwort/neu/{raw}")
            assert page.status_code == 200 and "csrf_token" in page.text
            client.post(f"/passwort/neu/{raw}?lang=de", data={"password": "kurz"})
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        access.removeHandler(capture)
    reset_lines = [line for line in capture.lines if "/passwort/neu/" in line]
    assert len(reset_lines) >= 2, capture.lines
    assert all(raw not in line for line in capture.lines)
    assert any(f"GET /passwort/neu/{MARK} " in line for line in reset_lines)
    assert any(f"POST /passwort/neu/{MARK}?lang=de " in line for line in reset_lines)
