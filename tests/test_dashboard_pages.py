"""Dashboard pages over HTTP on real databases: actions, Erstgespräch, .ics, statistics, i18n."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select

from api.app import create_app
from api.dashboard.measure import ACTIONS
from notifications.models import OutboxMessage
from notifications.outbox import Draft, enqueue
from tests.dashboard_seed import Seed, csrf_headers, login, seed
from workflow.accounts import Role
from workflow.catalogue.models import Measure
from workflow.clock import FrozenClock
from workflow.cycles.coordination import IMPLEMENTATION_STATUSES, INTERVIEW_DECISIONS, perform
from workflow.cycles.models import Interview, MeasureCycle, TargetAgreement
from workflow.cycles.queries import department_stats
from workflow.db import unit_of_work
from workflow.forms.tokens import FormToken, Phase, issue_token
from workflow.machine import LABELS_DE, State
from workflow.runtime import Runtime

PAGES = Path(__file__).resolve().parents[1] / "api" / "pages" / "dashboard"
LOCALES = Path(__file__).resolve().parents[1] / "api" / "locales"


def _coordinator(rt: Runtime) -> tuple[TestClient, Seed]:
    s = seed(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    return client, s


def _act(client: TestClient, item: int, action: str, version: int, **fields: str) -> object:
    return client.post(
        f"/massnahmen/{item}/aktion",
        data={"action": action, "version": str(version), **fields},
        headers=csrf_headers(client),
    )


def test_actions_on_the_measure_page(rt: Runtime, clock: FrozenClock) -> None:
    client, s = _coordinator(rt)
    item = s.item_ids[0]
    recorded = _act(
        client,
        item,
        "record_interview",
        1,
        decision="adapt",
        notes="Zielgruppe erweitern",
        held_on="2026-03-02",
        notify_confirmed="1",
    )
    # "anpassen" lands on the measure's edit form (tests/test_interview_adjust.py).
    assert "Bitte passen Sie die Maßnahme jetzt an." in recorded.text  # type: ignore[attr-defined]
    # Extending with a date in the past is refused; what was typed stays in the form.
    refused = _act(client, item, "extend_deadline", 2, due_on="2026-01-01", reason="Krankheit")
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "in der Zukunft" in refused.text and 'value="Krankheit"' in refused.text  # type: ignore[attr-defined]
    extended = _act(client, item, "extend_deadline", 2, due_on="2026-05-29", reason="Krankheit")
    assert "Die Frist ist verlängert." in extended.text  # type: ignore[attr-defined]
    with rt.sessions() as session:
        mc = session.get(MeasureCycle, item)
        assert mc is not None and str(mc.due_on) == "2026-05-29" and mc.version == 3
        contact_id = mc.measure.contact_id
        assert contact_id is not None
        cycle_id = mc.cycle_id
    with unit_of_work(rt.sessions) as session:
        issue_token(
            session=session,
            organisation_id=s.organisation_id,
            contact_id=contact_id,
            cycle_id=cycle_id,
            phase=Phase.TARGET_AGREEMENT,
            expires_at=clock.now() + timedelta(days=60),
            now=clock.now(),
            issued_by="t",
        )
    stale = _act(client, item, "reissue_link", 2)
    assert stale.status_code == 409 and "inzwischen geändert" in stale.text  # type: ignore[attr-defined]
    reissued = _act(client, item, "reissue_link", 3)
    assert "Ein neuer Link wird versandt." in reissued.text  # type: ignore[attr-defined]
    with rt.sessions() as session:
        token = session.scalars(select(FormToken)).one()
        # The old link works until the email with the new one is rendered (and revokes it).
        assert token.revoked_at is None
        message = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "link_reissued")
        ).one()
        assert message.context["contact_id"] == contact_id
        assert (message.context["cycle_id"], message.context["phase"]) == (
            cycle_id,
            "target_agreement",
        )
        assert not any("token" in k for k in message.context)  # the raw token is made at send time
    deferred = _act(client, item, "defer", 3, reason="")
    assert deferred.status_code == 409 and "Grund" in deferred.text  # type: ignore[attr-defined]
    _act(client, item, "defer", 3, reason="Haushaltssperre")
    with rt.sessions() as session:
        mc = session.get(MeasureCycle, item)
        assert mc is not None and mc.state == "deferred"
    page = client.get(f"/massnahmen/{item}").text
    assert "Haushaltssperre" in page and "Neuer Formular-Link" in page
    assert client.get("/massnahmen/999999").status_code == 404


def test_interview_is_recorded_for_all_measures_or_none(rt: Runtime) -> None:
    client, _s = _coordinator(rt)
    with rt.sessions() as session:
        measure = session.scalars(select(Measure).where(Measure.code == "A1.2")).one()
        contact_id = measure.contact_id
        rows = session.execute(
            select(MeasureCycle.id, Measure.code)
            .join(Measure, Measure.id == MeasureCycle.measure_id)
            .where(Measure.contact_id == contact_id)
        ).all()
    assert len(rows) >= 2
    form = client.get(f"/erstgespraech/{contact_id}").text
    fields = {"held_on": "2026-03-02", "participants": "S. Krüger", "notes": "gemeinsam"}
    fields["notify_confirmed"] = "1"
    for mc_id, _code in rows:
        fields[f"decision_{mc_id}"] = "keep"
        fields[f"status_{mc_id}"] = "ongoing"
        fields[f"version_{mc_id}"] = re.search(rf'name="version_{mc_id}" value="(\d+)"', form)[1]  # type: ignore[index]
    fields[f"decision_{rows[-1][0]}"] = "drop"
    fields[f"notes_{rows[-1][0]}"] = "gibt es nicht mehr"
    # Someone else moves the last measure first: nothing at all is recorded.
    with unit_of_work(rt.sessions) as session:
        perform(
            session=session,
            clock=rt.clock,
            measure_cycle_id=rows[-1][0],
            event="extend_deadline",
            expected_version=None,
            actor="other",
            payload={"due_on": "2026-06-01", "reason": "Urlaub"},
        )
    conflict = client.post(
        f"/erstgespraech/{contact_id}", data=fields, headers=csrf_headers(client)
    )
    assert conflict.status_code == 409 and "inzwischen geändert" in conflict.text
    assert 'value="S. Krüger"' in conflict.text
    with rt.sessions() as session:
        assert session.scalars(select(Interview)).all() == []
    fields[f"version_{rows[-1][0]}"] = "2"
    saved = client.post(f"/erstgespraech/{contact_id}", data=fields, headers=csrf_headers(client))
    assert "Das Erstgespräch ist gespeichert." in saved.text
    with rt.sessions() as session:
        states = {mc.id: mc.state for mc in session.scalars(select(MeasureCycle))}
        interviews = session.scalars(select(Interview)).all()
    assert {states[mc_id] for mc_id, _ in rows[:-1]} == {"target_agreement"}
    assert states[rows[-1][0]] == "dropped"
    assert len(interviews) == len(rows)
    assert all(
        i.participants == "S. Krüger" and i.implementation_status == "ongoing" for i in interviews
    )


def test_ics_invitation(rt_sqlite: Runtime) -> None:
    client, _s = _coordinator(rt_sqlite)
    response = client.get(
        "/erstgespraech/1/einladung.ics",
        params={"start": "2026-03-10T14:00", "minutes": 60, "location": "Raum 3"},
    )
    assert response.headers["content-type"].startswith("text/calendar")
    event = next(c for c in Calendar.from_ical(response.content).walk("VEVENT"))
    assert event.decoded("dtstart").isoformat() == "2026-03-10T14:00:00+01:00"
    assert event.decoded("dtend").isoformat() == "2026-03-10T15:00:00+01:00"
    assert str(event["attendee"]).startswith("mailto:") and str(event["location"]) == "Raum 3"
    assert "Erstgespräch" in str(event["summary"])


def test_overdue_list_department_stats_and_steering_digests(
    rt: Runtime, clock: FrozenClock
) -> None:
    client, s = _coordinator(rt)
    item = s.item_ids[0]
    with unit_of_work(rt.sessions) as session:
        perform(
            session=session,
            clock=clock,
            measure_cycle_id=item,
            event="record_interview",
            expected_version=None,
            actor="t",
            payload={"decision": "keep", "held_on": "2026-03-02"},
        )
    clock.advance(timedelta(days=50))  # the agreement (42 days) is late
    login(client, Role.COORDINATOR)  # 50 days idle: the session has ended meanwhile
    with unit_of_work(rt.sessions) as session:
        mc = session.get(MeasureCycle, item)
        assert mc is not None
        mc.escalation_level = 1
        enqueue(
            session,
            [
                Draft(
                    organisation_id=s.organisation_id,
                    dedupe_key="r1",
                    kind="reminder",
                    recipient_email="x@example.org",
                    measure_cycle_id=item,
                ),
                Draft(
                    organisation_id=s.organisation_id,
                    dedupe_key="e1",
                    kind="escalation_head",
                    recipient_email="chef@example.org",
                    recipient_name="Frau Chefin",
                    measure_cycle_id=item,
                ),
                Draft(
                    organisation_id=s.organisation_id,
                    dedupe_key="d1",
                    kind="digest",
                    recipient_email="sg@example.org",
                    recipient_name="Steuerung",
                    context={
                        "digest": {
                            "period_label": "KW 16",
                            "totals": {"new": 4, "still_open": 1, "resolved": 2},
                        }
                    },
                ),
            ],
            now=clock.now(),
        )
    overdue = client.get("/ueberfaellig").text
    assert overdue.count('<tr class="level-1">') == 1
    assert "Frau Chefin" in overdue and "21.04.2026" in overdue
    steering = client.get("/steuerung").text
    assert "KW 16" in steering and "4 neu, 1 weiter offen, 2 erledigt" in steering
    assert "@media print" in client.get("/static/dashboard.css").text

    # The department answers 3 days after it was asked.
    with unit_of_work(rt.sessions) as session:
        session.add(
            TargetAgreement(
                measure_cycle_id=item,
                decision="implement",
                submitted_at=clock.now(),
                submitted_by="c",
            )
        )
        perform(
            session=session,
            clock=clock,
            measure_cycle_id=item,
            event="submit_agreement",
            expected_version=None,
            actor="contact",
        )
    with rt.sessions() as session:
        mc = session.get(MeasureCycle, item)
        assert mc is not None
        stats = {
            d.id: d
            for d in department_stats(session, cycle_id=s.cycle_id, today=clock.now().date())
        }
        dept = stats[mc.measure.department_id]
    assert (dept.asked, dept.answered, dept.response_rate) == (1, 1, 1.0)
    assert dept.average_days_to_answer == 50.0
    assert sum(d.measures for d in stats.values()) == 36
    page = client.get("/fachbereiche").text
    assert "100 %" in page and "50,0" in page


def test_every_translation_key_exists_in_german_and_english() -> None:
    de = json.loads((LOCALES / "dashboard.de.json").read_text(encoding="utf-8"))
    en = json.loads((LOCALES / "dashboard.en.json").read_text(encoding="utf-8"))
    assert set(de) == set(en)
    # The reports page (/berichte) keeps its strings in an area file of its own.
    de |= json.loads((LOCALES / "reports.de.json").read_text(encoding="utf-8"))
    used: set[str] = set()
    sources = [
        *PAGES.glob("*.html"),
        *Path(__file__).resolve().parents[1].glob("api/dashboard/*.py"),
        Path(__file__).resolve().parents[1] / "api" / "auth.py",
    ]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""_\(\s*["']([a-z_]+\.[a-z_.0-9]+)["']""", text))
        used |= set(re.findall(r'"((?:login|reset|account|measure|interview)\.[a-z_.]+)"', text))
    used = {k for k in used if not k.endswith(("_", "."))}  # prefixes completed at run time
    used |= {f"measure.done.{a}" for a in ACTIONS} | {f"event.{a}" for a in ACTIONS}
    used |= {f"decision.{d}" for d in INTERVIEW_DECISIONS}
    used |= {f"impl.{i}" for i in IMPLEMENTATION_STATUSES} | {f"role.{r.value}" for r in Role}
    assert len(used) > 100 and not (used - set(de)), sorted(used - set(de))
    assert {k.removeprefix("state."): v for k, v in de.items() if k.startswith("state.")} == {
        s.value: LABELS_DE[s] for s in State
    }
    for key in ("overdue.level_0", "overdue.level_1", "overdue.level_2"):
        assert de[key] != en[key]
