"""The demo's past Integrationskonferenz: actors with their consents, invitations, the survey
on the day with its answers, the survey indicators' values of that day, and the actors'
activity reports with the C-K1 count.

Deterministic (a seeded random source), and running it again adds nothing: a conference of
the same title ends it. The indicator values are counted from the answer rows written here,
so what the indicator shows is what the devices answered.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Field, Goal, Organisation
from workflow.conference.activities import record_actor_count
from workflow.conference.models import (
    Actor,
    ActorActivity,
    ActorConsent,
    ActorKind,
    Conference,
    ConferenceInvitation,
    ConferenceQuestion,
    ConsentPurpose,
    InvitationStatus,
    QuestionKind,
    SurveyAnswer,
    SurveyResponse,
)
from workflow.conference.survey import feed_indicators, survey_indicators
from workflow.cycles.calendar import calendar_of
from workflow.indicators.models import Indicator

BY = "demo"
DEVICES = 25
DAYS_AGO = 120
COUNT_INDICATOR = "C-K1"


@dataclass(frozen=True)
class ActorPlan:
    name: str
    kind: ActorKind
    contact: str
    local: str  # the address before the "@"
    reports: bool  # allowed to be asked for activity reports
    language: str = "de"


ACTORS = (
    ActorPlan(
        "Caritasverband Musterstadt e. V.", ActorKind.PROVIDER, "Maria Hoffmann", "m.hoffmann", True
    ),
    ActorPlan("Diakonisches Werk Musterstadt", ActorKind.PROVIDER, "Jens Wagner", "j.wagner", True),
    ActorPlan("AWO Kreisverband Musterstadt", ActorKind.PROVIDER, "Sevgi Aydın", "s.aydin", True),
    ActorPlan(
        "Türkisch-Deutscher Elternverein",
        ActorKind.MIGRANT_ORGANISATION,
        "Ayşe Demir",
        "a.demir",
        True,
    ),
    ActorPlan(
        "Polnische Katholische Mission",
        ActorKind.MIGRANT_ORGANISATION,
        "Piotr Nowak",
        "p.nowak",
        True,
    ),
    ActorPlan(
        "Afrikanischer Kulturverein Musterstadt",
        ActorKind.MIGRANT_ORGANISATION,
        "Grace Mensah",
        "g.mensah",
        True,
    ),
    ActorPlan(
        "Syrisch-Deutscher Freundeskreis",
        ActorKind.MIGRANT_ORGANISATION,
        "Rami Haddad",
        "r.haddad",
        True,
        "en",
    ),
    ActorPlan(
        "Russlanddeutsche Landsmannschaft, Ortsgruppe",
        ActorKind.MIGRANT_ORGANISATION,
        "Olga Becker",
        "o.becker",
        False,
    ),
    ActorPlan(
        "Sportverein Blau-Weiß Musterstadt",
        ActorKind.ASSOCIATION,
        "Thomas Krämer",
        "t.kraemer",
        True,
    ),
    ActorPlan(
        "Stadtsportbund Musterstadt", ActorKind.ASSOCIATION, "Claudia Busch", "c.busch", True
    ),
    ActorPlan(
        "DITIB-Moscheegemeinde Musterstadt",
        ActorKind.RELIGIOUS_COMMUNITY,
        "Mehmet Yılmaz",
        "m.yilmaz",
        True,
    ),
    ActorPlan(
        "Evangelische Kirchengemeinde Stadtmitte",
        ActorKind.RELIGIOUS_COMMUNITY,
        "Ruth Albers",
        "r.albers",
        True,
    ),
    ActorPlan(
        "Musterstädter Anzeiger, Lokalredaktion",
        ActorKind.PRESS,
        "Stefan Lorenz",
        "redaktion",
        False,
    ),
    ActorPlan("Volkshochschule Musterstadt", ActorKind.OTHER, "Ingrid Vogel", "i.vogel", True),
)
# Weights of the scale points 1..5 per question, and how many devices said "keine Angabe".
SPREAD = (1, 2, 5, 10, 7)
NO_ANSWER = 2
STANDARD_LABELS = [
    "trifft gar nicht zu",
    "trifft eher nicht zu",
    "teils, teils",
    "trifft eher zu",
    "trifft voll zu",
]
# The seed's own questions and labels, where the demo's indicators are the example ones.
QUESTIONS = {
    "C-W1": (
        "Wie wichtig ist der Austausch auf der Integrationskonferenz für Ihre Arbeit?",
        [
            "überhaupt nicht wichtig",
            "eher nicht wichtig",
            "teils, teils",
            "wichtig",
            "sehr wichtig",
        ],
    ),
}
GOOD_THINGS = (
    "Die Arbeitsgruppen waren gut vorbereitet, und jede Stimme kam zu Wort.",
    "Wir haben neue Partner für gemeinsame Angebote gefunden.",
    "Die Zahlen aus dem Monitoring waren verständlich aufbereitet.",
    "Mehr Migrantenorganisationen als im Vorjahr haben mitgearbeitet.",
    "Die Verwaltung hat offen über Schwierigkeiten gesprochen.",
    "Die Dolmetscherinnen haben vielen die Teilnahme erst ermöglicht.",
)
ACTIVITIES = (
    "Wöchentliche Sprechstunde für Familien mit Zuwanderungsgeschichte; rund 120 Beratungen im Jahr.",
    "Zwei Elternabende in türkischer und arabischer Sprache zum Übergang in die weiterführende Schule.",
    "Patenschaftsprogramm mit 18 Ehrenamtlichen, die neu Zugewanderte im Alltag begleiten.",
    "Interkulturelles Sommerfest mit etwa 400 Gästen gemeinsam mit drei Nachbarschaftsvereinen.",
    "Sprachcafé an zwei Abenden im Monat, im Schnitt 15 Teilnehmende.",
    "Schnuppertraining für Kinder aus Unterkünften; neun Kinder sind seitdem Mitglied.",
)


def add_conference(session: Session, organisation: Organisation, today: date) -> Conference:
    """The past conference of the demo (about four months before ``today``) and everything
    around it; returns the one already there on a second run."""
    day = today.date() if isinstance(today, datetime) else today
    held_on = _thursday_before(day - timedelta(days=DAYS_AGO))
    title = f"Integrationskonferenz {held_on.year}"
    existing = session.scalars(
        select(Conference).where(
            Conference.organisation_id == organisation.id, Conference.title == title
        )
    ).first()
    if existing is not None:
        return existing
    cal = calendar_of(organisation)
    before = cal.at_local(held_on - timedelta(days=60), 9)
    actors = _actors(session, organisation, before)
    conference = Conference(
        organisation_id=organisation.id,
        title=title,
        held_on=held_on,
        time_label="14:00 bis 18:00 Uhr",
        place="Bürgerhaus Musterstadt, Großer Saal",
        description="Jährliche Konferenz zum Stand des Integrationskonzepts (Demo).",
        survey_code=secrets.token_urlsafe(6),
        survey_opens_at=cal.at_local(held_on, 14),
        survey_closes_at=cal.at_local(held_on, 20),
        created_at=before,
        created_by=BY,
    )
    session.add(conference)
    session.flush()
    _invite(session, conference, actors, cal.at_local(held_on - timedelta(days=42), 10))
    rng = random.Random(held_on.toordinal())
    _questions(session, conference, organisation.id)
    _answers(session, conference, rng, cal.at_local(held_on, 17))
    # The survey's own rule: counts and mean of that day, recomputed from the answer rows.
    feed_indicators(session, conference, cal.at_local(held_on, 20))
    _activities(session, organisation, actors, held_on.year - 1, rng, before)
    session.flush()
    return conference


def _thursday_before(day: date) -> date:
    return day - timedelta(days=(day.weekday() - 3) % 7)


def _actors(session: Session, org: Organisation, now: datetime) -> list[Actor]:
    domain = (org.contact_email.rpartition("@")[2] or "stadt.example.org").removeprefix("stadt.")
    out = []
    for plan in ACTORS:
        actor = session.scalars(
            select(Actor).where(Actor.organisation_id == org.id, Actor.name == plan.name)
        ).first()
        if actor is None:
            actor = Actor(
                organisation_id=org.id, name=plan.name, kind=plan.kind.value,
                contact_name=plan.contact, email=f"{plan.local}@verein.{domain}",
                language=plan.language, created_at=now, notes="Beispieldaten (fiktiv).",
            )  # fmt: skip
            session.add(actor)
            session.flush()
            _consent(session, actor, ConsentPurpose.INVITATIONS, now)
            if plan.reports:
                _consent(session, actor, ConsentPurpose.ACTIVITY_REPORTS, now)
        out.append(actor)
    return out


def _consent(session: Session, actor: Actor, purpose: ConsentPurpose, now: datetime) -> None:
    session.add(
        ActorConsent(
            organisation_id=actor.organisation_id, actor_id=actor.id, purpose=purpose.value,
            given_on=now.date(), how="schriftlich (Einwilligungserklärung, Demo)",
            recorded_by=BY, recorded_at=now,
        )
    )  # fmt: skip


def _invite(
    session: Session, conference: Conference, actors: list[Actor], invited_at: datetime
) -> None:
    """Most registered, one declined, the last two never answered."""
    for n, actor in enumerate(actors):
        status = InvitationStatus.REGISTERED
        if n == 4:
            status = InvitationStatus.DECLINED
        elif n >= len(actors) - 2:
            status = InvitationStatus.INVITED
        answered = status != InvitationStatus.INVITED
        session.add(
            ConferenceInvitation(
                organisation_id=conference.organisation_id, conference_id=conference.id,
                actor_id=actor.id, status=status.value, invited_at=invited_at, invited_by=BY,
                answered_at=invited_at + timedelta(days=3 + n) if answered else None,
                participants=1 + n % 3 if status == InvitationStatus.REGISTERED else 0,
            )
        )  # fmt: skip


def _questions(session: Session, conference: Conference, organisation_id: int) -> None:
    position = 0
    for indicator in survey_indicators(session, organisation_id):
        text, labels = QUESTIONS.get(indicator.code, (indicator.statement, STANDARD_LABELS))
        conference.questions.append(
            ConferenceQuestion(
                position=position, kind=QuestionKind.SCALE.value, text=text,
                indicator_id=indicator.id, scale_labels=list(labels),
            )
        )  # fmt: skip
        position += 1
    fields = session.scalars(
        select(Field).where(Field.organisation_id == organisation_id).order_by(Field.code)
    ).all()
    for field in fields:
        conference.questions.append(
            ConferenceQuestion(
                position=position, kind=QuestionKind.TEXT.value, field_id=field.id,
                text=f"Was ist im Handlungsfeld „{field.name}“ gut gelaufen?", scale_labels=[],
            )
        )  # fmt: skip
        position += 1
    session.flush()


def _answers(session: Session, conference: Conference, rng: random.Random, at: datetime) -> None:
    for device in range(DEVICES):
        response = SurveyResponse(
            conference_id=conference.id,
            device_hash=hashlib.sha256(f"demo:{conference.id}:{device}".encode()).hexdigest(),
            submitted_at=at + timedelta(minutes=device),
        )
        session.add(response)
        session.flush()
        for question in conference.questions:
            answer = _answer(question, device, rng)
            if answer is not None:
                answer.response_id = response.id
                session.add(answer)
    session.flush()


def _answer(question: ConferenceQuestion, device: int, rng: random.Random) -> SurveyAnswer | None:
    if question.kind == QuestionKind.SCALE.value:
        value = None if device < NO_ANSWER else rng.choices(range(1, 6), weights=SPREAD)[0]
        return SurveyAnswer(question_id=question.id, scale_value=value, text="")
    if rng.random() < 0.35:
        return SurveyAnswer(question_id=question.id, scale_value=None, text=rng.choice(GOOD_THINGS))
    return None


def _activities(
    session: Session,
    org: Organisation,
    actors: list[Actor],
    year: int,
    rng: random.Random,
    now: datetime,
) -> None:
    """Reports of most actors who allowed the question, and their count as C-K1's value."""
    goals = session.scalars(
        select(Goal).where(Goal.organisation_id == org.id).order_by(Goal.code)
    ).all()
    if not goals:
        return
    allowed = {plan.name for plan in ACTORS if plan.reports}
    reporting = [a for a in actors if a.name in allowed][: len(allowed) - 3]
    for n, actor in enumerate(reporting):
        for goal in rng.sample(list(goals), k=min(len(goals), 1 + n % 3)):
            session.add(
                ActorActivity(
                    organisation_id=org.id, actor_id=actor.id, goal_id=goal.id, year=year,
                    text=rng.choice(ACTIVITIES), reported_at=now,
                )
            )  # fmt: skip
    session.flush()
    has_count = session.scalar(
        select(Indicator.id).where(
            Indicator.organisation_id == org.id, Indicator.code == COUNT_INDICATOR
        )
    )
    if has_count is not None:
        record_actor_count(
            session, organisation_id=org.id, indicator_code=COUNT_INDICATOR, year=year,
            actor=BY, actor_name="Demo", now=now,
        )  # fmt: skip
