"""The command line as an operator uses it: real subprocesses, real files, real exit codes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import httpx
import pytest
import yaml
from typer.main import get_command

from tests.conftest import EXAMPLES
from workflow.cli import app

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIELFLOW_")}
    env.update({"ZIELFLOW_VAR_DIR": str(tmp_path / "var"), **extra})
    return env


def _zielflow(
    tmp_path: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workflow.cli", *args],
        env=_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


def test_upgrade_import_open_export(tmp_path: Path) -> None:
    assert _zielflow(tmp_path, "db", "upgrade").returncode == 0
    first = _zielflow(tmp_path, "import-catalogue", str(EXAMPLES / "catalogue.csv"))
    assert first.returncode == 0, first.stderr
    assert "neu:" in first.stdout
    again = _zielflow(tmp_path, "import-catalogue", str(EXAMPLES / "catalogue.csv"))
    assert "nichts geändert" in again.stdout
    # This year: a year far from today would need --confirm (tests/test_cycle_bounds.py).
    this_year = str(date.today().year)
    opened = _zielflow(tmp_path, "open-cycle", this_year)
    assert opened.returncode == 0, opened.stderr
    assert "36 neu eröffnet" in opened.stdout
    assert "0 neu eröffnet" in _zielflow(tmp_path, "open-cycle", this_year).stdout
    out = tmp_path / "export.csv"
    assert _zielflow(tmp_path, "export-catalogue", str(out)).returncode == 0
    assert out.read_text(encoding="utf-8").splitlines()[0].startswith("handlungsfeld_code,")


def test_bad_catalogue_exits_1_with_every_line(tmp_path: Path) -> None:
    _zielflow(tmp_path, "db", "upgrade")
    bad = tmp_path / "bad.csv"
    lines = (EXAMPLES / "catalogue.csv").read_text(encoding="utf-8").splitlines()
    bad.write_text(
        "\n".join([lines[0], lines[1], lines[2].replace(",1,A1.2,", ",9,A1.2,"), lines[1]]) + "\n",
        encoding="utf-8",
    )
    result = _zielflow(tmp_path, "import-catalogue", str(bad))
    assert result.returncode == 1
    assert "Zeile 3, Spalte ziel_rang" in result.stderr
    assert "Zeile 4, Spalte massnahme_code" in result.stderr
    assert "nichts wurde importiert" in result.stderr


def test_user_add_reads_the_password_from_stdin(tmp_path: Path) -> None:
    _zielflow(tmp_path, "db", "upgrade")
    _zielflow(tmp_path, "import-catalogue", str(EXAMPLES / "catalogue.csv"))
    short = _zielflow(
        tmp_path,
        "user",
        "add",
        "a@stadt.example.org",
        "--role",
        "coordinator",
        "--password-stdin",
        stdin="kurz\n",
    )
    assert short.returncode == 1 and "mindestens 12 Zeichen" in short.stderr
    ok = _zielflow(
        tmp_path,
        "user",
        "add",
        "a@stadt.example.org",
        "--role",
        "steering",
        "--password-stdin",
        stdin="ein langes Passwort\n",
    )
    assert ok.returncode == 0, ok.stderr
    wrong = _zielflow(
        tmp_path,
        "user",
        "add",
        "a@stadt.example.org",
        "--role",
        "boss",
        "--password-stdin",
        stdin="ein langes Passwort\n",
    )
    assert wrong.returncode == 1 and "coordinator, steering, admin" in wrong.stderr


def test_demo_starts_serves_and_stops_on_sigint(tmp_path: Path) -> None:
    port, smtp_port = _free_port(), _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workflow.cli",
            "demo",
            "--port",
            str(port),
            "--smtp-port",
            str(smtp_port),
        ],
        env=_env(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))  # type: ignore[union-attr]
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        start = None
        while time.monotonic() < deadline:
            try:
                start = httpx.get(f"{base}/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert start is not None and start.status_code == 303
        assert start.headers["location"] == "/login"
        login_page = httpx.get(f"{base}/login", timeout=5)
        assert login_page.status_code == 200 and "Anmelden" in login_page.text
        credentials = next(
            (m for line in list(lines) if (m := re.search(r"Anmeldung:\s+(\S+) / (\S+)", line))),
            None,
        )
        assert credentials is not None, "".join(lines)
        with httpx.Client(base_url=base, timeout=10) as browser:
            form = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text)
            assert form is not None
            signed_in = browser.post(
                "/login",
                data={
                    "email": credentials[1],
                    "password": credentials[2],
                    "csrf_token": form[1],
                },
                follow_redirects=True,
            )
            assert signed_in.status_code == 200 and str(signed_in.url).endswith("/pipeline")
            # 36 measures; the Steuerungsgruppe's past meeting dropped one of them, and two
            # are in Umsetzung (the status checks' story, workflow/demo_status_checks.py).
            assert re.search(
                r'data-state="initial_interview">\s*<h2>Erstgespräch <span class="count" '
                r'data-count="33"',
                signed_in.text,
            ), signed_in.text[:2000]
            bodies = browser.get("/gremien")
            assert bodies.status_code == 200
            assert "Steuerungsgruppe Integration" in bodies.text
            assert "Begleitgremium Integrationskonzept" in bodies.text
            register = browser.get("/beschluesse")
            assert register.status_code == 200
            assert "Die Maßnahme wird gestrichen, wie vom Fachbereich vorgeschlagen." in (
                register.text
            )
            mails = browser.get("/mails")
            assert mails.status_code == 200 and "var/mail" in mails.text
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
    output = "".join(lines)
    assert proc.returncode == 0, output
    assert "koordination@musterstadt.example.org" in output
    assert "zielflow-Demo beendet." in output
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=2)


def test_compose_services_use_real_cli_commands() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "redis", "api", "worker", "beat"} <= set(services)
    cli = get_command(app)
    own = [
        s
        for s in services.values()
        if isinstance(s.get("command"), list) and s["command"][:1] == ["zielflow"]
    ]
    assert len(own) >= 4
    for service in own:
        words = service["command"][1:]
        group = cli
        while words and hasattr(group, "commands"):
            assert words[0] in group.commands, f"unknown command {service['command']}"  # type: ignore[attr-defined]
            group = group.commands[words.pop(0)]  # type: ignore[attr-defined]
        assert not hasattr(group, "commands"), f"incomplete command {service['command']}"
        group.make_context(service["command"][1], words)  # parses its options for real
    for name in ("postgres", "redis", "api"):
        assert "healthcheck" in services[name], name
    assert "noeviction" in " ".join(map(str, services["redis"]["command"]))
