"""``simulate --organisations N``: a district and N towns in one database, simulated in one
pass; the JSON's per-organisation counts add up to the run's totals."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.conftest import EXAMPLES
from workflow.catalogue.models import Organisation
from workflow.db import make_engine, make_session_factory
from workflow.simulate import run_simulation

TOWNS = 3


def _total(entries: list[dict[str, Any]], *path: str) -> int:
    total = 0
    for entry in entries:
        value: Any = entry
        for key in path:
            value = value.get(key, 0) if isinstance(value, dict) else 0
        total += int(value)
    return total


def test_a_district_and_three_towns_have_counts_that_add_up(
    database_url: str, tmp_path: Path
) -> None:
    summary = run_simulation(
        database_url=database_url,
        start=date(2026, 1, 5),
        days=30,
        seed=3,
        catalogue=EXAMPLES / "catalogue.csv",
        var_dir=tmp_path / "var",
        organisations=TOWNS,
    )
    orgs = summary["organisations"]
    assert [(o["kind"], o["parent"]) for o in orgs] == [("district", None)] + [
        ("town", "simulation")
    ] * TOWNS
    for key in ("measures", "transitions", "emails_total", "overdue_at_end"):
        assert summary[key] == sum(o[key] for o in orgs), key
    for kind, count in summary["emails"].items():
        assert count == _total(orgs, "emails", kind), kind
    for state, count in summary["states_at_end"].items():
        assert count == _total(orgs, "states_at_end", state), state
    for status, count in summary["outbox_status"].items():
        assert count == _total(orgs, "outbox_status", status), status
    assert summary["status_checks"]["opened"] == _total(orgs, "status_checks", "opened")
    assert summary["decisions"]["total"] == _total(orgs, "decisions", "total")
    # Every organisation took part: its measures, and invitations sent in its own name.
    assert all(o["measures"] > 0 and o["emails"].get("invitation_agreement") for o in orgs)

    engine = make_engine(database_url)
    with make_session_factory(engine)() as s:
        stored = {o.slug: o for o in s.scalars(select(Organisation))}
        district = stored["simulation"]
        assert district.kind == "district"
        assert sorted(o.slug for o in stored.values() if o.parent_id == district.id) == [
            f"simulation-{n}" for n in range(1, TOWNS + 1)
        ]
    engine.dispose()
