"""``zielflow user add`` and ``user deactivate`` as an operator runs them: real processes, real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.conftest import EXAMPLES

PASSWORD = "ein langes Passwort\n"
ADDRESS = "leitung@musterstadt.example.org"


def _zielflow(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIELFLOW_")}
    env["ZIELFLOW_VAR_DIR"] = str(tmp_path / "var")
    return subprocess.run(
        [sys.executable, "-m", "workflow.cli", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


def _account(tmp_path: Path, email: str) -> tuple[str, str, str, bool] | None:
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'zielflow.sqlite3'}")
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT o.slug, u.role, u.password_hash, u.active FROM app_user u "
                "JOIN organisation o ON o.id = u.organisation_id WHERE u.email = :e"
            ),
            {"e": email},
        ).first()
    engine.dispose()
    return None if row is None else (row[0], row[1], row[2], bool(row[3]))


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def _two_organisations(tmp_path: Path) -> None:
    assert _zielflow(tmp_path, "db", "upgrade").returncode == 0
    for slug in ("musterstadt", "nachbarstadt"):
        done = _zielflow(
            tmp_path, "import-catalogue", str(EXAMPLES / "catalogue.csv"), "--org", slug
        )
        assert done.returncode == 0, done.stderr


def test_user_add_never_changes_another_organisations_account(tmp_path: Path) -> None:
    _two_organisations(tmp_path)
    add = ("user", "add", ADDRESS, "--password-stdin")
    created = _zielflow(tmp_path, *add, "--role", "admin", "--org", "musterstadt", stdin=PASSWORD)
    assert created.returncode == 0, created.stderr
    before = _account(tmp_path, ADDRESS)
    assert before is not None and before[:2] == ("musterstadt", "admin")

    refused = _zielflow(
        tmp_path,
        *add,
        "--role",
        "steering",
        "--org",
        "nachbarstadt",
        stdin="ein anderes Passwort\n",
    )
    line = _one_line(refused)
    assert "anderen Organisation" in line and ADDRESS in line
    assert _account(tmp_path, ADDRESS) == before  # role, password and organisation unchanged

    # In its own organisation the account is updated as before.
    updated = _zielflow(
        tmp_path, *add, "--role", "coordinator", "--org", "musterstadt", stdin=PASSWORD
    )
    assert updated.returncode == 0, updated.stderr
    after = _account(tmp_path, ADDRESS)
    assert after is not None and after[1] == "coordinator"


def test_user_add_validates_the_address(tmp_path: Path) -> None:
    _two_organisations(tmp_path)
    for wrong in ("keine-adresse", "a@b", "zwei worte@stadt.example.org", "a@@stadt.example.org"):
        result = _zielflow(
            tmp_path,
            "user",
            "add",
            wrong,
            "--role",
            "steering",
            "--org",
            "musterstadt",
            "--password-stdin",
            stdin=PASSWORD,
        )
        assert "keine gültige E-Mail-Adresse" in _one_line(result)
        assert _account(tmp_path, wrong.strip().lower()) is None


def test_user_deactivate(tmp_path: Path) -> None:
    _two_organisations(tmp_path)
    created = _zielflow(
        tmp_path,
        "user",
        "add",
        " Leitung@Musterstadt.example.org ",
        "--role",
        "coordinator",
        "--org",
        "musterstadt",
        "--password-stdin",
        stdin=PASSWORD,
    )
    assert created.returncode == 0, created.stderr
    done = _zielflow(tmp_path, "user", "deactivate", ADDRESS)
    assert done.returncode == 0, done.stderr
    assert "deaktiviert" in done.stdout
    account = _account(tmp_path, ADDRESS)
    assert account is not None and account[3] is False
    again = _zielflow(tmp_path, "user", "deactivate", ADDRESS)
    assert again.returncode == 0 and "schon deaktiviert" in again.stdout
    unknown = _zielflow(tmp_path, "user", "deactivate", "niemand@musterstadt.example.org")
    assert "Kein Konto" in _one_line(unknown)
    elsewhere = _zielflow(tmp_path, "user", "deactivate", ADDRESS, "--org", "nachbarstadt")
    assert "anderen Organisation" in _one_line(elsewhere)
