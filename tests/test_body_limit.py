"""Request bodies over the limit are refused with 413 before parsing and before the login check.

Declared lengths are refused up front, chunked bodies while they stream (also against a real
uvicorn over a raw socket); multipart uploads have their own limit; a form field over 1 MB is
a 4xx page, never a 500.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import make_runtime
from tests.dashboard_seed import csrf_headers, login, seed
from tests.form_support import build_world, link
from tests.live import start_live_server
from workflow import runtime
from workflow.accounts import Role
from workflow.clock import FrozenClock
from workflow.runtime import Runtime

BODY = 64 * 1024
UPLOAD = 256 * 1024
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def small(sqlite_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime with small limits, so the tests send kilobytes, not megabytes."""
    yield make_runtime(sqlite_url, clock, tmp_path, max_body_bytes=BODY, max_upload_bytes=UPLOAD)
    runtime.install(None)


def _urlencoded(data: dict[str, str]) -> bytes:
    return urlencode(data).encode()


def _chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


def test_a_declared_length_over_the_limit_is_refused_before_anything_else(
    small: Runtime,
) -> None:
    client = TestClient(create_app())
    body = b'{"event": "' + b"x" * BODY + b'", "version": 1}'
    # Signed out: the answer is 413, not 401 -- the body is judged before the login check.
    response = client.post("/api/v1/measure-cycles/1/transitions", content=body,
                           headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large" and error["details"] == {"max_bytes": BODY}
    assert error["message"].startswith("Die Anfrage ist zu groß")
    # Nothing behind the limit ran: no session, no CSRF cookie was handed out.
    assert "set-cookie" not in response.headers
    # A route that takes no body at all is refused the same way.
    assert client.post("/logout", content=body).status_code == 413
    # Just under the limit the request goes on to the login check as before.
    fits = client.post("/api/v1/measure-cycles/1/transitions", content=b"{}",
                       headers={"Content-Type": "application/json"})  # fmt: skip
    assert fits.status_code == 401


def test_a_streamed_body_is_counted_as_it_arrives(small: Runtime) -> None:
    seed(small)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    response = client.post(
        "/api/v1/measure-cycles/1/transitions",
        content=_chunks(4 * BODY),  # no Content-Length: chunked
        headers={"Content-Type": "application/json", **csrf_headers(client)},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    browser = client.post(
        "/erstgespraech/1",
        content=_chunks(4 * BODY),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "text/html",
            **csrf_headers(client),
        },
    )
    assert browser.status_code == 413 and "Die Anfrage ist zu groß" in browser.text


def test_uploads_have_their_own_larger_limit(small: Runtime) -> None:
    seed(small)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    headers = {**csrf_headers(client), "Accept": "text/html"}
    form = {"csrf_token": headers["X-CSRF-Token"]}
    # Over the body limit, under the upload limit: multipart passes the limit (the route then
    # answers as it would: this route reads no file, so nothing is recorded).
    file = {"datei": ("katalog.csv", b"a" * (2 * BODY), "text/csv")}
    fits = client.post("/erstgespraech/1", data=form, files=file, headers=headers)
    assert fits.status_code != 413 and fits.status_code < 500
    too_big = {"datei": ("katalog.csv", b"a" * UPLOAD, "text/csv")}
    refused = client.post("/erstgespraech/1", data=form, files=too_big, headers=headers)
    assert refused.status_code == 413 and "Die Anfrage ist zu groß" in refused.text


def test_a_form_field_over_one_megabyte_is_a_friendly_4xx(rt_sqlite: Runtime) -> None:
    raw = link(rt_sqlite, build_world(rt_sqlite))
    client = TestClient(create_app())
    token = CSRF_FIELD.search(client.get(f"/f/{raw}").text)
    assert token is not None
    big = "x" * 1_500_000
    browser = {"Accept": "text/html,application/xhtml+xml"}
    for url in (f"/f/{raw}", f"/f/{raw}/draft"):
        data = {"csrf_token": token[1], "reason": big}
        encoded = client.post(url, data=data, headers=browser)
        assert encoded.status_code == 413, url  # over ZIELFLOW_MAX_BODY_BYTES (1 MiB)
        assert "Die Eingabe war zu umfangreich" in encoded.text
        assert encoded.headers["referrer-policy"] == "no-referrer"
        # The same body streamed without a length: refused while it is read.
        streamed = client.post(
            url,
            content=iter([_urlencoded(data)]),
            headers={**browser, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert streamed.status_code == 413 and "Die Eingabe war zu umfangreich" in streamed.text
        # Multipart is under the upload limit, but the field is over the parser's 1 MB.
        multipart = client.post(
            url, data={"csrf_token": token[1]}, files={"reason": (None, big)}, headers=browser
        )
        assert multipart.status_code == 400, url
        assert "Die Eingabe war zu umfangreich" in multipart.text
    seed(rt_sqlite)
    login(client, Role.COORDINATOR)
    page = client.post(
        "/erstgespraech/1",
        data={"csrf_token": csrf_headers(client)["X-CSRF-Token"]},
        files={"notes": (None, big)},
        headers={"Accept": "text/html"},
    )
    assert page.status_code == 400 and "Die Anfrage ist fehlerhaft." in page.text


def test_a_real_server_stops_reading_a_chunked_body_at_the_limit(small: Runtime) -> None:
    server = start_live_server()
    try:
        host, port = server.url.removeprefix("http://").split(":")
        sent = 0
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /api/v1/measure-cycles/1/transitions HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * 64 * 1024)
            sock.setblocking(False)
            answer = b""
            deadline = time.monotonic() + 20
            # Keep sending (at most 64 MiB) until the server answers; it must not wait for all.
            while sent < 64 * 1024 * 1024 and time.monotonic() < deadline:
                try:
                    answer += sock.recv(65536)
                    if answer:
                        break
                except BlockingIOError:
                    pass
                try:
                    sent += sock.send(chunk)
                except BlockingIOError:
                    time.sleep(0.01)
                except OSError:
                    break  # the server closed the connection after answering
            sock.setblocking(True)
            while b"\r\n\r\n" not in answer:
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"payload_too_large" in answer
        # Far less than the 64 MiB on offer was taken in (limit plus socket buffers).
        assert sent < 16 * 1024 * 1024, sent
    finally:
        server.stop()
