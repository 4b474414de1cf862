"""What a person reads: dates as 31.12.2027, local times with "Uhr", numbers with a decimal
comma (English pages: 31/12/2027 and a decimal point), and the API refusing an Erstgespräch
without its date. SQLite only: rendering is the subject, not the database."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from tests.dashboard_seed import bearer, login, seed
from workflow.accounts import Role
from workflow.clock import FrozenClock
from workflow.cycles.models import MeasureCycle
from workflow.db import unit_of_work
from workflow.indicators.models import Indicator
from workflow.runtime import Runtime

MESSAGE_ID = "<lesbar-1@zielflow.test>"
# 09:05 UTC on 2 March 2026 is 10:05 in Berlin (CET, UTC+1).
EML = (
    "From: Koordinierungsstelle <koordination@musterstadt.example.org>\r\n"
    "To: kontakt@musterstadt.example.org\r\n"
    "Subject: Bitte um Ihre Zielvereinbarung\r\n"
    "Date: Mon, 02 Mar 2026 09:05:00 +0000\r\n"
    f"Message-ID: {MESSAGE_ID}\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Guten Tag,\r\n"
)


def test_the_mail_page_shows_local_time_in_the_readers_format(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    s = seed(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as session:
        session.add(
            OutboxMessage(
                organisation_id=s.organisation_id,
                dedupe_key="lesbar:1",
                kind="invitation_agreement",
                recipient_email="kontakt@musterstadt.example.org",
                status="sent",
                created_at=clock.now(),
                not_before=clock.now(),
                message_id=MESSAGE_ID,
                sent_at=clock.now(),
            )
        )
    sink = rt_sqlite.settings.mail_sink_dir
    assert sink is not None
    sink.mkdir(parents=True, exist_ok=True)
    (sink / "1772442300-1.eml").write_bytes(EML.encode())
    rt_sqlite.settings.environment = "development"  # the viewer is a demo tool
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)

    listing = client.get("/mails").text
    assert "02.03.2026, 10:05 Uhr" in listing
    assert "Mon, 02 Mar" not in listing and "+0000" not in listing
    one = client.get("/mails/1772442300-1.eml").text
    assert "02.03.2026, 10:05 Uhr" in one and "+0000" not in one
    assert "Betreff" in one and "Subject" not in one

    english = client.get("/mails?lang=en").text
    assert "02/03/2026, 10:05" in english and "Uhr" not in english


def test_the_indicator_page_writes_its_target_with_a_decimal_comma(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    s = seed(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as session:
        session.add(
            Indicator(
                organisation_id=s.organisation_id,
                code="T-1",
                statement="Anteil der Kinder mit Sprachförderung",
                unit="percent",
                direction="up",
                target_value=29.66,
                created_at=clock.now(),
            )
        )
    with rt_sqlite.sessions() as session:
        indicator_id = session.scalars(select(Indicator.id).where(Indicator.code == "T-1")).one()
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    german = client.get(f"/kennzahlen/{indicator_id}").text
    assert "29,7\u00a0%" in german or "29,7 %" in german
    assert "29.66" not in german
    english = client.get(f"/kennzahlen/{indicator_id}?lang=en").text
    assert "29.7 %" in english or "29.7\u00a0%" in english


def test_the_api_refuses_an_interview_without_a_valid_date(rt_sqlite: Runtime) -> None:
    s = seed(rt_sqlite)
    client = TestClient(create_app())
    h = bearer(s, Role.COORDINATOR)
    url = f"/api/v1/measure-cycles/{s.item_ids[0]}/transitions"
    for payload in ({"decision": "keep"}, {"decision": "keep", "held_on": "2.3.2026"}):
        refused = client.post(
            url, json={"event": "record_interview", "version": 1, "payload": payload}, headers=h
        )
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "payload_invalid"
        assert error["details"]["field"] == "held_on"
        assert "held_on" in error["message"] and "Datum" in error["message"]
    with rt_sqlite.sessions() as session:
        mc = session.get(MeasureCycle, s.item_ids[0])
        assert mc is not None and (mc.state, mc.version) == ("initial_interview", 1)
    held = {"decision": "keep", "held_on": "2026-03-02"}
    ok = client.post(
        url, json={"event": "record_interview", "version": 1, "payload": held}, headers=h
    )
    assert ok.status_code == 200 and ok.json()["state"] == "target_agreement"
