"""Actors report their activities per goal (issue 16, part 5) and the demo's past conference.

The yearly request goes only to actors with a live consent, once per year; the page behind
its link stores one text per goal and replaces it when sent again; the count of reporting
actors becomes C-K1's value with its base figures; the demo's survey values equal its
answers. All on SQLite and PostgreSQL, each test on a fresh database.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.app import create_app
from api.dashboard import actor_activities as coordinator_page
from api.forms import actor_activities as actor_page
from notifications.models import OutboxMessage
from notifications.render import render_template
from tests.conftest import BERLIN, EXAMPLES
from tests.dashboard_seed import Seed, login, seed
from workflow.accounts import Role
from workflow.catalogue.models import Goal, Organisation
from workflow.conference.activities import (
    KIND,
    TEXT_LIMIT,
    actor_count,
    record_actor_count,
    request_context,
    request_reports,
    token_for,
)
from workflow.conference.activities_cli import reports_app
from workflow.conference.mail import ConsentWithdrawn
from workflow.conference.models import (
    Actor,
    ActorActivity,
    ActorConsent,
    ActorKind,
    ActorTokenPurpose,
    Conference,
    ConferenceInvitation,
    ConferenceQuestion,
    ConsentPurpose,
    SurveyAnswer,
    SurveyResponse,
)
from workflow.conference.tokens import issue_actor_token
from workflow.db import unit_of_work
from workflow.demo_conference import add_conference
from workflow.indicators.importer import import_indicators
from workflow.indicators.models import Indicator, IndicatorValue
from workflow.runtime import Runtime

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN)  # the clock fixture's moment
LINK = re.compile(r"https?://[^\s\"'<>]+/aktivitaeten/([A-Za-z0-9_-]{43})")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _world(rt: Runtime) -> Seed:
    """The example catalogue and indicators (C-K1 among them), one account per role."""
    s = seed(rt)
    with unit_of_work(rt.sessions) as session:
        import_indicators(
            session=session,
            organisation_id=s.organisation_id,
            path=EXAMPLES / "indicators.csv",
            now=NOW,
            today=NOW.date(),
        )
    return s


def _actor(
    rt: Runtime, org_id: int, name: str, *purposes: ConsentPurpose, withdrawn: bool = False
) -> int:
    with unit_of_work(rt.sessions) as session:
        actor = Actor(
            organisation_id=org_id, name=name, kind=ActorKind.MIGRANT_ORGANISATION.value,
            contact_name=f"Kontakt {name}", email=f"{name.lower()}@verein.example.org",
            created_at=NOW - timedelta(days=30),
        )  # fmt: skip
        session.add(actor)
        session.flush()
        for purpose in purposes:
            session.add(
                ActorConsent(
                    organisation_id=org_id, actor_id=actor.id, purpose=purpose.value,
                    given_on=date(2026, 1, 10), how="schriftlich", recorded_by="test",
                    recorded_at=NOW - timedelta(days=30),
                    withdrawn_at=NOW - timedelta(days=1) if withdrawn else None,
                )
            )  # fmt: skip
        return actor.id


def _app() -> FastAPI:
    """The shared app, plus this work's two routers if the lead has not mounted them yet."""
    app = create_app()
    paths = {getattr(route, "path", "") for route in app.routes}
    if "/aktivitaeten/{raw}" not in paths:
        app.include_router(actor_page.router)
    if "/aktivitaeten" not in paths:
        app.include_router(coordinator_page.router)
    return app


def _link(rt: Runtime, org_id: int, actor_id: int, year: int) -> str:
    with unit_of_work(rt.sessions) as session:
        return issue_actor_token(
            session, organisation_id=org_id, actor_id=actor_id,
            purpose=ActorTokenPurpose.ACTIVITY_REPORT, year=year,
            expires_at=NOW + timedelta(days=60), now=NOW,
        )  # fmt: skip


def _goals(rt: Runtime, org_id: int) -> dict[str, int]:
    with unit_of_work(rt.sessions) as session:
        rows = session.execute(select(Goal.code, Goal.id).where(Goal.organisation_id == org_id))
        return {code: goal_id for code, goal_id in rows}


def _reports(rt: Runtime, actor_id: int, year: int) -> dict[int, str]:
    with unit_of_work(rt.sessions) as session:
        rows = session.execute(
            select(ActorActivity.goal_id, ActorActivity.text).where(
                ActorActivity.actor_id == actor_id, ActorActivity.year == year
            )
        )
        return {goal_id: text for goal_id, text in rows}


def _report(rt: Runtime, org_id: int, actor_id: int, year: int, goal_ids: list[int]) -> None:
    with unit_of_work(rt.sessions) as session:
        for goal_id in goal_ids:
            session.add(
                ActorActivity(
                    organisation_id=org_id, actor_id=actor_id, goal_id=goal_id, year=year,
                    text="Sprachcafé", reported_at=NOW,
                )
            )  # fmt: skip


def test_request_goes_only_to_consenting_actors_once_a_year(rt: Runtime) -> None:
    s = _world(rt)
    asked = _actor(rt, s.organisation_id, "Gefragt", ConsentPurpose.ACTIVITY_REPORTS)
    _actor(rt, s.organisation_id, "Einladung", ConsentPurpose.INVITATIONS)
    _actor(rt, s.organisation_id, "Widerrufen", ConsentPurpose.ACTIVITY_REPORTS, withdrawn=True)
    _actor(rt, s.organisation_id, "Ohne")

    result = CliRunner().invoke(reports_app, ["request", "--year", "2025"])
    assert result.exit_code == 0, result.output
    assert "1 Abfrage für 2025" in result.output
    assert "3 Akteure ohne Einwilligung" in result.output
    with unit_of_work(rt.sessions) as session:
        again = request_reports(session, organisation_id=s.organisation_id, year=2025, now=NOW)
        next_year = request_reports(session, organisation_id=s.organisation_id, year=2026, now=NOW)
    assert (again.queued, again.already, again.without_consent) == (0, 1, 3)
    assert next_year.queued == 1

    with unit_of_work(rt.sessions) as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == KIND)).all()
        assert sorted((r.recipient_email, r.context["year"]) for r in rows) == [
            ("gefragt@verein.example.org", 2025),
            ("gefragt@verein.example.org", 2026),
        ]
        org = session.get(Organisation, s.organisation_id)
        assert org is not None
        first = [r for r in rows if r.context["year"] == 2025]
        shown = request_context(
            session, base_url="https://zielflow.example.org", now=NOW, rows=first, org=org,
            lang="de",
        )  # fmt: skip
        email = render_template(KIND, "de", {**_letter(org), **shown})
        found = LINK.search(email.text)
        assert found is not None and "2025" in email.subject
        token = token_for(session, found[1], NOW + timedelta(days=59))
        assert token is not None and (token.actor_id, token.year) == (asked, 2025)
        assert token_for(session, found[1], NOW + timedelta(days=62)) is None
        # Withdrawn between queueing and sending: the email must not go out.
        consent = session.scalars(select(ActorConsent).where(ActorConsent.actor_id == asked)).one()
        consent.withdrawn_at = NOW
        session.flush()
        try:
            request_context(
                session, base_url="https://x.example.org", now=NOW, rows=first, org=org, lang="de"
            )
        except ConsentWithdrawn:
            pass
        else:
            raise AssertionError("rendered for a withdrawn consent")


def _letter(org: Organisation) -> dict[str, object]:
    return {
        "org_name": org.name, "org_office_name": "Integrationsbüro", "org_office_address": "",
        "org_contact_email": "integration@stadt.example.org", "greeting": "Guten Tag,",
        "lang": "de", "dashboard_url": "https://zielflow.example.org",
    }  # fmt: skip


def test_page_stores_and_replaces_reports(rt: Runtime) -> None:
    s = _world(rt)
    actor = _actor(rt, s.organisation_id, "Verein", ConsentPurpose.ACTIVITY_REPORTS)
    raw = _link(rt, s.organisation_id, actor, 2025)
    goals = _goals(rt, s.organisation_id)
    client = TestClient(_app())

    page = client.get(f"/aktivitaeten/{raw}")
    assert page.status_code == 200
    assert page.text.count("<textarea") == len(goals)
    assert "Wirtschaft/Handel/Arbeit" in page.text and "Zusammenleben" in page.text
    token = CSRF.search(page.text)
    assert token is not None
    form = {"csrf_token": token[1], "lang": "de"}

    sent = client.post(
        f"/aktivitaeten/{raw}",
        data={**form, f"ziel-{goals['A1']}": "Praktikumsbörse", f"ziel-{goals['C3']}": "Beirat"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert _reports(rt, actor, 2025) == {goals["A1"]: "Praktikumsbörse", goals["C3"]: "Beirat"}
    again = client.get(f"/aktivitaeten/{raw}")
    assert ">Praktikumsbörse</textarea>" in again.text

    # Sent again: C3 emptied goes, A1 changes, B2 is new.
    client.post(
        f"/aktivitaeten/{raw}",
        data={**form, f"ziel-{goals['A1']}": "Zwei Börsen", f"ziel-{goals['B2']}": "Elterncafé"},
    )
    assert _reports(rt, actor, 2025) == {goals["A1"]: "Zwei Börsen", goals["B2"]: "Elterncafé"}

    too_long = "x" * (TEXT_LIMIT + 1)
    refused = client.post(
        f"/aktivitaeten/{raw}",
        data={**form, f"ziel-{goals['A1']}": "Neu getippt", f"ziel-{goals['B1']}": too_long},
    )
    assert refused.status_code == 422
    assert ">Neu getippt</textarea>" in refused.text and f">{too_long}</textarea>" in refused.text
    assert "höchstens 2000 Zeichen" in refused.text
    empty = client.post(f"/aktivitaeten/{raw}", data=form)
    assert empty.status_code == 422 and "mindestens einem Ziel" in empty.text
    assert _reports(rt, actor, 2025) == {goals["A1"]: "Zwei Börsen", goals["B2"]: "Elterncafé"}

    assert client.get(f"/aktivitaeten/{'A' * 43}").status_code == 404
    no_csrf = client.post(f"/aktivitaeten/{raw}", data={f"ziel-{goals['A1']}": "ohne"})
    assert no_csrf.status_code == 403


def test_count_becomes_the_indicator_value_with_base_figures(rt: Runtime) -> None:
    s = _world(rt)
    org_id = s.organisation_id
    goals = _goals(rt, org_id)
    first = _actor(rt, org_id, "Erster", ConsentPurpose.ACTIVITY_REPORTS)
    second = _actor(rt, org_id, "Zweiter", ConsentPurpose.ACTIVITY_REPORTS)
    _actor(rt, org_id, "Stiller", ConsentPurpose.ACTIVITY_REPORTS)
    gone = _actor(rt, org_id, "Archiviert")
    _report(rt, org_id, first, 2025, [goals["A1"], goals["C3"]])
    _report(rt, org_id, second, 2025, [goals["C3"]])
    _report(rt, org_id, second, 2024, [goals["B1"]])
    with unit_of_work(rt.sessions) as session:
        archived = session.get(Actor, gone)
        assert archived is not None
        archived.archived_at = NOW
        assert actor_count(session, org_id, 2025) == 2
        assert actor_count(session, org_id, 2024) == 1

    client = TestClient(_app())
    login(client, Role.COORDINATOR)
    shown = client.get("/aktivitaeten?jahr=2025")
    assert shown.status_code == 200
    assert "2 von 3 Akteuren im Verzeichnis haben" in shown.text
    assert shown.text.count("Sprachcafé") == 3  # A1 once, C3 twice
    token = CSRF.search(shown.text)
    assert token is not None
    taken = client.post(
        "/aktivitaeten?jahr=2025",
        data={"csrf_token": token[1], "kennzahl": "C-K1"},
        follow_redirects=False,
    )
    assert taken.status_code == 303, taken.text

    with unit_of_work(rt.sessions) as session:
        indicator = session.scalars(
            select(Indicator).where(Indicator.organisation_id == org_id, Indicator.code == "C-K1")
        ).one()
        value = session.scalars(
            select(IndicatorValue).where(
                IndicatorValue.indicator_id == indicator.id,
                IndicatorValue.survey_date == date(2025, 12, 31),
                IndicatorValue.cell == "",
                IndicatorValue.district == "",
            )
        ).one()
        assert (value.value, value.numerator, value.denominator) == (2.0, 2.0, 3.0)
        first_id = value.id
    # Taken again after a further report: the same row, corrected.
    _report(rt, org_id, _actor(rt, org_id, "Dritter"), 2025, [goals["B1"]])
    with unit_of_work(rt.sessions) as session:
        again = record_actor_count(
            session, organisation_id=org_id, indicator_code="C-K1", year=2025,
            actor="test", actor_name="Test", now=NOW,
        )  # fmt: skip
        assert (again.id, again.value, again.denominator) == (first_id, 3.0, 4.0)

    survey = CliRunner().invoke(reports_app, ["count", "--year", "2025", "--indicator", "C-W1"])
    assert survey.exit_code == 1 and "C-W1 nimmt keine Anzahl" in survey.output
    unknown = CliRunner().invoke(reports_app, ["count", "--year", "2025", "--indicator", "X-9"])
    assert unknown.exit_code == 1 and "X-9" in unknown.output


def test_demo_conference_values_equal_its_answers(rt: Runtime) -> None:
    s = _world(rt)
    today = date(2026, 11, 27)
    with unit_of_work(rt.sessions) as session:
        org = session.get(Organisation, s.organisation_id)
        assert org is not None
        conference_id = add_conference(session, org, today).id
    with unit_of_work(rt.sessions) as session:
        org = session.get(Organisation, s.organisation_id)
        assert org is not None
        assert add_conference(session, org, today).id == conference_id  # nothing added twice
        conference = session.get(Conference, conference_id)
        assert conference is not None
        assert 100 <= (today - conference.held_on).days <= 130
        assert session.scalar(select(func.count(Conference.id))) == 1
        kinds = set(session.scalars(select(Actor.kind)))
        assert kinds == {k.value for k in ActorKind}
        statuses = list(
            session.scalars(
                select(ConferenceInvitation.status).where(
                    ConferenceInvitation.conference_id == conference_id
                )
            )
        )
        assert statuses.count("declined") == 1 and statuses.count("registered") >= 5
        responses = session.scalar(
            select(func.count(SurveyResponse.id)).where(
                SurveyResponse.conference_id == conference_id
            )
        )
        assert responses == 25
        scale = session.scalars(
            select(ConferenceQuestion).where(
                ConferenceQuestion.conference_id == conference_id,
                ConferenceQuestion.indicator_id.is_not(None),
            )
        ).all()
        assert scale, "the example indicators hold survey indicators"
        for question in scale:
            answers = [
                v
                for v in session.scalars(
                    select(SurveyAnswer.scale_value).where(SurveyAnswer.question_id == question.id)
                )
                if v is not None
            ]
            value = session.scalars(
                select(IndicatorValue).where(
                    IndicatorValue.indicator_id == question.indicator_id,
                    IndicatorValue.survey_date == conference.held_on,
                    IndicatorValue.cell == "",
                    IndicatorValue.district == "",
                )
            ).one()
            assert value.counts == [answers.count(p) for p in range(1, 6)]
            assert value.value is not None
            assert abs(value.value - sum(answers) / len(answers)) < 1e-9
            assert len(set(answers)) >= 3  # a spread, not one answer 25 times
        texts = session.scalar(
            select(func.count(SurveyAnswer.id))
            .join(ConferenceQuestion, ConferenceQuestion.id == SurveyAnswer.question_id)
            .where(ConferenceQuestion.field_id.is_not(None), SurveyAnswer.text != "")
        )
        assert texts and texts > 0
        year = conference.held_on.year - 1
        reporters = actor_count(session, s.organisation_id, year)
        count = session.scalars(
            select(IndicatorValue)
            .join(Indicator, Indicator.id == IndicatorValue.indicator_id)
            .where(
                Indicator.code == "C-K1",
                IndicatorValue.survey_date == date(year, 12, 31),
                IndicatorValue.cell == "",
            )
        ).one()
        directory = session.scalar(select(func.count(Actor.id)).where(Actor.archived_at.is_(None)))
        assert reporters > 0
        assert (count.value, count.numerator, count.denominator) == (
            reporters,
            reporters,
            directory,
        )
