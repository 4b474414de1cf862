"""STARTTLS and login against a real aiosmtpd server that insists on both."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests.conftest import make_runtime
from tests.live import free_port
from tests.test_sweep import seed
from workflow import runtime
from workflow.clock import FrozenClock

USER, PASSWORD = "zielflow", "ein-smtp-passwort"


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok)


@pytest.fixture
def tls_sink(tmp_path: Path) -> Iterator[tuple[int, CapturingHandler, Path]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler, port = CapturingHandler(), free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_require_tls=True,
    )
    controller.start()
    yield port, handler, cert
    controller.stop()


def test_starttls_and_login(
    tls_sink: tuple[int, CapturingHandler, Path],
    sqlite_url: str,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    port, handler, cert = tls_sink
    rt = make_runtime(
        sqlite_url,
        clock,
        tmp_path,
        smtp_port=port,
        smtp_tls="starttls",
        smtp_user=USER,
        smtp_password=PASSWORD,
        smtp_ca_file=cert,
    )
    seed(rt, clock, measures=2, contacts=2)
    report = send_pending(rt)
    assert (report.emails_sent, report.retried, report.dead) == (2, 0, 0)
    assert len(handler.messages) == 2
    runtime.install(None)


def test_wrong_password_is_not_delivered(
    tls_sink: tuple[int, CapturingHandler, Path],
    sqlite_url: str,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    port, handler, cert = tls_sink
    rt = make_runtime(
        sqlite_url,
        clock,
        tmp_path,
        smtp_port=port,
        smtp_tls="starttls",
        smtp_user=USER,
        smtp_password="falsch",
        smtp_timeout_seconds=3,
        smtp_ca_file=cert,
    )
    seed(rt, clock, measures=1)
    report = send_pending(rt)
    assert (report.emails_sent, report.retried, report.dead) == (0, 1, 0)  # kept, not dead-lettered
    assert handler.messages == []
    runtime.install(None)


def test_plain_connection_is_refused_by_a_server_that_requires_tls(
    tls_sink: tuple[int, CapturingHandler, Path],
    sqlite_url: str,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    port, handler, _ = tls_sink
    rt = make_runtime(sqlite_url, clock, tmp_path, smtp_port=port, smtp_tls="none")
    seed(rt, clock, measures=1)
    assert send_pending(rt).emails_sent == 0 and handler.messages == []
    runtime.install(None)
