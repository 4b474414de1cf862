"""The Monitoringgruppe at work (issue 16, part 3) on both databases: geprüft / bestätigt /
korrigiert with who and when, the data status, the Datenstand email once per period, the
JSON API and the page, and the Jahresbericht's mark of unchecked values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.app import create_app
from api.dashboard import value_checks as value_checks_page
from api.deps import organisation_words
from api.routes import value_checks as value_checks_api
from notifications.data_status import queue_data_status
from notifications.data_status_mail import KIND, data_status_context
from notifications.models import OutboxMessage
from notifications.render import render_template
from tests.dashboard_seed import EMAILS, Seed, bearer, csrf_headers, login, seed
from workflow import messages
from workflow.accounts import Role
from workflow.bodies.models import Body, BodyKind, BodyMember
from workflow.catalogue.models import Contact
from workflow.clock import FrozenClock
from workflow.cycles.models import AuditEvent
from workflow.db import unit_of_work
from workflow.indicators.checks import Checked, CheckRefused, check_value, data_status
from workflow.indicators.models import (
    CheckState,
    Computation,
    DataRequest,
    Indicator,
    IndicatorValue,
    RequestStatus,
)
from workflow.indicators.service import record_value
from workflow.indicators.validation import Entry
from workflow.reports.build import build_report
from workflow.runtime import Runtime

SERIES = ((date(2023, 3, 20), 148.0), (date(2024, 3, 20), 141.0), (date(2025, 3, 20), 137.0))
FAR = (date(2026, 2, 20), 40.0)  # far from the series: flagged
ACTOR = "user:99"


@dataclass
class World:
    seed: Seed
    indicator_id: int
    value_ids: list[int]  # the series, oldest first; the last one is flagged
    now: datetime


def _world(rt: Runtime, clock: FrozenClock) -> World:
    s = seed(rt)
    now = clock.now()
    with unit_of_work(rt.sessions) as session:
        contact = session.scalars(
            select(Contact).where(Contact.organisation_id == s.organisation_id).order_by(Contact.id)
        ).first()
        assert contact is not None
        indicator = Indicator(
            organisation_id=s.organisation_id,
            code="T-K1",
            statement="Der Sprachförderbedarf bei der Einschulung sinkt",
            unit="count",
            direction="down",
            source_contact_id=contact.id,
            created_at=now,
        )
        session.add(indicator)
        session.flush()
        ids = [
            record_value(
                session,
                indicator=indicator,
                survey_date=day,
                entry=Entry(district="", value=value),
                comment="",
                actor="source",
                actor_name="Gesundheitsamt",
                now=now,
            ).row.id
            for day, value in (*SERIES, FAR)
        ]
        today = now.date()
        for period, due, status in (
            ("2026-02", today - timedelta(days=15), RequestStatus.OPEN),  # overdue
            ("2026-03", today + timedelta(days=3), RequestStatus.OPEN),  # due this week
            ("2026-04", today + timedelta(days=40), RequestStatus.OPEN),  # not yet
            ("2026-01", today - timedelta(days=40), RequestStatus.DELIVERED),
        ):
            session.add(
                DataRequest(
                    organisation_id=s.organisation_id,
                    indicator_id=indicator.id,
                    period=period,
                    contact_id=contact.id,
                    status=status.value,
                    opened_at=now - timedelta(days=60),
                    due_on=due,
                )
            )
        indicator_id = indicator.id
    return World(s, indicator_id, ids, now)


def _app() -> FastAPI:
    """The app with this part's routers, as the lead will include them: the page before
    /kennzahlen/{indicator_id}, which would otherwise take "pruefung" for an id."""
    app = create_app()
    before = len(app.router.routes)
    app.include_router(value_checks_page.router)
    app.include_router(
        value_checks_api.router, dependencies=[Depends(organisation_words, scope="function")]
    )
    app.router.routes[:] = app.router.routes[before:] + app.router.routes[:before]
    return app


def _join_monitoring_group(rt: Runtime, w: World, *, user: Role | None, emails: list[str]) -> int:
    with unit_of_work(rt.sessions) as session:
        body = Body(
            organisation_id=w.seed.organisation_id,
            name="Monitoringgruppe Integration",
            kind=BodyKind.MONITORING_GROUP.value,
        )
        session.add(body)
        session.flush()
        for i, email in enumerate(emails):
            session.add(
                BodyMember(
                    body_id=body.id,
                    name=f"Mitglied {i + 1}",
                    email=email,
                    language="en" if i == 1 else "de",
                    user_id=w.seed.user_ids[user] if user and i == 0 else None,
                )
            )
        return body.id


def _value(session: Session, value_id: int) -> IndicatorValue:
    row = session.get(IndicatorValue, value_id)
    assert row is not None
    return row


def _check(
    session: Session,
    w: World,
    value_id: int,
    state: str,
    *,
    by: str = ACTOR,
    now: datetime | None = None,
    **more: Any,
) -> Checked:
    """``check_value`` in the seeded organisation, by ACTOR at ``w.now`` unless told otherwise."""
    return check_value(
        session=session,
        organisation_id=w.seed.organisation_id,
        value_id=value_id,
        state=state,
        by=by,
        now=now or w.now,
        **more,
    )


def test_each_step_records_who_and_when_and_a_correction_keeps_the_old_value(
    rt: Runtime, clock: FrozenClock
) -> None:
    w = _world(rt, clock)
    first, flagged = w.value_ids[0], w.value_ids[-1]
    later = w.now + timedelta(hours=1)
    with unit_of_work(rt.sessions) as session:
        _check(session, w, first, "checked", note="mit der Statistikstelle abgeglichen")
        _check(session, w, w.value_ids[1], "confirmed", by="user:98", now=later)
        with pytest.raises(CheckRefused) as refused:
            _check(session, w, flagged, "corrected", now=later)
        assert refused.value.code == "indicator.check_value_missing"
        assert _value(session, flagged).flagged and _value(session, flagged).revision == 1
        corrected = _check(
            session,
            w,
            flagged,
            "corrected",
            now=later,
            note="Tippfehler der Quelle",
            corrected_value=130,
        )
        assert (corrected.revision, corrected.value) == (2, 130.0)
    with rt.sessions() as session:
        one, two, fixed = (_value(session, i) for i in (first, w.value_ids[1], flagged))
        assert (one.check_state, one.checked_by, one.value) == ("checked", ACTOR, 148.0)
        assert one.check_note == "mit der Statistikstelle abgeglichen"
        assert (two.check_state, two.checked_by, two.value) == ("confirmed", "user:98", 141.0)
        assert one.checked_at is not None and two.checked_at is not None
        assert two.checked_at - one.checked_at == timedelta(hours=1)
        assert (fixed.check_state, fixed.value, fixed.revision, fixed.flagged) == (
            "corrected",
            130.0,
            2,
            False,
        )
        [old] = fixed.history
        assert (old["value"], old["revision"], old["flagged"], old["delivered_by"]) == (
            40.0,
            1,
            True,
            "source",
        )
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.event == "value_checked").order_by(AuditEvent.id)
        ).all()
        assert [(e.actor, e.to_state, e.payload["indicator_value_id"]) for e in events] == [
            (ACTOR, "checked", first),
            ("user:98", "confirmed", w.value_ids[1]),
            (ACTOR, "corrected", flagged),
        ]
        assert (events[-1].payload["value_before"], events[-1].payload["value"]) == (40.0, 130.0)
    for lang in ("de", "en"):
        assert messages.has("indicator.check_value_missing", lang)
    # The source delivers again: nobody has looked at the new value yet.
    with unit_of_work(rt.sessions) as session:
        indicator = session.get(Indicator, w.indicator_id)
        assert indicator is not None
        record_value(
            session,
            indicator=indicator,
            survey_date=FAR[0],
            entry=Entry(district="", value=131),
            comment="",
            actor="source",
            actor_name="Gesundheitsamt",
            now=later,
        )
    with rt.sessions() as session:
        assert _value(session, flagged).check_state == CheckState.UNCHECKED.value


def test_a_computed_value_is_corrected_through_its_base_figures(
    rt: Runtime, clock: FrozenClock
) -> None:
    w = _world(rt, clock)
    with unit_of_work(rt.sessions) as session:
        indicator = Indicator(
            organisation_id=w.seed.organisation_id,
            code="T-K2",
            statement="Anteil ausländischer Kinder an Gymnasien",
            unit="percent",
            direction="up",
            computation=Computation.RATIO.value,
            created_at=w.now,
        )
        session.add(indicator)
        session.flush()
        row = IndicatorValue(
            organisation_id=w.seed.organisation_id,
            indicator_id=indicator.id,
            survey_date=date(2026, 1, 31),
            value=25.0,
            numerator=10,
            denominator=40,
            delivered_by="source",
            delivered_at=w.now,
        )
        session.add(row)
        session.flush()
        with pytest.raises(CheckRefused) as refused:
            _check(session, w, row.id, "corrected", corrected_value=30)
        assert refused.value.code == "indicator.check_figures_missing"
        done = _check(session, w, row.id, "corrected", numerator=12, denominator=40)
        assert done.value == pytest.approx(30.0)
        assert (row.numerator, row.denominator, row.history[0]["numerator"]) == (12, 40, 10)


def test_the_data_status_lists_what_the_database_holds(rt: Runtime, clock: FrozenClock) -> None:
    w = _world(rt, clock)
    today = w.now.date()
    with rt.sessions() as session:
        status = data_status(session, w.seed.organisation_id, today)
        missing = session.execute(
            text(
                "SELECT id FROM data_request WHERE organisation_id = :org AND status = 'open'"
                " AND due_on <= :until ORDER BY due_on"
            ),
            {"org": w.seed.organisation_id, "until": today + timedelta(days=7)},
        ).scalars()
        values = session.execute(
            text(
                "SELECT id, flagged FROM indicator_value WHERE organisation_id = :org"
                " AND cell = '' AND check_state = 'unchecked' ORDER BY survey_date"
            ),
            {"org": w.seed.organisation_id},
        ).all()
    assert [r.request_id for r in status.missing] == list(missing)
    assert [r.overdue for r in status.missing] == [True, False]
    assert [r.value_id for r in status.flagged] == [i for i, f in values if f]
    assert [r.value_id for r in status.unchecked] == [i for i, f in values if not f]
    assert (status.missing_count, status.flagged_count, status.unchecked_count) == (2, 1, 3)


def _rendered(row: OutboxMessage) -> str:
    base = {
        "greeting": "Guten Tag,",
        "org_name": "Musterstadt",
        "org_office_name": "Kommunales Integrationszentrum",
        "org_office_address": "",
        "org_contact_email": "ki@musterstadt.example.org",
        "dashboard_url": "https://zielflow.example.org",
        "lang": row.language,
    }
    ctx = data_status_context(row.context, row.language, "https://zielflow.example.org")
    out = render_template(KIND, row.language, base | ctx)
    return out.subject + "\n" + out.text + out.html


def test_the_datenstand_goes_once_per_period_to_the_group_or_else_the_coordinators(
    rt: Runtime, clock: FrozenClock
) -> None:
    w = _world(rt, clock)

    def rows() -> list[OutboxMessage]:
        with rt.sessions() as session:
            return list(
                session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.kind == KIND)
                    .order_by(OutboxMessage.id)
                )
            )

    from tests.form_support import set_archived

    set_archived(rt, w.seed.organisation_id, clock.now())
    assert queue_data_status(sessions=rt.sessions, clock=clock) == 0  # archived: none
    set_archived(rt, w.seed.organisation_id, None)
    # No Monitoringgruppe yet: the coordinators get it, once however often the sweep runs.
    assert queue_data_status(sessions=rt.sessions, clock=clock) == 1
    assert queue_data_status(sessions=rt.sessions, clock=clock) == 0
    [to_coordinator] = rows()
    assert to_coordinator.recipient_email == EMAILS[Role.COORDINATOR]
    _join_monitoring_group(rt, w, user=None, emails=["a@example.org", "b@example.org"])
    assert queue_data_status(sessions=rt.sessions, clock=clock) == 2
    assert queue_data_status(sessions=rt.sessions, clock=clock) == 0
    german, english = rows()[1:]
    assert (german.recipient_email, english.language) == ("a@example.org", "en")
    text_de, text_en = _rendered(german), _rendered(english)
    for heading in (
        "Fehlende Datenlieferungen (2)",
        "Auffällige Werte (1)",
        "Noch nicht geprüfte Werte (3)",
    ):
        assert heading in text_de
    for heading in (
        "Data deliveries missing (2)",
        "Unusual values (1)",
        "Values not yet checked (3)",
    ):
        assert heading in text_en
    assert "Monitoringgruppe Integration: Datenstand der Kennzahlen" in text_de
    assert "40 am 20.02.2026" in text_de and "(überfällig)" in text_de
    assert "https://zielflow.example.org/kennzahlen/pruefung" in text_de
    # A week later: the next period's email.
    clock.advance(timedelta(days=7))
    assert queue_data_status(sessions=rt.sessions, clock=clock) == 2


def test_the_api_lists_and_checks_with_the_right_roles(rt: Runtime, clock: FrozenClock) -> None:
    w = _world(rt, clock)
    client = TestClient(_app())
    steering, coordinator = bearer(w.seed, Role.STEERING), bearer(w.seed, Role.COORDINATOR)
    listed = client.get("/api/v1/indicator-values/unchecked", headers=steering)
    assert listed.status_code == 200
    body = listed.json()
    assert [(v["id"], v["flagged"]) for v in body] == [
        (w.value_ids[-1], True),
        *((i, False) for i in w.value_ids[:-1]),
    ]
    url = f"/api/v1/indicator-values/{w.value_ids[-1]}/check"
    refused = client.post(url, json={"state": "confirmed"}, headers=steering)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    missing = client.post(url, json={"state": "corrected"}, headers=coordinator)
    assert missing.status_code == 422
    error = missing.json()["error"]
    assert (error["code"], error["details"]["field"]) == ("check_value_missing", "value")
    assert "richtigen Wert" in error["message"]
    english = client.post(f"{url}?lang=en", json={"state": "corrected"}, headers=coordinator)
    assert "right value" in english.json()["error"]["message"]
    unknown = client.post(
        "/api/v1/indicator-values/999999/check", json={"state": "checked"}, headers=coordinator
    )
    assert unknown.status_code == 404
    # A steering account that sits in the Monitoringgruppe may check.
    _join_monitoring_group(rt, w, user=Role.STEERING, emails=[EMAILS[Role.STEERING]])
    done = client.post(url, json={"state": "confirmed", "note": "passt"}, headers=steering)
    assert done.status_code == 200, done.text
    assert done.json()["check_state"] == "confirmed"
    with rt.sessions() as session:
        row = _value(session, w.value_ids[-1])
        assert (row.check_state, row.checked_by, row.check_note) == (
            "confirmed",
            f"user:{w.seed.user_ids[Role.STEERING]}",
            "passt",
        )
    after = client.get("/api/v1/indicator-values/unchecked", headers=steering).json()
    assert w.value_ids[-1] not in [v["id"] for v in after]


def test_the_page_shows_the_three_lists_and_saves_a_correction(
    rt: Runtime, clock: FrozenClock
) -> None:
    w = _world(rt, clock)
    client = TestClient(_app())
    login(client, Role.COORDINATOR)
    shown = client.get("/kennzahlen/pruefung")
    assert shown.status_code == 200
    for count in ("Fehlende Datenlieferungen (2)", "Auffällige Werte (1)"):
        assert count in shown.text
    assert "Noch nicht geprüfte Werte (3)" in shown.text
    token = csrf_headers(client)["X-CSRF-Token"]
    url = f"/kennzahlen/pruefung/{w.value_ids[-1]}"
    refused = client.post(url, data={"csrf_token": token, "state": "corrected", "value": ""})
    assert refused.status_code == 422 and "richtigen Wert" in refused.text
    fraction = client.post(url, data={"csrf_token": token, "state": "corrected", "value": "130,5"})
    assert fraction.status_code == 422 and "passt nicht zur Einheit" in fraction.text
    saved = client.post(
        url,
        data={"csrf_token": token, "state": "corrected", "value": "130", "note": "Tippfehler"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    with rt.sessions() as session:
        row = _value(session, w.value_ids[-1])
        assert (row.check_state, row.value, row.revision) == ("corrected", 130.0, 2)
    assert "Auffällige Werte (0)" in client.get("/kennzahlen/pruefung").text


def test_the_jahresbericht_marks_an_unchecked_latest_value(rt: Runtime, clock: FrozenClock) -> None:
    w = _world(rt, clock)

    def section() -> str:
        with rt.sessions() as session:
            html = build_report(
                session,
                organisation_id=w.seed.organisation_id,
                kind="annual",
                year=2026,
                report_date=w.now.date(),
            ).content.decode()
        return html[html.index('id="kennzahlen"') : html.index('id="entscheidungen"')]

    before = section()
    assert 'data-mark="unchecked">ungeprüft</span>' in before
    assert "„ungeprüft“: Den letzten Wert hat die Monitoringgruppe" in before
    with unit_of_work(rt.sessions) as session:
        _check(session, w, w.value_ids[-1], "confirmed")
    assert 'data-mark="unchecked"' not in section()


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("de", ["1.234,5", "12", "0,25", "–", "20.02.2026", "31.12.2027", ""]),
        ("en", ["1,234.5", "12", "0.25", "–", "20 February 2026", "31 December 2027", ""]),
    ],
)
def test_the_datenstand_writes_numbers_and_days_in_the_readers_notation(
    lang: str, expected: list[str]
) -> None:
    def row(value: float | None) -> dict[str, object]:
        return {"survey_date": "2026-02-20", "value": value}

    status = {
        "flagged": [row(1234.5), row(12.0)],
        "unchecked": [row(0.25), row(None)],
        "missing": [{"due_on": "2027-12-31"}, {"due_on": None}],
    }
    ctx = data_status_context({"status": status}, lang, "https://zielflow.example.org")
    values = [r["value"] for r in ctx["flagged"] + ctx["unchecked"]]
    days = [ctx["flagged"][0]["survey_date"]] + [r["due_on"] for r in ctx["missing"]]
    assert values + days == expected
