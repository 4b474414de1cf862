"""Form tokens never reach the logs: the redaction filter, and uvicorn's real access log."""

from __future__ import annotations

import logging
import threading
import time

import httpx
import uvicorn

from api.forms.redact import REDACTED, RedactFormTokens, redact
from tests.form_support import build_world, link
from tests.live import free_port
from workflow.runtime import Runtime

TOKEN = "p9BmrkpGrzccSnBqZpR9phJpWnHghNm6MEuGCraEbsQ"


def test_redact_rewrites_paths_and_urls() -> None:
    assert redact(f"GET /f/{TOKEN}/danke?lang=de") == f"GET {REDACTED}/danke?lang=de"
    assert redact(f"https://x.example/f/{TOKEN}") == f"https://x.example{REDACTED}"
    assert redact("/static/forms.css") == "/static/forms.css"


def test_filter_redacts_message_and_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/f/{TOKEN}", "1.1", 200), None,
    )  # fmt: skip
    assert RedactFormTokens().filter(record) is True
    assert TOKEN not in record.getMessage() and REDACTED in record.getMessage()


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_uvicorn_access_log_never_shows_the_token(rt_sqlite: Runtime) -> None:
    from api.app import create_app

    raw = link(rt_sqlite, build_world(rt_sqlite))
    capture = _Capture()
    access = logging.getLogger("uvicorn.access")
    port = free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="info")
    server = uvicorn.Server(config)  # configures uvicorn's logging, access log on
    access.addHandler(capture)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        response = httpx.get(f"http://127.0.0.1:{port}/f/{raw}")
        assert response.status_code == 200
        httpx.get(f"http://127.0.0.1:{port}/f/{raw}/danke")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        access.removeHandler(capture)
    form_lines = [line for line in capture.lines if "/f/" in line]
    assert len(form_lines) >= 2, capture.lines
    assert all(raw not in line for line in capture.lines)
    assert any(f"GET {REDACTED} " in line for line in form_lines)
