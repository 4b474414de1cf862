"""The simulation of the example catalogue: every path, every email rendered, stable per seed;
the bodies meet at their rhythm, decide, and their Aufträge are answered on time, late or never;
status checks and milestones are answered, and the summary's counts match the database.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from tests.conftest import EXAMPLES
from tests.simulated_year import Background, as_json
from workflow.bodies.models import Body, Meeting
from workflow.cycles.models import AuditEvent, Cycle, MeasureCycle
from workflow.db import make_engine, make_session_factory
from workflow.deadlines import DeadlinePolicy
from workflow.decisions.models import Decision
from workflow.meetings.models import AgendaItem, MeetingAttendance
from workflow.milestones.models import Milestone
from workflow.simulate import run_simulation
from workflow.status_checks.models import StatusCheck, StatusCheckItem, StatusCheckRequest

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
    # The bodies: their invitations, and the Aufträge they give.
    "meeting_invitation",
    "assignment_request",
    "assignment_reminder",
    "assignment_final_reminder",
    "assignment_escalation_head",
    "assignment_confirmation",
}
START = date(2026, 1, 5)
DAYS = 500
# A seed whose 500 days show every path of the example catalogue, the bodies' included.
SEED = 11


def _run(tmp_path: Path, name: str, seed: int = SEED, days: int = DAYS) -> dict[str, Any]:
    return run_simulation(
        database_url=f"sqlite:///{tmp_path / name}.sqlite3",
        start=START,
        days=days,
        seed=seed,
        catalogue=EXAMPLES / "catalogue.csv",
        var_dir=tmp_path / "var",
        indicators=EXAMPLES / "indicators.csv",
    )


@dataclass
class Year:
    """The simulated 500 days (summary and database), and what ran beside them."""

    summary: dict[str, Any]
    path: Path
    cli: subprocess.Popen[bytes] | None  # ``zielflow simulate --json``, the same seed and days
    other_seed: Background | None  # 120 days of seed 2
    cli_summary: dict[str, Any] | None = None


def _zielflow_simulate(folder: Path, *, days: int, seed: int) -> subprocess.Popen[bytes]:
    """``zielflow simulate --json`` started in the background; its output goes to files in
    ``folder`` (a pipe nobody reads yet could fill up and stop it)."""
    folder.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIELFLOW_")}
    with (folder / "stdout").open("wb") as out, (folder / "stderr").open("wb") as err:
        return subprocess.Popen(
            [
                sys.executable, "-m", "workflow.cli", "simulate",
                "--start", START.isoformat(), "--days", str(days), "--seed", str(seed), "--json",
            ],
            env={**env, "ZIELFLOW_VAR_DIR": str(folder / "var")},
            stdout=out,
            stderr=err,
        )  # fmt: skip


@pytest.fixture(scope="module")
def year(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Year]:
    """The simulated 500 days, once for the module. The second run of the same seed (through
    the CLI) and the other seed's run start first, in child processes: on the CI machine's
    second core they take no wall time of their own."""
    folder = tmp_path_factory.mktemp("simulated")
    wanted = {item.name for item in request.session.items if item.path == request.path}
    cli = None
    if wanted & {"test_a_cycle_and_a_half_shows_every_path_and_is_stable",
                 "test_cli_prints_json_with_the_contract_keys"}:  # fmt: skip
        cli = _zielflow_simulate(folder / "cli", days=DAYS, seed=SEED)
    other = None
    if "test_another_seed_gives_another_year" in wanted:
        other = Background(
            folder / "other", database_url=f"sqlite:///{folder / 'other.sqlite3'}",
            start=START.isoformat(), days=120, seed=2, indicators=True,
        )  # fmt: skip
    try:
        yield Year(_run(folder, "a"), folder / "a.sqlite3", cli, other)
    finally:
        if cli is not None and cli.poll() is None:
            cli.kill()
            cli.wait(timeout=30)
        if other is not None:
            other.stop()


def _cli_summary(year: Year) -> dict[str, Any]:
    if year.cli_summary is None:
        assert year.cli is not None
        folder = year.path.parent / "cli"  # where the fixture started it
        code = year.cli.wait(timeout=1200)
        assert code == 0, (folder / "stderr").read_text(errors="replace")[-4000:]
        year.cli_summary = json.loads((folder / "stdout").read_text())
    return year.cli_summary


def test_a_cycle_and_a_half_shows_every_path_and_is_stable(year: Year) -> None:
    first = year.summary
    # The same seed gives the same summary (run a second time, through the CLI).
    assert _cli_summary(year) == as_json(first)
    emails: dict[str, int] = first["emails"]
    assert set(emails) >= EVERY_KIND, emails
    assert first["render_failures"] == 0
    # Every email went out; every escalation to a body reached a digest or ended before one.
    status = dict(first["outbox_status"])
    assert status.pop("sent") > 0
    assert sum(status.values()) == first["escalations"]["steering_group"]
    assert set(status) <= {"included", "closed"} and status.get("included", 0) > 0
    states: dict[str, int] = first["states_at_end"]
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
    data: dict[str, int] = first["data_requests"]
    assert data["opened"] >= 15 and 0 < data["open_at_end"] < data["delivered"]
    assert 0 < emails["confirmation_data"] <= data["delivered"]  # one email may confirm two
    # Status checks were asked and answered; milestones fell due, were confirmed and moved.
    checks, milestones = first["status_checks"], first["milestones"]
    assert 0 < checks["answered"] <= checks["opened"]
    assert milestones["due"] > 0 and milestones["confirmed"] > 0 and milestones["moved"] > 0
    _no_measure_falls_out(year.path, end=START + timedelta(days=DAYS), counted=states)


def _no_measure_falls_out(path: Path, *, end: date, counted: dict[str, int]) -> None:
    """Every stay counted in ``states_at_end`` belongs to a measure that is in the newest
    cycle, still running in an older one (shown there as carried), or out for good; once
    the next cycle is open, nothing waits in Neuplanung longer than the policy allows."""
    with _sql(path) as s:
        stays = s.execute(
            select(
                MeasureCycle.measure_id, Cycle.year, MeasureCycle.state,
                MeasureCycle.entered_state_at, Cycle.policy,
            ).join(Cycle, Cycle.id == MeasureCycle.cycle_id)
        ).all()  # fmt: skip
    assert sum(counted.values()) == len(stays)
    newest = max(row.year for row in stays)
    latest = {row.measure_id: row for row in sorted(stays, key=lambda row: row.year)}
    fell_out = [
        row for row in latest.values()
        if row.year < newest and row.state in ("carried_forward", "deferred")
    ]  # fmt: skip
    assert not fell_out, fell_out
    waited = [
        row for row in stays
        if row.state == "replanning" and row.year < newest
        and (end - row.entered_state_at.date()).days
        > DeadlinePolicy.model_validate(row.policy).replanning_days
    ]  # fmt: skip
    assert not waited, waited


def _sql(path: Path) -> Session:
    return make_session_factory(make_engine(f"sqlite:///{path}"))()


def test_bodies_meet_decide_and_their_numbers_match_the_database(year: Year) -> None:
    summary, path = year.summary, year.path
    end = START + timedelta(days=DAYS)
    with _sql(path) as s:
        held = s.scalars(select(Meeting).where(Meeting.held_on < end)).all()
        planned = s.scalar(select(func.count()).select_from(Meeting).where(Meeting.held_on >= end))
        assert summary["meetings"] == {"held": len(held), "planned": planned}
        # Each body at its rhythm: meetings_per_year spread over the year.
        for body in s.scalars(select(Body)):
            days = sorted(m.held_on for m in held if m.body_id == body.id)
            gaps = [(b - a).days for a, b in itertools.pairwise(days)]
            assert len(days) >= 2 and all(
                abs(gap - 365 / body.meetings_per_year) <= 14 for gap in gaps
            ), (body.name, days)
        for meeting in held:
            attendance = s.scalar(
                select(func.count())
                .select_from(MeetingAttendance)
                .where(MeetingAttendance.meeting_id == meeting.id)
            )
            agenda = s.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)).all()
            invitations = s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.kind == "meeting_invitation",
                    OutboxMessage.status == "sent",
                    OutboxMessage.dedupe_key.startswith(f"invitation:{meeting.id}:"),
                )
            )
            # Planned six weeks ahead: every member of the day (and each guest) was invited.
            assert attendance and invitations and invitations >= attendance, meeting.held_on
            assert agenda and all(item.minutes for item in agenda), meeting.held_on

        # The decisions, by kind and by status, as the register holds them.
        decisions = s.scalars(select(Decision)).all()
        assert summary["decisions"] == {
            "total": len(decisions),
            "by_kind": dict(sorted(Counter(d.kind for d in decisions).items())),
            "by_status": dict(sorted(Counter(d.status for d in decisions).items())),
        }
        assert set(summary["decisions"]["by_kind"]) == {
            "resolution",
            "recommendation",
            "assignment",
        }
        assert set(summary["decisions"]["by_status"]) == {"open", "in_progress", "done"}
        # A Beschluss that drops a measure moved it, with its meeting as the actor.
        drops = [d for d in decisions if d.action == "drop_measure"]
        assert drops
        for d in drops:
            mc = s.get(MeasureCycle, d.measure_cycle_id)
            assert mc is not None and mc.state == "dropped"
            actors = s.scalars(
                select(AuditEvent.actor).where(
                    AuditEvent.measure_cycle_id == mc.id, AuditEvent.to_state == "dropped"
                )
            ).all()
            assert actors == [f"meeting:{d.meeting_id}"]
        # Aufträge answered on time, late and never, each answer through the form's service.
        assignments = [d for d in decisions if d.kind == "assignment"]
        dues = {d.id: d.due_on for d in assignments if d.due_on is not None}
        assert len(dues) == len(assignments)
        on_time = [d for d in assignments if d.answered_at and d.answered_at.date() <= dues[d.id]]
        late = [d for d in assignments if d.answered_at and d.answered_at.date() > dues[d.id]]
        never = [d for d in assignments if d.answered_at is None and dues[d.id] < end]
        assert on_time and late and never
        assert all(d.answered_by == f"contact:{d.contact_id}" for d in on_time + late)
        answered = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.event == "assignment_answered")
        )
        assert answered is not None and answered >= len(on_time) + len(late)

        # Digests: what was queued is in the outbox; members were skipped without news.
        digests = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "digest")).all()
        assert summary["digests"]["sent"] == len(digests) > 0
        assert summary["digests"]["skipped"] > 0
        assert {d.language for d in digests} == {"de", "en"}
        assert {d.context["body_id"] for d in digests} == {b.id for b in s.scalars(select(Body))}


def test_status_checks_and_milestones_match_the_database(year: Year) -> None:
    summary, path = year.summary, year.path
    end = START + timedelta(days=DAYS)
    last_day = end - timedelta(days=1)
    with _sql(path) as s:
        requests = s.scalars(select(StatusCheckRequest)).all()
        checks = {c.id: c for c in s.scalars(select(StatusCheck))}
        answered = [r for r in requests if r.answered_at is not None]
        overdue = [
            r for r in requests
            if r.answered_at is None and r.due_on < last_day
            and checks[r.status_check_id].closed_at is None
        ]  # fmt: skip
        assert summary["status_checks"] == {
            "opened": len(requests),
            "answered": len(answered),
            "overdue_at_end": len(overdue),
        }
        # The coordinator asked by hand once in the first year, besides the scheduled checks.
        manual = [c for c in checks.values() if c.origin == "manual"]
        assert [c.created_by for c in manual] == ["user:simulation-coordinator"]
        # Each part was answered by its own contact, through the form's service.
        assert all(r.answered_by == f"contact:{r.contact_id}" for r in answered)
        items = s.scalars(select(StatusCheckItem).where(StatusCheckItem.answered_at.is_not(None)))
        stands = Counter(i.stand for i in items)
        assert set(stands) <= {"on_track", "delayed", "at_risk", "done"} and stands["on_track"]

        rows = s.scalars(select(Milestone).where(Milestone.status != "withdrawn")).all()
        reached = [m for m in rows if m.status == "reached"]
        assert summary["milestones"]["due"] == len([m for m in rows if m.planned_on < end])
        assert summary["milestones"]["confirmed"] == len(reached)
        assert summary["milestones"]["moved"] == len([m for m in rows if m.moves])
        # Missed: measures in Umsetzung with an open milestone past the (default) grace period.
        grace = timedelta(days=DeadlinePolicy().milestone_grace_days)
        late = {
            m.measure_id for m in rows
            if m.status == "open" and m.due_on < last_day - grace
            and s.get(MeasureCycle, m.measure_cycle_id).state == "implementation"  # type: ignore[union-attr]
        }  # fmt: skip
        assert summary["milestones"]["missed"] == len(late)
        # Confirmed and moved through the milestone services, on the measure's timeline.
        events = Counter(
            s.scalars(
                select(AuditEvent.event).where(
                    AuditEvent.event.in_(["milestone_reached", "milestone_moved"])
                )
            )
        )
        assert events["milestone_reached"] == len(reached)
        assert events["milestone_moved"] == sum(m.moves for m in rows)


def test_another_seed_gives_another_year(year: Year, tmp_path: Path) -> None:
    assert year.other_seed is not None
    assert as_json(_run(tmp_path, "c", seed=1, days=120)) != year.other_seed.summary()


def test_cli_prints_json_with_the_contract_keys(year: Year) -> None:
    summary = _cli_summary(year)
    assert {"transitions", "emails", "escalations", "overdue_at_end"} <= set(summary)
    assert {"meetings", "decisions", "digests"} <= set(summary)
    assert set(summary["status_checks"]) == {"opened", "answered", "overdue_at_end"}
    assert set(summary["milestones"]) == {"due", "confirmed", "moved", "missed"}
    assert set(summary["digests"]) == {"sent", "skipped"}
    assert summary["emails"]["invitation_agreement"] > 0 or summary["emails"] == {}
    assert summary["days"] == DAYS
