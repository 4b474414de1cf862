"""The simulation of the example catalogue: every path, every email rendered, stable per seed."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from tests.conftest import EXAMPLES
from workflow.simulate import run_simulation

EVERY_KIND = {
    "invitation_agreement",
    "reminder",
    "final_reminder",
    "escalation_head",
    "digest",
    "confirmation_agreement",
    "review_request",
    "confirmation_review",
    "deadline_extended",
    # Indicator data deliveries (examples/indicators.csv comes with the example catalogue).
    "data_request",
    "data_reminder",
    "data_final_reminder",
    "data_escalation_head",
    "confirmation_data",
}


def _run(tmp_path: Path, name: str, seed: int = 7, days: int = 500) -> dict[str, object]:
    return run_simulation(
        database_url=f"sqlite:///{tmp_path / name}.sqlite3",
        start=date(2026, 1, 5),
        days=days,
        seed=seed,
        catalogue=EXAMPLES / "catalogue.csv",
        var_dir=tmp_path / "var",
        indicators=EXAMPLES / "indicators.csv",
    )


def test_a_cycle_and_a_half_shows_every_path_and_is_stable(tmp_path: Path) -> None:
    first = _run(tmp_path, "a")
    assert _run(tmp_path, "b") == first  # the same seed gives the same summary
    emails: dict[str, int] = first["emails"]  # type: ignore[assignment]
    assert set(emails) >= EVERY_KIND, emails
    assert first["render_failures"] == 0
    assert first["outbox_status"] == {
        "sent": first["emails_total"] and first["outbox_status"]["sent"],  # type: ignore[index]
        "included": first["escalations"]["steering_group"],
    }  # type: ignore[index]
    states: dict[str, int] = first["states_at_end"]  # type: ignore[assignment]
    # Every measure of the catalogue took part; the first cycle's survivors were carried forward.
    assert first["measures"] == 36
    assert states.get("carried_forward", 0) > 0 and states.get("dropped", 0) > 0
    assert states.get("deferred", 0) > 0
    # Plausible volumes: reminders go to fewer than all, a few escalate, nobody gets spammed.
    assert emails["invitation_agreement"] >= 36
    assert 0 < emails["escalation_head"] < 36
    assert emails["reminder"] < 4 * emails["invitation_agreement"]
    assert first["transitions"] >= 36 * 3
    # The data sources were asked on their rhythm dates; most delivered, a few are chased.
    data: dict[str, int] = first["data_requests"]  # type: ignore[assignment]
    assert data["opened"] >= 15 and 0 < data["open_at_end"] < data["delivered"]
    assert 0 < emails["confirmation_data"] <= data["delivered"]  # one email may confirm two


def test_another_seed_gives_another_year(tmp_path: Path) -> None:
    assert _run(tmp_path, "c", seed=1, days=120) != _run(tmp_path, "d", seed=2, days=120)


def test_cli_prints_json_with_the_contract_keys(tmp_path: Path) -> None:
    env_var = {"ZIELFLOW_VAR_DIR": str(tmp_path / "var")}
    import os

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "workflow.cli",
            "simulate",
            "--start",
            "2026-01-05",
            "--days",
            "60",
            "--seed",
            "3",
            "--json",
        ],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("ZIELFLOW_")}, **env_var},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {"transitions", "emails", "escalations", "overdue_at_end"} <= set(summary)
    assert summary["emails"]["invitation_agreement"] > 0 or summary["emails"] == {}
    assert summary["days"] == 60
