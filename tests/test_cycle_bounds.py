"""A new cycle's year near today unless confirmed, and deleting a cycle opened by mistake.

The test clock stands at 2 March 2026, so the years allowed without confirmation are
2025, 2026 and 2027; the command line uses the real clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from api.app import create_app
from notifications.models import OutboxMessage
from tests.conftest import EXAMPLES
from tests.dashboard_seed import Seed, bearer, seed
from tests.test_open_cycle import _run_to_replanning
from workflow.accounts import Role, add_or_update_user, create_api_token
from workflow.catalogue.models import Measure
from workflow.catalogue.service import ensure_organisation
from workflow.cycles.models import AuditEvent, Cycle, MeasureCycle
from workflow.cycles.service import record_interview
from workflow.db import unit_of_work
from workflow.forms.models import Delegation, FormDraft
from workflow.forms.tokens import FormToken, Phase, issue_token
from workflow.runtime import Runtime


def _client(rt: Runtime) -> tuple[TestClient, Seed, dict[str, str]]:
    s = seed(rt)
    return TestClient(create_app()), s, bearer(s, Role.COORDINATOR)


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and set(error) == {"code", "message", "details"}
    return error


def _years(client: TestClient, h: dict[str, str]) -> list[int]:
    return [c["year"] for c in client.get("/api/v1/cycles", headers=h).json()]


def test_a_year_far_from_today_needs_confirmation(rt: Runtime) -> None:
    client, _s, h = _client(rt)
    for year in (2100, 2024, 2028):
        error = _error(
            client.post("/api/v1/cycles", json={"year": year}, headers=h),
            422,
            "cycle_year_out_of_range",
        )
        assert error["details"] == {"year": year, "allowed_years": [2025, 2026, 2027]}
        assert f"Das Jahr {year}" in error["message"] and "2025 bis 2027" in error["message"]
    assert _years(client, h) == [2026]
    assert client.post("/api/v1/cycles", json={"year": 2027}, headers=h).status_code == 201
    confirmed = client.post("/api/v1/cycles", json={"year": 2100, "confirm": True}, headers=h)
    assert confirmed.status_code == 201, confirmed.text
    # Reopening adds only what is missing, so an existing year needs no confirmation again.
    assert client.post("/api/v1/cycles", json={"year": 2100}, headers=h).status_code == 201
    assert _years(client, h) == [2026, 2027, 2100]


def _open_last_year_by_mistake(rt: Runtime, s: Seed) -> dict[str, int]:
    """Cycle 2025 for measures already interviewed: invitations queued, one sent with a link."""
    client = TestClient(create_app())
    with unit_of_work(rt.sessions) as session:
        session.execute(update(Measure).values(interviewed_at=rt.clock.now()))
    opened = client.post("/api/v1/cycles", json={"year": 2025}, headers=bearer(s, Role.COORDINATOR))
    assert opened.status_code == 201 and opened.json()["created"] == 36
    cycle_id = opened.json()["cycle"]["id"]
    with unit_of_work(rt.sessions) as session:
        first = session.scalars(
            select(OutboxMessage)
            .join(MeasureCycle, MeasureCycle.id == OutboxMessage.measure_cycle_id)
            .where(MeasureCycle.cycle_id == cycle_id)
            .order_by(OutboxMessage.id)
        ).first()
        assert first is not None and first.kind == "invitation_agreement"
        first.status = "sent"
        issue_token(
            session=session,
            organisation_id=s.organisation_id,
            contact_id=first.context["contact_id"],
            cycle_id=cycle_id,
            phase=Phase.TARGET_AGREEMENT,
            expires_at=rt.clock.now() + timedelta(days=60),
            now=rt.clock.now(),
            issued_by="test",
        )
    return _counts(rt)


def _counts(rt: Runtime) -> dict[str, int]:
    with rt.sessions() as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Cycle, MeasureCycle, OutboxMessage, FormToken, AuditEvent)
        }


def test_a_coordinator_deletes_an_empty_cycle_and_can_open_it_again(rt: Runtime) -> None:
    client, s, h = _client(rt)
    before = _counts(rt)
    after_opening = _open_last_year_by_mistake(rt, s)
    assert after_opening["OutboxMessage"] > before["OutboxMessage"]
    deleted = client.delete("/api/v1/cycles/2025", headers=h)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"year": 2025, "measures": 36, "messages": 36, "links": 1}
    assert _years(client, h) == [2026]
    # Everything the opening made is gone; one event of the organisation says so.
    assert _counts(rt) == {**before, "AuditEvent": before["AuditEvent"] + 1}
    with rt.sessions() as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.measure_cycle_id is None
        assert (event.event, event.payload["year"], event.payload["messages_sent"]) == (
            "delete_cycle",
            2025,
            1,
        )
        assert event.actor.startswith("user:")
    # Opened again, the year gets its invitations again: nothing of the old one is in the way.
    again = client.post("/api/v1/cycles", json={"year": 2025}, headers=h)
    assert again.status_code == 201 and again.json()["created"] == 36
    assert _counts(rt)["OutboxMessage"] == after_opening["OutboxMessage"]
    assert client.delete("/api/v1/cycles/2024", headers=h).status_code == 404


def test_a_cycle_in_which_something_happened_is_not_deleted(rt: Runtime) -> None:
    client, s, h = _client(rt)
    with unit_of_work(rt.sessions) as session:
        record_interview(
            session=session,
            clock=rt.clock,
            measure_cycle_id=s.item_ids[0],
            expected_version=None,
            actor="test",
            decision="keep",
        )
        session.add(
            FormDraft(
                measure_cycle_id=s.item_ids[1],
                phase="target_agreement",
                answers={"targets": "angefangen"},
                updated_at=rt.clock.now(),
                updated_by="contact:1",
            )
        )
    before = _counts(rt)
    error = _error(client.delete("/api/v1/cycles/2026", headers=h), 409, "cycle_not_empty")
    assert error["details"] == {"year": 2026, "reasons": {"moved": 1, "answers": 1, "drafts": 1}}
    assert error["message"] == (
        "Der Zyklus 2026 kann nicht gelöscht werden: 1 Maßnahme hat seit der Eröffnung "
        "die Phase gewechselt oder wurde bearbeitet; 1 Antwort liegt vor; 1 Formular wurde "
        "begonnen. Löschen lässt sich nur ein Zyklus, in dem seit der Eröffnung nichts "
        "geschehen ist."
    )
    assert _counts(rt) == before


def test_a_cycle_with_measures_carried_forward_is_not_deleted(rt: Runtime) -> None:
    client, s, h = _client(rt)
    _run_to_replanning(rt, rt.clock, s.item_ids[0], "continue")  # type: ignore[arg-type]
    opened = client.post("/api/v1/cycles", json={"year": 2027}, headers=h)
    assert opened.json()["carried_forward"] == 1
    error = _error(client.delete("/api/v1/cycles/2027", headers=h), 409, "cycle_not_empty")
    assert error["details"]["reasons"] == {"carried_forward": 1}
    assert "1 Maßnahme wurde aus dem Vorjahr übernommen" in error["message"]
    assert _years(client, h) == [2026, 2027]


def test_a_cycle_another_record_refers_to_is_not_deleted(rt: Runtime) -> None:
    client, s, h = _client(rt)
    _open_last_year_by_mistake(rt, s)
    with unit_of_work(rt.sessions) as session:
        cycle_id = session.scalars(select(Cycle.id).where(Cycle.year == 2025)).one()
        owner = session.scalars(
            select(Measure.contact_id).where(Measure.contact_id.is_not(None))
        ).first()
        assert owner is not None
        # A hand-over of a form of that year, a record the emptiness rule does not list.
        session.add(
            Delegation(
                organisation_id=s.organisation_id,
                cycle_id=cycle_id,
                phase="target_agreement",
                owner_contact_id=owner,
                delegate_email="kollegin@stadt.example.org",
                delegate_name="Kollegin",
                by_contact_id=owner,
                status="pending",
                created_at=rt.clock.now(),
            )
        )
    before = _counts(rt)
    error = _error(client.delete("/api/v1/cycles/2025", headers=h), 409, "cycle_not_empty")
    assert error["details"]["reasons"] == {"references": 1}
    assert "andere Daten verweisen auf den Zyklus" in error["message"]
    assert _counts(rt) == before  # the savepoint took every partial delete back


def test_another_organisations_coordinator_cannot_delete_it(rt: Runtime) -> None:
    client, _s, h = _client(rt)
    with unit_of_work(rt.sessions) as session:
        other = ensure_organisation(session, slug="anderswo", name="Anderswo")
        user = add_or_update_user(
            session=session,
            organisation_id=other.id,
            email="koordination@anderswo.example.org",
            role=Role.COORDINATOR,
            password="ein langes Passwort 123",
            now=rt.clock.now(),
        )
        raw = create_api_token(session, user, "test", rt.clock.now())[1]
    refused = client.delete("/api/v1/cycles/2026", headers={"Authorization": f"Bearer {raw}"})
    _error(refused, 404, "cycle_not_found")
    assert _years(client, h) == [2026]


def _zielflow(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIELFLOW_")}
    env["ZIELFLOW_VAR_DIR"] = str(tmp_path / "var")
    return subprocess.run(
        [sys.executable, "-m", "workflow.cli", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_line_needs_confirm_for_a_far_year(tmp_path: Path) -> None:
    this_year = date.today().year
    assert _zielflow(tmp_path, "db", "upgrade").returncode == 0
    assert _zielflow(tmp_path, "import-catalogue", str(EXAMPLES / "catalogue.csv")).returncode == 0
    refused = _zielflow(tmp_path, "open-cycle", "2100")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"Das Jahr 2100 liegt außerhalb der Jahre {this_year - 1} bis {this_year + 1}. "
        "Ein anderes Jahr nur mit --confirm eröffnen."
    )
    confirmed = _zielflow(tmp_path, "open-cycle", "2100", "--confirm")
    assert confirmed.returncode == 0 and "36 neu eröffnet" in confirmed.stdout
