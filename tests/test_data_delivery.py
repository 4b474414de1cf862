"""A data delivery from rhythm date to stored value: sweep, real email, real form, real database.

The sweep opens the request on its date, the sender mails the source contact through a real
SMTP sink, the link from that email opens the form on a live server, the POST (with CSRF)
stores the value with who delivered it, closes the request and queues the confirmation; a
second delivery corrects the value. Undelivered requests are reminded and escalated once
per step, however often the sweep runs.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests import factories
from tests.conftest import BERLIN, make_runtime
from tests.live import start_live_server
from workflow import runtime
from workflow.catalogue.models import Contact, Organisation
from workflow.clock import FrozenClock
from workflow.cycles.models import AuditEvent
from workflow.db import unit_of_work
from workflow.forms.tokens import FormToken, Phase, issue_token
from workflow.indicators.models import DataRequest, Indicator, IndicatorValue
from workflow.indicators.service import save_indicator
from workflow.runtime import Runtime
from workflow.sweep import run_sweep

LINK = re.compile(r"https?://[^\s]+/f/([A-Za-z0-9_-]{43})")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class World:
    org_id: int
    indicator_id: int
    contact_id: int
    head_email: str


def build(rt: Runtime, *, unit: str = "percent", history: tuple[float, ...] = ()) -> World:
    """A measure's department with a head, and an indicator due on 20 March with that
    department's contact as its source; ``history`` are earlier yearly values (March)."""
    clock = rt.clock
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        measure = factories.measures(s, org, 1)[0]
        contact = s.get(Contact, measure.contact_id)
        assert contact is not None
        head = s.scalars(select(Contact).where(Contact.is_head.is_(True))).one()
        indicator, _ = save_indicator(
            s,
            organisation_id=org.id,
            code="B-K1",
            values={
                "statement": "Anteil ausländischer Kinder in den 5. Klassen der Gymnasien steigt",
                "unit": unit,
                "direction": "up",
                "due_months": [3, 9],
                "due_day": 20,
                "lead_days": 28,
                "source_label": "Schulverwaltung",
                "source_contact_id": contact.id,
                "districts": ["Bensberg"],
            },
            goal_ids=[measure.goal_id],
            measure_ids=[measure.id],
            now=clock.now() - timedelta(days=400),
        )
        for i, value in enumerate(history):
            s.add(
                IndicatorValue(
                    organisation_id=org.id,
                    indicator_id=indicator.id,
                    survey_date=date(2026 - len(history) + i, 3, 20),
                    district="",
                    value=value,
                    delivered_by="import",
                    delivered_at=clock.now(),
                )
            )
        return World(org.id, indicator.id, contact.id, head.email)


@pytest.fixture
def mailing_rt(
    database_url: str, clock: FrozenClock, tmp_path: Path, smtp_sink: tuple[int, CapturingHandler]
) -> Iterator[Runtime]:
    port, _ = smtp_sink
    rt = make_runtime(database_url, clock, tmp_path, smtp_host="127.0.0.1", smtp_port=port)
    yield rt
    runtime.install(None)


def _kinds(rt: Runtime) -> list[str]:
    with rt.sessions() as s:
        return sorted(s.scalars(select(OutboxMessage.kind)))


def _plain(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def _path(url: str) -> str:
    """Links are built from ZIELFLOW_BASE_URL; the live server listens elsewhere."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _form_fields(request_id: int, **values: str) -> dict[str, str]:
    return {f"r-{request_id}-{k.replace('_dash_', '-')}": v for k, v in values.items()}


def test_from_rhythm_date_to_stored_value_through_the_emailed_form(
    mailing_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    rt = mailing_rt
    world = build(rt, history=(20.0, 21.0, 22.5))
    _, sink = smtp_sink
    # 2026-03-02 is within 28 days of 20 March: the sweep opens the request (once).
    first = run_sweep(sessions=rt.sessions, clock=clock)
    again = run_sweep(sessions=rt.sessions, clock=clock)
    assert first.by_kind.get("data_request") == 1 and again.by_kind.get("data_request", 0) == 0
    with rt.sessions() as s:
        request = s.scalars(select(DataRequest)).one()
        assert (request.period, request.due_on, request.status) == (
            "2026-03",
            date(2026, 3, 20),
            "open",
        )
        request_id = request.id
    report = send_pending(rt)
    assert report.by_kind == {"data_request": 1}
    (message,) = sink.messages
    assert message["To"].addresses[0].addr_spec == "mkontakt0@stadt.example.org"
    text = _plain(message)
    assert "B-K1 Anteil ausländischer Kinder" in text and "März 2026" in text
    raw = LINK.search(text)
    assert raw is not None
    with rt.sessions() as s:
        token = s.scalars(select(FormToken)).one()
        assert (token.phase, token.cycle_id, token.contact_id) == (
            "data_delivery",
            None,
            world.contact_id,
        )

    server = start_live_server()
    try:
        with httpx.Client(base_url=server.url) as browser:
            page = browser.get(f"/f/{raw[1]}")
            assert page.status_code == 200
            assert page.headers["referrer-policy"] == "no-referrer"
            assert "Anteil ausländischer Kinder" in page.text and "Bensberg" in page.text
            csrf = CSRF.search(page.text)
            assert csrf is not None
            # Without the CSRF field the POST is refused and nothing is stored.
            refused = browser.post(
                f"/f/{raw[1]}",
                data=_form_fields(request_id, survey_date="2026-02-27", value="23,4"),
            )
            assert refused.status_code == 403
            # A percentage above 100 is an error: shown in German, what was typed kept.
            wrong = browser.post(
                f"/f/{raw[1]}",
                data={
                    "csrf_token": csrf[1],
                    "action": f"submit:{request_id}",
                    **_form_fields(request_id, survey_date="2026-02-27", value="123,4"),
                },
            )
            assert wrong.status_code == 422
            assert "Ein Prozentwert liegt zwischen 0 und 100." in wrong.text
            assert 'value="123,4"' in wrong.text
            done = browser.post(
                f"/f/{raw[1]}",
                data={
                    "csrf_token": csrf[1],
                    "action": f"submit:{request_id}",
                    **_form_fields(
                        request_id, survey_date="2026-02-27", value="23,4", value_dash_0="31"
                    ),
                    f"r-{request_id}-comment": "Stichtag Schulstatistik",
                },
                follow_redirects=False,
            )
            assert done.status_code == 303 and done.headers["location"].endswith("/danke?lang=de")
            thanks = browser.get(_path(done.headers["location"]))
            assert "Vielen Dank" in thanks.text and "23,4 %" in thanks.text

            with rt.sessions() as s:
                rows = s.scalars(
                    select(IndicatorValue)
                    .where(IndicatorValue.data_request_id == request_id)
                    .order_by(IndicatorValue.district)
                ).all()
                assert [(r.district, r.value) for r in rows] == [("", 23.4), ("Bensberg", 31.0)]
                city = rows[0]
                assert city.delivered_by == f"contact:{world.contact_id}"
                assert city.delivered_by_name == "Kontakt 0"
                assert city.survey_date == date(2026, 2, 27)
                assert city.comment == "Stichtag Schulstatistik"
                assert not city.flagged  # +4 % on 22.5
                closed = s.get(DataRequest, request_id)
                assert closed is not None
                assert (closed.status, closed.next_action_at, closed.deliveries) == (
                    "delivered",
                    None,
                    1,
                )
                confirmations = s.scalars(
                    select(OutboxMessage).where(OutboxMessage.kind == "confirmation_data")
                ).all()
                assert [c.dedupe_key for c in confirmations] == [f"dr:{request_id}:confirmation:1"]
                city_id = city.id

            # A second delivery for the same period corrects the value, far from the series:
            # it is stored, flagged and the contact is told so.
            corrected = browser.post(
                f"/f/{raw[1]}",
                data={
                    "csrf_token": csrf[1],
                    "action": f"submit:{request_id}",
                    **_form_fields(
                        request_id, survey_date="2026-02-27", value="48", value_dash_0="31"
                    ),
                },
            )
            assert corrected.status_code == 303
            shown = browser.get(_path(corrected.headers["location"]))
            assert "Ungewöhnlich weit vom bisherigen Verlauf" in shown.text
            reopened = browser.get(f"/f/{raw[1]}")
            assert "Korrektur speichern" in reopened.text
            assert "Ungewöhnlich weit vom bisherigen Verlauf" in reopened.text
    finally:
        server.stop()

    with rt.sessions() as s:
        values = s.scalars(
            select(IndicatorValue).where(IndicatorValue.data_request_id == request_id)
        ).all()
        assert len(values) == 2  # corrected in place, not a duplicate
        city = next(v for v in values if v.district == "")
        assert city.id == city_id and city.value == 48.0 and city.revision == 2
        assert city.flagged and city.flag_reason.startswith("ungewöhnlich")
        assert [h["value"] for h in city.history] == [23.4]
        keys = sorted(
            s.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == "confirmation_data")
            )
        )
        assert keys == [f"dr:{request_id}:confirmation:1", f"dr:{request_id}:confirmation:2"]
        events = s.scalars(select(AuditEvent.event).order_by(AuditEvent.id)).all()
        assert events == ["data_delivered", "data_corrected"]
    # The confirmation goes out with a copy of the (corrected) values and the flag.
    sent = send_pending(rt)
    assert sent.by_kind == {"confirmation_data": 1}
    receipt = _plain(sink.messages[-1])
    assert "48,0 % (ungewöhnlich weit vom bisherigen Verlauf – bitte prüfen)" in receipt
    assert "Bensberg: 31,0 %" in receipt


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=BERLIN)


def _sweep_twice(rt: Runtime, clock: FrozenClock, moment: datetime) -> None:
    clock.set(moment)
    run_sweep(sessions=rt.sessions, clock=clock)
    run_sweep(sessions=rt.sessions, clock=clock)


def test_an_undelivered_request_is_reminded_and_escalated_once_per_step(
    rt: Runtime, clock: FrozenClock
) -> None:
    world = build(rt)
    _sweep_twice(rt, clock, _at(date(2026, 3, 2)))
    assert _kinds(rt) == ["data_request"]
    # Reminders 14 and 3 days before 20 March and on the day, each at 08:00.
    for day, expected in (
        (date(2026, 3, 6), ["data_reminder", "data_request"]),
        (date(2026, 3, 17), ["data_reminder", "data_reminder", "data_request"]),
        (
            date(2026, 3, 20),
            ["data_final_reminder", "data_reminder", "data_reminder", "data_request"],
        ),
    ):
        _sweep_twice(rt, clock, _at(day))
        assert _kinds(rt) == expected, day
    # 7 days overdue: the department head; 21 days: the steering-group level, no email.
    _sweep_twice(rt, clock, _at(date(2026, 3, 27)))
    with rt.sessions() as s:
        heads = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "data_escalation_head")
        ).all()
        assert [h.recipient_email for h in heads] == [world.head_email]
        assert s.scalars(select(DataRequest.escalation_level)).one() == 1
    _sweep_twice(rt, clock, _at(date(2026, 4, 10)))
    with rt.sessions() as s:
        request = s.scalars(select(DataRequest)).one()
        assert (request.escalation_level, request.next_action_at) == (2, None)
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 5
        keys = set(s.scalars(select(OutboxMessage.dedupe_key)))
    assert f"dr:{request.id}:1:reminder:0" in keys and f"dr:{request.id}:1:reminder:2" in keys


def test_a_late_sweep_sends_only_the_latest_reminder(rt: Runtime, clock: FrozenClock) -> None:
    build(rt)
    _sweep_twice(rt, clock, _at(date(2026, 3, 2)))
    _sweep_twice(rt, clock, _at(date(2026, 3, 21)))
    assert _kinds(rt) == ["data_final_reminder", "data_request"]


def test_a_request_opened_after_its_reminders_owes_none_of_them(
    rt: Runtime, clock: FrozenClock
) -> None:
    build(rt)
    # The first sweep of the period runs on the due date itself (a beat outage, say): the
    # request goes out alone, never with a reminder in the same second (issue 13, item 6).
    _sweep_twice(rt, clock, _at(date(2026, 3, 20), 10))
    assert _kinds(rt) == ["data_request"]
    # Nothing opens too early: the September request waits for its own window.
    with rt.sessions() as s:
        assert s.scalars(select(DataRequest.period)).all() == ["2026-03"]


def test_no_request_without_a_source_or_for_an_archived_indicator(
    rt: Runtime, clock: FrozenClock
) -> None:
    world = build(rt)
    with unit_of_work(rt.sessions) as s:
        indicator = s.get(Indicator, world.indicator_id)
        assert indicator is not None
        indicator.active = False
    _sweep_twice(rt, clock, _at(date(2026, 3, 2)))
    assert _kinds(rt) == []


def test_two_concurrent_sweep_processes_open_and_remind_once(
    database_url: str, clock: FrozenClock, tmp_path: Path
) -> None:
    rt = make_runtime(database_url, clock, tmp_path)
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        measures = factories.measures(s, org, 8, contacts=8)
        for i in range(40):
            save_indicator(
                s,
                organisation_id=org.id,
                code=f"K{i:02d}",
                values={
                    "statement": f"Kennzahl {i}",
                    "unit": "count",
                    "direction": "up",
                    "due_months": [3],
                    "due_day": 20,
                    "source_contact_id": measures[i % 8].contact_id,
                },
                goal_ids=None,
                measure_ids=None,
                now=clock.now(),
            )
    moment = _at(date(2026, 3, 18))  # opened late: the invitation alone, no reminder yet
    url = rt.engine.url.render_as_string(hide_password=False)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.sweep_process", url, moment.isoformat(), "7"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    clock.set(moment)
    run_sweep(sessions=rt.sessions, clock=clock)  # and a third, late one
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(DataRequest)) == 40
        kinds = dict(
            s.execute(select(OutboxMessage.kind, func.count()).group_by(OutboxMessage.kind)).all()
        )
        steps = set(s.scalars(select(DataRequest.action_step)))
    assert kinds == {"data_request": 40}
    assert steps == {2}  # next: the reminder on the due date
    rt.dispose()
    runtime.install(None)


def test_a_link_reaches_only_its_own_sources_requests_and_expires_politely(
    mailing_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    rt = mailing_rt
    mine = build(rt)
    with unit_of_work(rt.sessions) as s:
        org = s.get(Organisation, mine.org_id)
        assert org is not None
        org.contact_email = "integration@stadt.example.org"  # no coordinator account: this address
        other = s.scalars(select(Contact).where(Contact.is_head.is_(True))).one()
        indicator, _ = save_indicator(
            s,
            organisation_id=mine.org_id,
            code="C-K1",
            values={
                "statement": "Kontakte mit Migrantenselbstorganisationen",
                "unit": "count",
                "direction": "up",
                "due_months": [3],
                "due_day": 20,
                "source_contact_id": other.id,
            },
            goal_ids=None,
            measure_ids=None,
            now=clock.now() - timedelta(days=400),
        )
        other_indicator = indicator.id
    run_sweep(sessions=rt.sessions, clock=clock)
    with unit_of_work(rt.sessions) as s:
        theirs = s.scalars(
            select(DataRequest.id).where(DataRequest.indicator_id == other_indicator)
        ).one()
        raw = issue_token(
            session=s,
            organisation_id=mine.org_id,
            contact_id=mine.contact_id,
            cycle_id=None,
            phase=Phase.DATA_DELIVERY,
            expires_at=clock.now() + timedelta(days=30),
            now=clock.now(),
            issued_by="test",
        )
    client = TestClient(create_app())
    page = client.get(f"/f/{raw}")
    assert "B-K1" in page.text and "C-K1" not in page.text
    csrf = CSRF.search(page.text)
    assert csrf is not None
    posted = client.post(
        f"/f/{raw}",
        data={
            "csrf_token": csrf[1],
            "action": f"submit:{theirs}",
            **_form_fields(theirs, survey_date="2026-02-27", value="12"),
        },
        follow_redirects=False,
    )
    assert posted.status_code == 303  # nothing to do for this link, nothing stored
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(IndicatorValue)) == 0
        assert s.get(DataRequest, theirs).status == "open"  # type: ignore[union-attr]

    # After the link's end the contact may ask for a new one; the coordinators are told.
    clock.advance(timedelta(days=31))
    expired = client.get(f"/f/{raw}")
    assert expired.status_code == 410
    asked = client.post(f"/f/{raw}/new-link", data={"csrf_token": csrf[1]})
    assert asked.status_code == 200
    with rt.sessions() as s:
        request_row = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "link_request")
        ).one()
        assert request_row.context["phase"] == "data_delivery"
    send_pending(rt)
    _, sink = smtp_sink
    note = next(m for m in sink.messages if m["X-Zielflow-Kind"] == "link_request")
    assert "Kennzahlenlieferung" in _plain(note)


def test_an_archived_organisation_is_asked_for_data_only_after_it_returns(
    rt: Runtime, clock: FrozenClock
) -> None:
    from tests.form_support import set_archived

    world = build(rt)
    set_archived(rt, world.org_id, clock.now())
    _sweep_twice(rt, clock, _at(date(2026, 3, 2)))
    assert _kinds(rt) == []
    set_archived(rt, world.org_id, None)
    _sweep_twice(rt, clock, _at(date(2026, 3, 3)))
    assert _kinds(rt) == ["data_request"]
