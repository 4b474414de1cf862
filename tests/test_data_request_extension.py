"""A coordinator extends a data request like a measure's deadline, by API and on the indicator page.

A new due date in the future starts a new stay: reminders and escalation start over from the
new date's plan, the source contact gets one email (with a working link) and the audit trail
records who moved the date from when to when. A date not in the future is refused in German,
and nothing changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.render import Renderer
from tests.dashboard_seed import Seed, bearer, csrf_headers, login, seed
from workflow.accounts import Role
from workflow.catalogue.models import Contact, Measure, Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import AuditEvent
from workflow.db import unit_of_work
from workflow.deadlines import DeadlinePolicy
from workflow.indicators import requests as data_requests
from workflow.indicators.models import DataRequest, RequestStatus
from workflow.indicators.service import save_indicator
from workflow.runtime import Runtime

LINK = re.compile(r"https?://[^\s]+(/f/[A-Za-z0-9_-]{43})")


@dataclass
class World:
    seed: Seed
    indicator_id: int
    request_id: int
    contact_email: str


def build(rt: Runtime) -> World:
    """The example catalogue; an indicator due on 20 March whose request opens today (2 March),
    escalated once already."""
    s = seed(rt)
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as session:
        source = session.scalars(
            select(Contact).join(Measure, Measure.contact_id == Contact.id).order_by(Contact.id)
        ).first()
        assert source is not None
        indicator, _ = save_indicator(
            session,
            organisation_id=s.organisation_id,
            code="B-K1",
            values={
                "statement": "Anteil ausländischer Kinder in den 5. Klassen der Gymnasien steigt",
                "unit": "percent",
                "direction": "up",
                "due_months": [3],
                "due_day": 20,
                "lead_days": 28,
                "source_label": "Schulverwaltung",
                "source_contact_id": source.id,
            },
            goal_ids=[],
            measure_ids=[],
            now=now - timedelta(days=400),
        )
        (request_id,) = data_requests.open_due_requests(session, now=now).ids
        request = session.get(DataRequest, request_id)
        assert request is not None
        request.action_step, request.escalation_level = 3, 1
        return World(s, indicator.id, request_id, source.email)


def _request(rt: Runtime, world: World) -> DataRequest:
    with rt.sessions() as session:
        request = session.get(DataRequest, world.request_id)
        assert request is not None
        session.expunge(request)
        return request


def _extension_mails(rt: Runtime) -> list[OutboxMessage]:
    with rt.sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "data_deadline_extended")
            )
        )


def test_the_api_extends_a_request_with_a_new_stay_schedule_email_and_audit(rt: Runtime) -> None:
    world = build(rt)
    client = TestClient(create_app())
    coordinator = bearer(world.seed, Role.COORDINATOR)
    url = f"/api/v1/data-requests/{world.request_id}/extend"

    for refused in ("2026-03-02", "2026-02-27"):  # today and the past
        response = client.post(url, json={"due_on": refused}, headers=coordinator)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "due_not_future"
        assert error["message"] == "Das neue Fälligkeitsdatum muss in der Zukunft liegen."
    far = client.post(url, json={"due_on": "2030-01-01"}, headers=coordinator)
    assert far.status_code == 422 and far.json()["error"]["code"] == "due_too_far"
    steering = client.post(
        url, json={"due_on": "2026-04-30"}, headers=bearer(world.seed, Role.STEERING)
    )
    assert steering.status_code == 403
    unchanged = _request(rt, world)
    assert (unchanged.due_on, unchanged.stay) == (date(2026, 3, 20), 1)
    assert _extension_mails(rt) == []

    done = client.post(
        url,
        json={"due_on": "2026-04-30", "reason": "Umstellung der Statistik"},
        headers=coordinator,
    )
    assert done.status_code == 200, done.text
    assert done.json()["due_on"] == "2026-04-30"
    request = _request(rt, world)
    assert (request.due_on, request.stay, request.escalation_level) == (date(2026, 4, 30), 2, 0)
    with rt.sessions() as session:
        org = session.get(Organisation, world.seed.organisation_id)
        assert org is not None
        plan = data_requests.plan_of(request, DeadlinePolicy(), calendar_of(org))
    assert request.action_step == 0 and request.next_action_at == plan[0].at
    assert plan[0].at > rt.clock.now()

    (mail,) = _extension_mails(rt)
    assert mail.recipient_email == world.contact_email
    assert mail.dedupe_key == f"dr:{world.request_id}:2:extended:0"
    with unit_of_work(rt.sessions) as session:
        row = session.get(OutboxMessage, mail.id)
        assert row is not None
        email = Renderer(session, rt.settings, rt.clock.now()).render([row])
    assert "30.04.2026" in email.subject and "Umstellung der Statistik" in email.text
    link = LINK.search(email.text)
    assert link is not None
    form = client.get(link[1])
    assert form.status_code == 200 and "B-K1" in form.text

    with rt.sessions() as session:
        (audit,) = session.scalars(
            select(AuditEvent).where(AuditEvent.event == "data_deadline_extended")
        ).all()
    assert audit.actor.startswith("user:") and audit.measure_cycle_id is None
    assert audit.payload["data_request_id"] == world.request_id
    assert (audit.payload["from"], audit.payload["due_on"]) == ("2026-03-20", "2026-04-30")
    assert audit.payload["reason"] == "Umstellung der Statistik"

    # A request that is no longer open is not extended.
    with unit_of_work(rt.sessions) as session:
        closed = session.get(DataRequest, world.request_id)
        assert closed is not None
        closed.status = RequestStatus.DELIVERED.value
    again = client.post(url, json={"due_on": "2026-05-29"}, headers=coordinator)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_open"


def test_the_indicator_page_extends_a_request_and_refuses_a_past_date(rt: Runtime) -> None:
    world = build(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    page = client.get(f"/kennzahlen/{world.indicator_id}")
    assert f'action="/kennzahlen/anfragen/{world.request_id}/verlaengern"' in page.text
    url = f"/kennzahlen/anfragen/{world.request_id}/verlaengern"

    wrong = client.post(
        url, data={"due_on": "2026-03-01", "reason": "Urlaub"}, headers=csrf_headers(client)
    )
    assert wrong.status_code == 422
    assert "Das neue Fälligkeitsdatum muss in der Zukunft liegen." in wrong.text
    assert 'value="2026-03-01"' in wrong.text and 'value="Urlaub"' in wrong.text
    assert _request(rt, world).stay == 1

    done = client.post(
        url,
        data={"due_on": "2026-04-17", "reason": "Urlaub"},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert (
        done.status_code == 303 and done.headers["location"] == f"/kennzahlen/{world.indicator_id}"
    )
    shown = client.get(f"/kennzahlen/{world.indicator_id}").text
    assert "Die neue Frist ist gespeichert; die Quelle wird benachrichtigt." in shown
    assert "17.04.2026" in shown
    assert _request(rt, world).due_on == date(2026, 4, 17)
    assert len(_extension_mails(rt)) == 1

    # Other roles see no form and cannot post one.
    reader = TestClient(create_app())
    login(reader, Role.STEERING)
    assert "/verlaengern" not in reader.get(f"/kennzahlen/{world.indicator_id}").text
    refused = reader.post(url, data={"due_on": "2026-05-29"}, headers=csrf_headers(reader))
    assert refused.status_code == 403
