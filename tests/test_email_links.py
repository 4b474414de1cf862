"""Every link in every email answers for the person who gets it, on a real app and database.

One world with a message of every kind, queued where it can be by the code that queues it
in production; each is rendered by the real renderer (which issues the form links) in
German and English. Every link into ZIELFLOW_BASE_URL is then opened as its recipient
would: form and password links with no session, dashboard links signed in with the
recipient's own account. A recipient without an account must get no dashboard link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.i18n import translate
from notifications.bounces.notice import queue_bounce_notices
from notifications.bounces.state import record_report
from notifications.effects import item_context
from notifications.models import OutboxMessage
from notifications.outbox import Draft, enqueue
from notifications.render import Renderer, items_for
from notifications.sender import _tell_coordinators
from tests.dashboard_seed import EMAILS, Seed, login, seed
from workflow.accounts import Role, User, request_password_reset
from workflow.catalogue.heads import set_head
from workflow.catalogue.models import Contact, Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.coordination import perform, reissue_link
from workflow.cycles.models import MeasureCycle, Review, TargetAgreement
from workflow.db import unit_of_work
from workflow.deadlines import DeadlinePolicy
from workflow.forms.delegation import delegate
from workflow.forms.link_requests import request_new_link
from workflow.forms.scope import scope_of
from workflow.forms.tokens import FormToken, Phase, hash_token, issue_token
from workflow.indicators import requests as data_requests
from workflow.indicators.delivery import scope_of as data_scope_of
from workflow.indicators.extension import extend_request
from workflow.indicators.handover import hand_on
from workflow.indicators.models import DataRequest
from workflow.indicators.service import save_indicator
from workflow.runtime import Runtime

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "email"
KINDS = {p.name.split(".")[0] for p in TEMPLATES.glob("[!_]*.jinja")}
# Links whose token in the address is the credential: opened without an account.
PUBLIC = ("/f/", "/passwort/neu/", "/einladung/", "/aktivitaeten/")
URL = re.compile(r"https?://[^\s\"'<>]+")


@dataclass
class World:
    seed: Seed
    agreement: int  # a measure in Zielvereinbarung
    review: int  # a measure in Review
    head_email: str


class Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


def links(text: str, html: str, base: str) -> set[str]:
    parser = Hrefs()
    parser.feed(html)
    found = {u.rstrip(".,;:)") for u in URL.findall(text)} | set(parser.hrefs)
    found |= {u.rstrip(".,;:)") for u in URL.findall(re.sub(r"<[^>]+>", " ", html))}
    return {u for u in found if u == base or u.startswith(base + "/")}


def _move(rt: Runtime, item: int, event: str, **payload: object) -> None:
    with unit_of_work(rt.sessions) as session:
        perform(
            session=session,
            clock=rt.clock,
            measure_cycle_id=item,
            event=event,
            expected_version=None,
            actor="test",
            payload=payload,
        )


def build(rt: Runtime) -> World:
    """A message of every kind; the kinds the workflow queues itself come from the workflow."""
    s = seed(rt)
    agreement, review, assessed = s.item_ids[0], s.item_ids[1], s.item_ids[2]
    now = rt.clock.now()
    for item in (agreement, review, assessed):
        _move(rt, item, "record_interview", decision="keep", held_on="2026-03-02")  # invitation_agreement
    for item in (review, assessed):
        with unit_of_work(rt.sessions) as session:
            session.add(
                TargetAgreement(
                    measure_cycle_id=item, decision="implement", submitted_at=now, submitted_by="t"
                )
            )
        _move(rt, item, "submit_agreement")  # confirmation_agreement
        _move(rt, item, "start_review")  # review_request
    with unit_of_work(rt.sessions) as session:
        session.add(
            Review(
                measure_cycle_id=assessed,
                achievement="achieved",
                proposal="continue",
                submitted_at=now,
                submitted_by="t",
            )
        )
    _move(rt, assessed, "submit_review")  # confirmation_review
    due = (now + timedelta(days=60)).date().isoformat()
    _move(rt, agreement, "extend_deadline", due_on=due, reason="Urlaub")  # deadline_extended
    with unit_of_work(rt.sessions) as session:
        request_password_reset(session, EMAILS[Role.COORDINATOR], now)  # password_reset
        org = session.get(Organisation, s.organisation_id)
        assert org is not None
        org.contact_email = "integration@musterstadt.example.org"
        mc = session.get(MeasureCycle, agreement)
        assert mc is not None and mc.measure.contact is not None
        owner = mc.measure.contact
        head = set_head(
            session=session,
            organisation_id=s.organisation_id,
            department_id=mc.measure.department_id,
            name="Dr. Ines Albers",
            email="ines.albers@stadt.example.org",
        )
        assert head is not None
        colleague = Contact(
            organisation_id=s.organisation_id,
            department_id=owner.department_id,
            name="Jonas Petersen",
            email="jonas.petersen@stadt.example.org",
        )
        session.add(colleague)
        session.flush()
        context = {**item_context(mc), "contact_id": owner.id}
        drafts = [
            Draft(
                organisation_id=s.organisation_id,
                dedupe_key=f"test:{kind}",
                kind=kind,
                recipient_email=owner.email,
                recipient_name=owner.name,
                measure_cycle_id=agreement,
                context=context | {"step": step},
            )
            for kind, step in (("reminder", 0), ("final_reminder", 1))
        ]
        drafts.append(
            Draft(
                organisation_id=s.organisation_id,
                dedupe_key="test:escalation_head",
                kind="escalation_head",
                recipient_email=head.email,
                recipient_name=head.name,
                measure_cycle_id=agreement,
                context=context | {"level": 1, "stay": mc.stay, "escalated_at": now.isoformat()},
            )
        )
        view = items_for(session, [agreement], org, "de", now)[0]
        steering = EMAILS[Role.STEERING]
        drafts.append(
            Draft(
                organisation_id=s.organisation_id,
                dedupe_key="test:digest",
                kind="digest",
                recipient_email=steering,
                recipient_name="Mitglied der Steuerungsgruppe",
                context={
                    "digest": {
                        "period_label": "KW 10/2026",
                        "meeting_label": None,
                        "new_items": [
                            view
                            | {"level_label": "Eskalationsstufe 2", "history": "3 Erinnerungen"}
                        ],
                        "still_open": [],
                        "resolved_items": [view | {"resolution": "jetzt: Umsetzung"}],
                        "totals": {"new": 1, "still_open": 0, "resolved": 1},
                    }
                },
            )
        )
        enqueue(session, drafts, now=now)
        # The contact asks for a new link for the agreement form: link_request.
        raw = issue_token(
            session=session,
            organisation_id=s.organisation_id,
            contact_id=owner.id,
            cycle_id=mc.cycle_id,
            phase=Phase.TARGET_AGREEMENT,
            expires_at=now + timedelta(days=30),
            now=now,
            issued_by="test",
        )
        token = session.scalars(
            select(FormToken).where(FormToken.token_hash == hash_token(raw))
        ).one()
        # The owner hands the form on: to a colleague (delegation, delegation_notice) and to
        # an address outside the administration (delegation_approval).
        for email, name in (
            (colleague.email, colleague.name),
            ("helfer@verein.example.net", "Hana Helfer"),
        ):
            delegate(
                session=session,
                clock=rt.clock,
                scope=scope_of(session, token),
                email=email,
                name=name,
            )
        request_new_link(session=session, clock=rt.clock, token=token)
        # A reminder that could not be delivered: dead_letter to the coordinators.
        failed = session.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == "test:reminder")
        ).one()
        # As the sender leaves a row it gives up on (notifications/sender.py, _failed).
        failed.attempts, failed.status, failed.last_error = 8, "dead", "550 5.1.1 user unknown"
        _tell_coordinators(session, [failed], "550 5.1.1 user unknown", now)
        # The owner's address bounces: the coordinators' daily bounce_notice names its measures.
        record_report(
            session, organisation_id=s.organisation_id, email=owner.email, permanent=True,
            reason="5.1.1 user unknown", now=now,
        )  # fmt: skip
        queue_bounce_notices(session, now=now)
        _data_messages(rt, session, s, owner)
        _status_request(rt, session, s, review)
        _assignment_messages(rt, session, s, owner)
        _status_check_messages(rt, session, s, owner, agreement)
        _conference_messages(rt, session, s)
    _meeting_messages(rt, s)
    with unit_of_work(rt.sessions) as session:
        # Last, as it would be sent first: sending it retires the owner's older links and
        # with them the hand-overs above.
        reissue_link(  # link_reissued
            session=session,
            clock=rt.clock,
            measure_cycle_id=agreement,
            expected_version=None,
            actor="test",
        )
    return World(s, agreement, review, "ines.albers@stadt.example.org")


def _data_messages(rt: Runtime, session: object, s: Seed, source: Contact) -> None:
    """One indicator with the owner as its source: request, reminders, escalation, receipt,
    and the source asking for a new link (a link_request without a cycle)."""
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    now = rt.clock.now()
    save_indicator(
        session,
        organisation_id=s.organisation_id,
        code="B-K1",
        values={
            "statement": "Anteil ausländischer Kinder in den 5. Klassen der Gymnasien steigt",
            "unit": "percent",
            "direction": "up",
            "due_months": [3, 9],
            "due_day": 20,
            "lead_days": 28,
            "source_label": "Schulverwaltung",
            "source_contact_id": source.id,
            "districts": [],
        },
        goal_ids=[],
        measure_ids=[],
        now=now - timedelta(days=400),
    )
    opened = data_requests.open_due_requests(session, now=now)  # data_request
    assert opened.ids, "the indicator's March request should open now"
    request = session.get(DataRequest, opened.ids[0])
    assert request is not None
    org = session.get(Organisation, s.organisation_id)
    assert org is not None
    plan = data_requests.plan_of(request, DeadlinePolicy(), calendar_of(org))
    enqueue(
        session,
        [
            data_requests.reminder(request, plan[0], final=False),
            data_requests.reminder(request, plan[1], final=True),
            *data_requests.escalation(session, request, plan[2]),
            data_requests.confirmation(request, 1, source.name),
        ],
        now=now,
    )
    extend_request(  # data_deadline_extended
        session=session,
        clock=rt.clock,
        organisation_id=s.organisation_id,
        request_id=request.id,
        due_on=request.due_on + timedelta(days=30),
        reason="Umstellung der Statistik",
        actor="test",
    )
    raw = issue_token(
        session=session,
        organisation_id=s.organisation_id,
        contact_id=source.id,
        cycle_id=None,
        phase=Phase.DATA_DELIVERY,
        expires_at=now + timedelta(days=30),
        now=now,
        issued_by="test",
    )
    token = session.scalars(select(FormToken).where(FormToken.token_hash == hash_token(raw))).one()
    hand_on(  # data_delegation, data_delegation_notice
        session=session,
        clock=rt.clock,
        scope=data_scope_of(session, token),
        email="kollegin@" + source.email.partition("@")[2],
        name="Katrin Kollegin",
        today=calendar_of(org).local_date(now),
    )
    request_new_link(session=session, clock=rt.clock, token=token)


def _assignment_messages(rt: Runtime, session: object, s: Seed, contact: Contact) -> None:
    """An Auftrag of a steering group's meeting to the owner: its request, reminders, the
    head's notice, a new link, a new due date and the receipt of an answer."""
    from datetime import date

    from sqlalchemy.orm import Session

    from workflow.bodies.models import Body, Meeting
    from workflow.decisions import assignments
    from workflow.decisions.models import Decision

    assert isinstance(session, Session)
    now = rt.clock.now()
    body = Body(organisation_id=s.organisation_id, name="Steuerungsgruppe")
    session.add(body)
    session.flush()
    meeting = Meeting(body_id=body.id, held_on=date(2026, 2, 26))
    session.add(meeting)
    session.flush()
    auftrag = Decision(
        organisation_id=s.organisation_id, meeting_id=meeting.id, kind="assignment",
        text="Bitte legen Sie einen Zeitplan vor.", contact_id=contact.id,
        due_on=date(2026, 4, 15), created_at=now, created_by="test",
    )  # fmt: skip
    session.add(auftrag)
    session.flush()
    assignments.open_assignment(session=session, decision=auftrag, now=now)  # request
    org = session.get(Organisation, s.organisation_id)
    assert org is not None
    plan = assignments.plan_of(auftrag, DeadlinePolicy(), calendar_of(org))
    auftrag.answer, auftrag.answered_at, auftrag.answered_by = "Liegt vor.", now, "test"
    enqueue(
        session,
        [
            assignments.reminder(auftrag, contact, s.cycle_id, plan[0], final=False),
            assignments.reminder(auftrag, contact, s.cycle_id, plan[2], final=True),
            *assignments.escalation_to_heads(session, auftrag, plan[3]),
            assignments.confirmation(auftrag, contact, s.cycle_id),
        ],
        now=now,
    )
    assignments.reissue_assignment_link(session=session, decision_id=auftrag.id, now=now)
    assignments.extend_assignment(
        session=session, decision_id=auftrag.id, due_on=date(2026, 5, 15), now=now, actor="test"
    )


def _status_check_messages(
    rt: Runtime, session: object, s: Seed, owner: Contact, item: int
) -> None:
    """A status check of the owner's measures: request, reminders, escalation, receipt, a
    hand-over's notice to the owner; a milestone's question; the reminder to open a cycle."""
    from datetime import date

    from sqlalchemy.orm import Session

    from workflow.cycles.carry import REMINDER_KIND
    from workflow.milestones.models import Milestone
    from workflow.milestones.sweep import KIND as MILESTONE_KIND
    from workflow.milestones.sweep import dedupe_key
    from workflow.status_checks import mail as sc_mail
    from workflow.status_checks.form_handover import hand_on as hand_on_part
    from workflow.status_checks.models import StatusCheckRequest
    from workflow.status_checks.schedule import plan_of, rules_of
    from workflow.status_checks.selection import Selection
    from workflow.status_checks.service import open_status_check

    assert isinstance(session, Session)
    now = rt.clock.now()
    check = open_status_check(
        session, clock=rt.clock, organisation_id=s.organisation_id, selection=Selection(),
        due_on=date(2026, 4, 15), actor="test",
    )  # fmt: skip
    request = session.scalars(
        select(StatusCheckRequest).where(
            StatusCheckRequest.status_check_id == check.id,
            StatusCheckRequest.contact_id == owner.id,
        )
    ).one()
    cal, policy = rules_of(session, s.organisation_id, cycle_id=check.cycle_id)
    plan = plan_of(request, policy, cal)
    enqueue(
        session,
        [
            sc_mail.reminder(request, plan[0], final=False),
            sc_mail.reminder(request, plan[2], final=True),
            *sc_mail.escalation(session, request, plan[3]),
            sc_mail.confirmation(request, revision=1, by=f"contact:{owner.id}"),
        ],
        now=now,
    )
    raw = issue_token(
        session=session, organisation_id=s.organisation_id, contact_id=owner.id,
        cycle_id=check.cycle_id, phase=Phase.STATUS_CHECK, expires_at=now + timedelta(days=30),
        now=now, issued_by="test", status_check_request_id=request.id,
    )  # fmt: skip
    token = session.scalars(select(FormToken).where(FormToken.token_hash == hash_token(raw))).one()
    domain = owner.email.split("@", 1)[1]
    hand_on_part(
        session=session, clock=rt.clock, token=token, request=request,
        email=f"vertretung.sachstand@{domain}", name="Vera Vertretung",
    )  # status_check_request to the colleague, status_check_delegation_notice to the owner
    mc = session.get(MeasureCycle, item)
    assert mc is not None
    milestone = Milestone(
        organisation_id=s.organisation_id, measure_cycle_id=mc.id, measure_id=mc.measure_id,
        position=0, text="Konzept liegt vor", planned_on=date(2026, 3, 31),
        due_on=date(2026, 3, 31), history=[],
    )  # fmt: skip
    session.add(milestone)
    session.flush()
    enqueue(
        session,
        [
            Draft(  # as the milestone sweep queues it on the due day
                organisation_id=s.organisation_id, dedupe_key=dedupe_key(milestone),
                kind=MILESTONE_KIND, recipient_email=owner.email, recipient_name=owner.name,
                measure_cycle_id=mc.id,
                context={"milestone_id": milestone.id, "contact_id": owner.id,
                         "cycle_id": mc.cycle_id, "phase": "milestone",
                         "due_on": milestone.due_on.isoformat()},
            ),
            Draft(
                organisation_id=s.organisation_id, dedupe_key="test:open_cycle_reminder",
                kind=REMINDER_KIND, recipient_email=EMAILS[Role.COORDINATOR],
                recipient_name="Koordination", measure_cycle_id=mc.id,
                context={"cycle_id": s.cycle_id, "year": 2026, "next_year": 2027, "step": 0,
                         "phase": "replanning"},
            )
        ],
        now=now,
    )  # fmt: skip


def _conference_messages(rt: Runtime, session: object, s: Seed) -> None:
    """An actor with both consents: conference_invitation and actor_activity_request; and the
    coordinators' data_status (no Monitoringgruppe here), over the data requests above."""
    from sqlalchemy.orm import Session

    from notifications.data_status import queue_for_organisation
    from workflow.conference.activities import request_reports
    from workflow.conference.actors import add_actor
    from workflow.conference.conferences import create_conference
    from workflow.conference.consent import record_consent
    from workflow.conference.invitations import invite
    from workflow.indicators.models import Indicator, IndicatorValue

    assert isinstance(session, Session)
    now = rt.clock.now()
    today = now.date()
    actor = add_actor(
        session, organisation_id=s.organisation_id, name="Elternverein Lindenau e. V.",
        kind="association", email="vorstand@elternverein.example.org",
        contact_name="Aylin Demir", now=now,
    )  # fmt: skip
    for purpose in ("invitations", "activity_reports"):
        record_consent(
            session, actor=actor, purpose=purpose, given_on=today, how="schriftlich",
            recorded_by="test", today=today, now=now,
        )  # fmt: skip
    conference = create_conference(
        session, organisation_id=s.organisation_id, title="Integrationskonferenz 2026",
        held_on=today + timedelta(days=30), place="Ratssaal", created_by="test", now=now,
    )  # fmt: skip
    invited = invite(session, conference=conference, today=today, now=now, by="test")
    reported = request_reports(session, organisation_id=s.organisation_id, year=2026, now=now)
    assert (invited.invited, reported.queued) == (1, 1)
    # A value nobody has checked yet, so the Datenstand has something to list.
    indicator = session.scalars(
        select(Indicator).where(Indicator.organisation_id == s.organisation_id)
    ).first()
    assert indicator is not None
    session.add(
        IndicatorValue(
            organisation_id=s.organisation_id, indicator_id=indicator.id,
            survey_date=today - timedelta(days=40), value=12.0, delivered_by="test",
            delivered_at=now,
        )
    )  # fmt: skip
    session.flush()
    assert queue_for_organisation(session, organisation_id=s.organisation_id, now=now) >= 1


def _status_request(rt: Runtime, session: object, s: Seed, item: int) -> None:
    """The coordination office asks the contact of a measure for its status: status_request."""
    from sqlalchemy.orm import Session

    from workflow.bodies.status_request import request_status

    assert isinstance(session, Session)
    coordinator = session.get(User, s.user_ids[Role.COORDINATOR])
    assert coordinator is not None
    request_status(session=session, clock=rt.clock, measure_cycle_id=item, user=coordinator)


def _meeting_messages(rt: Runtime, s: Seed) -> None:
    """A body's meeting within its invitation days: the member with an account (the steering
    user) and a guest without one are invited (meeting_invitation); once the invitations went
    out, the meeting moves (meeting_changed)."""
    from datetime import date

    from workflow.bodies.models import Body, BodyKind, BodyMember, Meeting
    from workflow.meetings.invitations import queue_invitations
    from workflow.meetings.models import AgendaItem, MeetingGuest

    with unit_of_work(rt.sessions) as session:
        body = Body(
            organisation_id=s.organisation_id,
            name="Begleitgremium",
            kind=BodyKind.ADVISORY_BOARD.value,
        )
        session.add(body)
        session.flush()
        session.add(
            BodyMember(
                body_id=body.id,
                name="Mitglied mit Konto",
                email=EMAILS[Role.STEERING],
                user_id=s.user_ids[Role.STEERING],
            )
        )
        meeting = Meeting(body_id=body.id, held_on=date(2026, 3, 10), starts_at="18:00")
        session.add(meeting)
        session.flush()
        session.add(
            MeetingGuest(
                meeting_id=meeting.id,
                name="Gast ohne Konto",
                email="gast@verein.example.net",
                language="en",
            )
        )
        session.add(AgendaItem(meeting_id=meeting.id, position=1, title="Bericht"))
        meeting_id = meeting.id
    assert queue_invitations(sessions=rt.sessions, clock=rt.clock) == 2
    with unit_of_work(rt.sessions) as session:
        for row in session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "meeting_invitation")
        ):
            row.status, row.sent_at = "sent", rt.clock.now()
        moved = session.get(Meeting, meeting_id)
        assert moved is not None
        moved.held_on = date(2026, 3, 11)
    assert queue_invitations(sessions=rt.sessions, clock=rt.clock) == 2


@dataclass(frozen=True)
class Checked:
    kind: str
    lang: str
    recipient: str
    url: str  # path and query; "" for an email without a link into the app
    status: int = 0
    landed: str = ""  # the path the last redirect ended on


def clients(rt: Runtime) -> dict[str, TestClient]:
    app = create_app()
    out = {"anonymous": TestClient(app)}
    for role in (Role.COORDINATOR, Role.STEERING):
        client = TestClient(app)
        login(client, role)
        out[role.value] = client
    return out


def open_every_link(rt: Runtime) -> list[Checked]:
    """Render each message in both languages and open each of its links at once (a newer
    password-reset email retires the older link, as it should)."""
    base = rt.settings.base_url.rstrip("/")
    by_client = clients(rt)
    with rt.sessions() as session:
        ids = list(session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
        roles = {u.email: u.role for u in session.scalars(select(User))}
    out: list[Checked] = []
    for row_id in ids:
        for lang in ("de", "en"):
            with unit_of_work(rt.sessions) as session:
                row = session.get(OutboxMessage, row_id)
                assert row is not None
                if row.channel != "email":
                    continue
                row.language = lang
                email = Renderer(session, rt.settings, rt.clock.now()).render([row])
                kind, recipient = row.kind, row.recipient_email
            urls = sorted(links(email.text, email.html, base))
            if not urls:
                out.append(Checked(kind, lang, recipient, ""))
            for url in urls:
                path = url[len(base) :] or "/"
                if urlsplit(path).path.startswith(PUBLIC):
                    client = by_client["anonymous"]  # the token in the address is the credential
                else:
                    role = roles.get(recipient)
                    assert role is not None, (
                        f"{kind}: a link into the app for {recipient}, who has no account"
                    )
                    client = by_client["steering" if role == "steering" else "coordinator"]
                response = client.get(path)
                landed = urlsplit(str(response.url)).path
                out.append(Checked(kind, lang, recipient, path, response.status_code, landed))
    return out


def test_every_link_in_every_email_answers_for_its_recipient(rt: Runtime) -> None:
    build(rt)
    checked = open_every_link(rt)
    assert {c.kind for c in checked} == KINDS, KINDS - {c.kind for c in checked}
    broken = [c for c in checked if c.url and (c.status != 200 or c.landed == "/login")]
    assert broken == []
    # Forms, password reset, measure pages, outbox and indicator pages, in two languages.
    assert len([c for c in checked if c.url]) >= 2 * 20


def _urls(checked: list[Checked], kind: str, lang: str = "de") -> list[str]:
    return [c.url for c in checked if c.kind == kind and c.lang == lang and c.url]


def test_a_link_request_leads_to_the_page_that_issues_a_new_link(rt_sqlite: Runtime) -> None:
    world = build(rt_sqlite)
    urls = _urls(open_every_link(rt_sqlite), "link_request")
    coordinator = clients(rt_sqlite)["coordinator"]
    assert f"/massnahmen/{world.agreement}" in urls  # the agreement form's contact
    measure_page = coordinator.get(f"/massnahmen/{world.agreement}").text
    assert translate("event.reissue_link", "de") in measure_page
    assert "/kennzahlen" in urls  # the data source: a reminder carries a fresh link
    assert translate("ind.remind", "de") in coordinator.get("/kennzahlen").text


def test_a_dead_letter_leads_to_the_failed_message(rt_sqlite: Runtime) -> None:
    build(rt_sqlite)
    (url,) = _urls(open_every_link(rt_sqlite), "dead_letter")
    with rt_sqlite.sessions() as session:
        failed = session.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == "test:reminder")
        ).one()
        failed_to, error = failed.recipient_email, failed.last_error
    page = clients(rt_sqlite)["coordinator"].get(url).text
    assert failed_to in page and error in page


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_final_data_reminder_promises_only_what_happens(rt_sqlite: Runtime, lang: str) -> None:
    """After the deadline the head of the department (or the coordinators) hear of it; no
    body's overview lists missing indicators, so the email must not say so."""
    build(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "data_final_reminder")
        ).one()
        row.language = lang
        email = Renderer(session, rt_sqlite.settings, rt_sqlite.clock.now()).render([row])
    for text in (email.text, email.html):
        assert ("Steuerungsgruppe" if lang == "de" else "steering group") not in text
        assert ("Leitung Ihres Fachbereichs" if lang == "de" else "head of your department") in text
