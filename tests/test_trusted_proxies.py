"""``X-Forwarded-For`` counts only from a trusted proxy: ``zielflow serve`` as a real process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.dashboard_seed import seed
from tests.live import free_port
from workflow.forms.ratelimit import MAX_FAILURES
from workflow.runtime import Runtime

TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def _serve(rt: Runtime, tmp_path: Path, *options: str, **env: str) -> Iterator[str]:
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ZIELFLOW_")}
    environ.update(
        ZIELFLOW_DATABASE_URL=rt.settings.database_url,
        ZIELFLOW_VAR_DIR=str(tmp_path / "var"),
        ZIELFLOW_ENVIRONMENT="test",
        **env,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "workflow.cli", "serve", "--port", str(port), *options],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "zielflow serve did not start"
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _failed_logins(base: str, count: int) -> list[int]:
    """``count`` wrong passwords, each for another account and claiming another address."""
    with httpx.Client(base_url=base, timeout=10) as browser:
        token = TOKEN_FIELD.search(browser.get("/login").text)
        assert token is not None
        return [
            browser.post(
                "/login",
                data={
                    "email": f"konto-{i}@musterstadt.example.org",
                    "password": "falsch falsch falsch",
                    "csrf_token": token[1],
                },
                headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
            ).status_code
            for i in range(count)
        ]


def test_forwarded_for_from_an_untrusted_client_counts_against_its_real_address(
    rt_sqlite: Runtime, tmp_path: Path
) -> None:
    seed(rt_sqlite)
    with _serve(rt_sqlite, tmp_path, "--forwarded-allow-ips", "192.0.2.1") as base:
        answers = _failed_logins(base, MAX_FAILURES + 1)
    assert answers == [400] * MAX_FAILURES + [429]


def test_forwarded_for_from_the_trusted_proxy_names_the_client(
    rt_sqlite: Runtime, tmp_path: Path
) -> None:
    seed(rt_sqlite)
    with _serve(rt_sqlite, tmp_path, ZIELFLOW_FORWARDED_ALLOW_IPS="127.0.0.1") as base:
        answers = _failed_logins(base, MAX_FAILURES + 1)
    assert answers == [400] * (MAX_FAILURES + 1)
