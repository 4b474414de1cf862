"""Digests per body: every kind of body, its scope and cadence, each member's own news and
language; a period without anything new is skipped, a meeting always gets its digest."""

from __future__ import annotations

import threading
from datetime import date, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from notifications.digest import DigestReport, build_digests
from notifications.models import OutboxMessage
from notifications.render import Renderer
from tests import factories
from tests.dashboard_seed import login
from tests.dashboard_seed import seed as dashboard_seed
from tests.test_sweep import _at, sweep
from workflow.accounts import Role
from workflow.bodies.models import Body, BodyField, BodyMember, Meeting
from workflow.catalogue.models import Contact, Field, Organisation
from workflow.clock import FrozenClock
from workflow.cycles.models import MeasureCycle
from workflow.cycles.service import open_cycle, record_interview
from workflow.db import unit_of_work
from workflow.decisions.models import Decision
from workflow.indicators.models import DataRequest, Indicator
from workflow.meetings.models import AgendaItem
from workflow.runtime import Runtime
from workflow.transitions import apply_event

ALL = ["A0001", "A0002", "B0001", "B0002"]


def seed(rt: Runtime, clock: FrozenClock) -> None:
    """Two fields (AF, BF) of two measures each, interviewed on Mon 2 March 2026: agreements
    due 13 April, escalated to the bodies on Mon 4 May (21 days overdue)."""
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        factories.measures(s, org, 2, prefix="A")
        factories.measures(s, org, 2, prefix="B")
        open_cycle(session=s, clock=clock, organisation_id=org.id, year=2026)
        for mc_id in s.scalars(select(MeasureCycle.id).order_by(MeasureCycle.id)):
            record_interview(
                session=s,
                clock=clock,
                measure_cycle_id=mc_id,
                expected_version=None,
                actor="user:1",
                decision="keep",
            )


def add_body(
    rt: Runtime,
    name: str,
    *members: tuple[str, str],
    kind: str = "steering_group",
    scope: str = "all",
    cadence: str = "weekly",
    fields: tuple[str, ...] = (),
) -> int:
    with unit_of_work(rt.sessions) as s:
        org = s.scalars(select(Organisation)).one()
        body = Body(
            organisation_id=org.id, name=name, kind=kind, scope=scope, digest_cadence=cadence
        )
        s.add(body)
        s.flush()
        for code in fields:
            field = s.scalars(select(Field).where(Field.code == code)).one()
            s.add(BodyField(body_id=body.id, field_id=field.id))
        for email, lang in members:
            s.add(BodyMember(body_id=body.id, name=email.split("@")[0], email=email, language=lang))
        return body.id


def build(rt: Runtime, clock: FrozenClock, moment: datetime | None = None) -> DigestReport:
    if moment is not None:
        clock.set(moment)
    return build_digests(sessions=rt.sessions, clock=clock)


def digests(rt: Runtime, email: str | None = None) -> list[dict[str, Any]]:
    with rt.sessions() as s:
        rows = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "digest").order_by(OutboxMessage.id)
        ).all()
        return [
            {
                "key": r.dedupe_key,
                "to": r.recipient_email,
                "language": r.language,
                **r.context["digest"],
            }
            for r in rows
            if email is None or r.recipient_email == email
        ]


def codes(digest: dict[str, Any], section: str) -> list[str]:
    return sorted(str(i["code"]) for i in digest[section])


def submit_agreement(rt: Runtime, clock: FrozenClock, code: str, moment: datetime) -> None:
    clock.set(moment)
    with unit_of_work(rt.sessions) as s:
        mc_id = s.scalars(select(MeasureCycle.id).where(MeasureCycle.measure.has(code=code))).one()
        apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            event="submit_agreement",
            expected_version=None,
            actor="contact:1",
        )


def test_two_steering_bodies_each_get_every_escalation_no_stealing(
    rt: Runtime, clock: FrozenClock
) -> None:
    seed(rt, clock)
    add_body(rt, "Steuerungsgruppe Integration", ("sommer@stadt.example.org", "de"))
    add_body(rt, "Lenkungsgruppe", ("winter@stadt.example.org", "de"))
    sweep(rt, clock, _at(2026, 5, 4))
    assert build(rt, clock) == DigestReport(sent=2)
    assert build(rt, clock) == DigestReport()
    for email in ("sommer@stadt.example.org", "winter@stadt.example.org"):
        [first] = digests(rt, email)
        assert codes(first, "new_items") == ALL
        assert first["totals"] == {"new": 4, "still_open": 0, "resolved": 0}
    assert digests(rt)[1]["body_name"] == "Lenkungsgruppe"

    submit_agreement(rt, clock, "A0001", _at(2026, 5, 6, 10))
    sweep(rt, clock, _at(2026, 5, 11))
    assert build(rt, clock) == DigestReport(sent=2)
    for email in ("sommer@stadt.example.org", "winter@stadt.example.org"):
        second = digests(rt, email)[1]
        assert codes(second, "resolved_items") == ["A0001"]
        assert codes(second, "still_open") == ALL[1:]
        assert second["new_items"] == []
    with rt.sessions() as s:
        statuses = s.scalars(
            select(OutboxMessage.status).where(OutboxMessage.kind == "digest_item")
        ).all()
        assert statuses == ["included"] * 4  # the rows stay as facts, reported by both


def test_a_body_of_some_fields_sees_only_their_measures(rt: Runtime, clock: FrozenClock) -> None:
    seed(rt, clock)
    add_body(
        rt,
        "Arbeitsgruppe Bildung",
        ("ag@stadt.example.org", "de"),
        kind="working_group",
        scope="fields",
        fields=("AF",),
    )
    add_body(rt, "Steuerungsgruppe", ("sg@stadt.example.org", "de"))
    sweep(rt, clock, _at(2026, 5, 4))
    assert build(rt, clock) == DigestReport(sent=2)
    assert codes(digests(rt, "ag@stadt.example.org")[0], "new_items") == ["A0001", "A0002"]
    assert codes(digests(rt, "sg@stadt.example.org")[0], "new_items") == ALL

    # B0001 answered: news for the Steuerungsgruppe, none for the Arbeitsgruppe (skipped).
    submit_agreement(rt, clock, "B0001", _at(2026, 5, 6, 10))
    sweep(rt, clock, _at(2026, 5, 11))
    assert build(rt, clock) == DigestReport(sent=1, skipped=1)
    assert len(digests(rt, "ag@stadt.example.org")) == 1
    assert codes(digests(rt, "sg@stadt.example.org")[1], "resolved_items") == ["B0001"]


def _indicator_overdue(rt: Runtime, clock: FrozenClock) -> int:
    """An indicator whose delivery reached the bodies' escalation level (2)."""
    with unit_of_work(rt.sessions) as s:
        org = s.scalars(select(Organisation)).one()
        contact = s.scalars(select(Contact).order_by(Contact.id)).first()
        assert contact is not None
        indicator = Indicator(
            organisation_id=org.id,
            code="K1",
            statement="Anteil der Kinder mit Sprachförderbedarf",
            unit="percent",
            direction="down",
            created_at=clock.now(),
        )
        s.add(indicator)
        s.flush()
        request = DataRequest(
            organisation_id=org.id,
            indicator_id=indicator.id,
            period="2026-03",
            contact_id=contact.id,
            opened_at=clock.now(),
            due_on=date(2026, 3, 15),
            escalation_level=2,
        )
        s.add(request)
        s.flush()
        return request.id


def _decision(
    rt: Runtime, clock: FrozenClock, body_id: int, due: date, text: str, kind: str = "assignment"
) -> int:
    with unit_of_work(rt.sessions) as s:
        org = s.scalars(select(Organisation)).one()
        meeting = s.scalars(select(Meeting).where(Meeting.body_id == body_id)).first()
        if meeting is None:
            meeting = Meeting(body_id=body_id, held_on=date(2026, 4, 20), title="Sitzung")
            s.add(meeting)
            s.flush()
        decision = Decision(
            organisation_id=org.id,
            meeting_id=meeting.id,
            kind=kind,
            text=text,
            due_on=due,
            created_at=clock.now(),
            created_by="user:1",
        )
        s.add(decision)
        s.flush()
        return decision.id


def test_an_indicators_only_body_gets_indicators_and_decisions_but_no_measures(
    rt: Runtime, clock: FrozenClock
) -> None:
    seed(rt, clock)
    body = add_body(
        rt,
        "Monitoringgruppe",
        ("monitor@stadt.example.org", "de"),
        kind="monitoring_group",
        scope="indicators",
    )
    sweep(rt, clock, _at(2026, 5, 4))
    assert build(rt, clock) == DigestReport(skipped=1)  # four measures escalated: not for it

    request_id = _indicator_overdue(rt, clock)
    soon = _decision(rt, clock, body, date(2026, 5, 20), "Bericht zur Datenlage vorlegen")
    _decision(rt, clock, body, date(2026, 7, 1), "Später fällig")  # beyond two weeks
    assert build(rt, clock, _at(2026, 5, 11)) == DigestReport(sent=1)
    [digest] = digests(rt)
    assert digest["new_items"] == digest["still_open"] == digest["resolved_items"] == []
    [indicator] = digest["indicators"]
    assert (indicator["code"], indicator["is_new"], indicator["level_label"]) == (
        "K1",
        True,
        "Eskalationsstufe 2",
    )
    assert indicator["period_label"] == "März 2026"
    [decision] = digest["decisions"]
    assert decision["text"] == "Bericht zur Datenlage vorlegen"
    assert (decision["kind_label"], decision["due_on"], decision["is_new"]) == (
        "Auftrag",
        "20.05.2026",
        True,
    )
    assert digest["totals"] == {"new": 2, "still_open": 0, "resolved": 0}

    with unit_of_work(rt.sessions) as s:
        s.execute(
            update(DataRequest).where(DataRequest.id == request_id).values(status="delivered")
        )
        s.execute(update(Decision).where(Decision.id == soon).values(status="done"))
    assert build(rt, clock, _at(2026, 5, 18)) == DigestReport(sent=1)
    last = digests(rt)[-1]
    assert [(i["code"], i["resolution"]) for i in last["indicators"]] == [("K1", "geliefert")]
    assert [(d["text"], d["resolution"]) for d in last["decisions"]] == [
        ("Bericht zur Datenlage vorlegen", "erledigt")
    ]
    assert last["totals"] == {"new": 0, "still_open": 0, "resolved": 2}


def test_an_escalated_task_reaches_only_the_body_that_gave_it(
    rt: Runtime, clock: FrozenClock
) -> None:
    seed(rt, clock)
    giver = add_body(
        rt, "Begleitgremium", ("beirat@stadt.example.org", "de"), kind="advisory_board"
    )
    add_body(rt, "Steuerungsgruppe", ("sg@stadt.example.org", "de"))
    task = _decision(rt, clock, giver, date(2026, 4, 10), "Konzept Elternarbeit vorlegen")
    with unit_of_work(rt.sessions) as s:
        org = s.scalars(select(Organisation)).one()
        # What the Auftrag pass of the sweep queues when the task reaches the body.
        s.add(
            OutboxMessage(
                organisation_id=org.id,
                dedupe_key=f"as:{task}:1:escalation:2",
                channel="digest",
                kind="digest_item",
                recipient_email="",
                context={"decision_id": task, "body_id": giver, "level": 2, "stay": 1},
                status="pending",
                created_at=clock.now(),
                not_before=clock.now(),
            )
        )
    sweep(rt, clock, _at(2026, 5, 4))
    assert build(rt, clock) == DigestReport(sent=2)
    [advisory] = digests(rt, "beirat@stadt.example.org")
    [decision] = advisory["decisions"]
    assert decision["level_label"] == "Eskalationsstufe 2"
    assert decision["days_overdue"] == 24
    assert digests(rt, "sg@stadt.example.org")[0]["decisions"] == []


def test_monthly_digest_on_the_first_business_day_once_a_month(
    rt: Runtime, clock: FrozenClock
) -> None:
    seed(rt, clock)
    body = add_body(rt, "Begleitgremium", ("beirat@stadt.example.org", "de"), cadence="monthly")
    sweep(rt, clock, _at(2026, 4, 20))  # April's period (from 1 April) has nothing new
    assert build(rt, clock) == DigestReport(skipped=1)
    # 1 May is a holiday and 2-3 May a weekend: May's digest comes on Monday 4 May, 08:00.
    sweep(rt, clock, _at(2026, 5, 4, 7, 59))
    assert build(rt, clock) == DigestReport()
    sweep(rt, clock, _at(2026, 5, 4, 8, 1))
    assert build(rt, clock) == DigestReport(sent=1)
    [may] = digests(rt)
    assert may["key"] == f"digest:{body}:2026-05:beirat@stadt.example.org"
    assert may["period_label"] == "Mai 2026"
    assert codes(may, "new_items") == ALL

    submit_agreement(rt, clock, "A0001", _at(2026, 5, 6, 10))
    sweep(rt, clock, _at(2026, 5, 11))
    assert build(rt, clock) == DigestReport()  # news wait for June
    assert build(rt, clock, _at(2026, 6, 1, 8, 1)) == DigestReport(sent=1)
    june = digests(rt)[-1]
    assert june["period_label"] == "Juni 2026"
    assert codes(june, "resolved_items") == ["A0001"]


def test_on_change_digest_at_the_next_sweep_after_news_at_most_once_a_day(
    rt: Runtime, clock: FrozenClock
) -> None:
    seed(rt, clock)
    body = add_body(rt, "Integrationsrat", ("rat@stadt.example.org", "de"), cadence="on_change")
    sweep(rt, clock, _at(2026, 4, 20))
    assert build(rt, clock) == DigestReport()  # nothing changed: not even a skipped one
    sweep(rt, clock, _at(2026, 5, 4))
    assert build(rt, clock) == DigestReport(sent=1)
    assert digests(rt)[0]["key"] == f"digest:{body}:D2026-05-04:rat@stadt.example.org"
    submit_agreement(rt, clock, "A0001", _at(2026, 5, 4, 10))
    assert build(rt, clock, _at(2026, 5, 4, 16)) == DigestReport()  # once a day
    assert build(rt, clock, _at(2026, 5, 5, 8, 1)) == DigestReport(sent=1)
    second = digests(rt)[1]
    assert second["period_label"] == "Stand 05.05.2026"
    assert codes(second, "resolved_items") == ["A0001"]
    assert build(rt, clock, _at(2026, 5, 6, 8, 1)) == DigestReport()


def test_before_meeting_only_waits_for_the_meeting_and_names_its_agenda(
    rt: Runtime, clock: FrozenClock
) -> None:
    seed(rt, clock)
    body = add_body(
        rt, "Begleitgremium", ("beirat@stadt.example.org", "de"), cadence="before_meeting"
    )
    with unit_of_work(rt.sessions) as s:
        meeting = Meeting(
            body_id=body,
            held_on=date(2026, 5, 11),
            title="2. Sitzung 2026",
            starts_at="17:00",
            place="Rathaus, Raum 2.14",
        )
        s.add(meeting)
        s.flush()
        s.add_all(
            [
                AgendaItem(meeting_id=meeting.id, position=2, title="Bericht Handlungsfeld B"),
                AgendaItem(meeting_id=meeting.id, position=1, title="Eskalierte Maßnahmen"),
            ]
        )
    sweep(rt, clock, _at(2026, 5, 4))
    assert build(rt, clock) == DigestReport()  # news, but no meeting near
    assert build(rt, clock, _at(2026, 5, 8, 7, 59)) == DigestReport()
    assert build(rt, clock, _at(2026, 5, 8, 8, 1)) == DigestReport(sent=1)
    assert build(rt, clock) == DigestReport()
    [digest] = digests(rt)
    assert digest["meeting_label"] == "vor der Sitzung am 11.05.2026"
    assert digest["period_label"] == "Stand 08.05.2026"
    assert digest["meeting"]["agenda"] == ["Eskalierte Maßnahmen", "Bericht Handlungsfeld B"]
    assert (digest["meeting"]["time"], digest["meeting"]["place"]) == (
        "17:00",
        "Rathaus, Raum 2.14",
    )
    assert codes(digest, "new_items") == ALL


def test_each_member_reads_it_in_their_language(rt: Runtime, clock: FrozenClock) -> None:
    seed(rt, clock)
    add_body(
        rt,
        "Steuerungsgruppe",
        ("sommer@stadt.example.org", "de"),
        ("summer@stadt.example.org", "en"),
    )
    sweep(rt, clock, _at(2026, 5, 4))
    assert build(rt, clock) == DigestReport(sent=2)
    de, en = digests(rt)
    assert (de["language"], de["period_label"]) == ("de", "KW 19/2026")
    assert (en["language"], en["period_label"]) == ("en", "week 19/2026")
    first_de, first_en = de["new_items"][0], en["new_items"][0]
    assert (first_de["state_label"], first_de["level_label"]) == (
        "Zielvereinbarung",
        "Eskalationsstufe 2",
    )
    assert (first_en["state_label"], first_en["level_label"]) == (
        "target agreement",
        "escalation level 2",
    )
    assert first_en["history"] == "0 reminders; target agreement missing"
    with rt.sessions() as s:
        rows = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "digest").order_by(OutboxMessage.id)
        ).all()
        german, english = (Renderer(s, rt.settings, clock.now()).render([r]) for r in rows)
    assert german.subject == "Steuerungsgruppe: Übersicht, KW 19/2026"
    assert english.subject == "Steuerungsgruppe: digest, week 19/2026"
    assert "Maßnahmen: neu seit Ihrer letzten Übersicht" in german.text
    assert "Measures: new since your last digest" in english.text
    assert "escalation level 2" in english.html and "Eskalationsstufe" not in english.text


def test_a_member_who_joined_gets_what_is_open_once_as_new(rt: Runtime, clock: FrozenClock) -> None:
    seed(rt, clock)
    body = add_body(rt, "Steuerungsgruppe", ("sommer@stadt.example.org", "de"))
    sweep(rt, clock, _at(2026, 5, 4))
    assert build(rt, clock) == DigestReport(sent=1)
    with unit_of_work(rt.sessions) as s:
        s.add(
            BodyMember(
                body_id=body,
                name="Neu",
                email="neu@stadt.example.org",
                language="de",
                joined_on=date(2026, 5, 6),
            )
        )
    sweep(rt, clock, _at(2026, 5, 11))
    assert build(rt, clock) == DigestReport(sent=1, skipped=1)
    [joined] = digests(rt, "neu@stadt.example.org")
    assert codes(joined, "new_items") == ALL and joined["still_open"] == []
    assert build(rt, clock, _at(2026, 5, 18, 8, 1)) == DigestReport(skipped=2)


def test_two_runs_at_once_queue_each_digest_once(rt: Runtime, clock: FrozenClock) -> None:
    seed(rt, clock)
    add_body(rt, "Steuerungsgruppe", ("sommer@stadt.example.org", "de"))
    add_body(rt, "Lenkungsgruppe", ("winter@stadt.example.org", "en"))
    sweep(rt, clock, _at(2026, 5, 4))
    reports: list[DigestReport] = []
    runs = [threading.Thread(target=lambda: reports.append(build(rt, clock))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sum(r.sent for r in reports) == 2 and sum(r.skipped for r in reports) == 0
    assert sorted(d["to"] for d in digests(rt)) == [
        "sommer@stadt.example.org",
        "winter@stadt.example.org",
    ]


def test_the_steering_page_lists_each_bodys_digests(rt: Runtime, clock: FrozenClock) -> None:
    s = dashboard_seed(rt)
    with unit_of_work(rt.sessions) as session:
        for name, email in (("Steuerungsgruppe", "sg"), ("Begleitgremium", "bg")):
            body = Body(organisation_id=s.organisation_id, name=name, kind="steering_group")
            session.add(body)
            session.flush()
            session.add(BodyMember(body_id=body.id, name=f"Frau {name}", email=f"{email}@x.org"))
        mc = session.get(MeasureCycle, s.item_ids[0])
        assert mc is not None
        session.add(
            OutboxMessage(
                organisation_id=s.organisation_id,
                dedupe_key="mc:escalated",
                channel="digest",
                kind="digest_item",
                recipient_email="",
                measure_cycle_id=mc.id,
                context={"level": 2, "stay": mc.stay},
                status="pending",
                created_at=clock.now(),
                not_before=clock.now(),
            )
        )
    assert build(rt, clock) == DigestReport(sent=2)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    page = client.get("/steuerung").text
    for name in ("Steuerungsgruppe", "Begleitgremium"):
        assert f"<td>{name}</td><td>Frau {name}</td>" in page
    assert page.count("1 neu, 0 weiter offen, 0 erledigt") == 2
