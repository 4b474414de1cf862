"""The Integrationskonferenz, first half: actors and their consents, invitations through the
outbox, registration and unsubscribing through the emailed link, the coordinators' pages and
the command line. Both databases; the real app with this work's routers mounted, and the
real renderer and sender."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from api.app import create_app
from api.dashboard import conferences as conference_pages
from api.forms import conference_invitation as invitation_pages
from notifications.models import OutboxMessage
from notifications.render import Renderer
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests.conftest import make_runtime
from tests.dashboard_seed import EMAILS, PASSWORD, login
from workflow import runtime
from workflow.accounts import Role, add_or_update_user
from workflow.clock import FrozenClock
from workflow.conference import cli as conference_cli
from workflow.conference import invitations
from workflow.conference.actors import add_actor, archive_actor
from workflow.conference.conferences import create_conference
from workflow.conference.consent import WITHDRAWN_NOTE, record_consent, withdraw_consent
from workflow.conference.errors import ConferenceRefused
from workflow.conference.invitations import invite
from workflow.conference.mail import KINDS
from workflow.conference.models import (
    Actor,
    ActorConsent,
    ActorTokenPurpose,
    ConferenceInvitation,
)
from workflow.conference.tokens import issue_actor_token, revoke_actor_tokens
from workflow.db import unit_of_work
from workflow.orgs import resolve_organisation
from workflow.runtime import Runtime

DAY = date(2026, 3, 31)  # the clock stands at 02.03.2026
LINK = re.compile(r"https?://\S+/einladung/([A-Za-z0-9_-]{43})(/abmelden)?")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class World:
    org_id: int
    conference_id: int
    consented: int  # live consent to invitations
    never: int  # no consent at all
    withdrawn: int  # consent given, then withdrawn
    archived: int  # consent, but archived


def _actor(s: Any, org_id: int, name: str, email: str, now: Any) -> Actor:
    return add_actor(s, organisation_id=org_id, name=name, kind="association", email=email, now=now)


def _consent(s: Any, actor: Actor, now: Any) -> None:
    record_consent(
        s, actor=actor, purpose="invitations", given_on=date(2026, 1, 31), how="schriftlich",
        recorded_by="test", today=now.date(), now=now,
    )  # fmt: skip


def build(rt: Runtime) -> World:
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:
        org = resolve_organisation(s, "musterstadt", create=True)
        add_or_update_user(
            session=s, organisation_id=org.id, email=EMAILS[Role.COORDINATOR],
            role=Role.COORDINATOR, password=PASSWORD, now=now,
        )  # fmt: skip
        consented = _actor(s, org.id, "Türkischer Elternverein", " Eltern@Verein.Example.org ", now)
        never = _actor(s, org.id, "Lokalzeitung", "redaktion@zeitung.example.org", now)
        withdrawn = _actor(s, org.id, "Moscheegemeinde", "vorstand@moschee.example.org", now)
        archived = _actor(s, org.id, "Alter Träger", "info@traeger.example.org", now)
        for actor in (consented, withdrawn, archived):
            _consent(s, actor, now)
        withdraw_consent(s, actor=withdrawn, purpose="invitations", how="telefonisch", now=now)
        archive_actor(s, actor=archived, now=now)
        conference = create_conference(
            s, organisation_id=org.id, title="Integrationskonferenz 2026", held_on=DAY,
            place="Ratssaal", time_label="14:00 bis 18:00 Uhr", created_by="test", now=now,
        )  # fmt: skip
        return World(org.id, conference.id, consented.id, never.id, withdrawn.id, archived.id)


def _invite(rt: Runtime, conference_id: int) -> Any:
    from workflow.conference.models import Conference

    with unit_of_work(rt.sessions) as s:
        conference = s.get(Conference, conference_id)
        assert conference is not None
        now = rt.clock.now()
        return invite(s, conference=conference, today=now.date(), now=now, by="test")


def _mails(rt: Runtime) -> list[tuple[str, str]]:
    with rt.sessions() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_(KINDS))).all()
        return [(r.recipient_email, r.status) for r in rows]


def _render(rt: Runtime, email: str) -> tuple[str, str]:
    """The invitation email to ``email`` as the sender renders it: subject and text."""
    with unit_of_work(rt.sessions) as s:
        row = s.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind.in_(KINDS), OutboxMessage.recipient_email == email
            )
        ).one()
        rendered = Renderer(s, rt.settings, rt.clock.now()).render([row])
        return rendered.subject, rendered.text


def _app() -> FastAPI:
    app = create_app()
    app.include_router(conference_pages.router)  # the lead's caller lines
    app.include_router(invitation_pages.router)
    return app


def _coordinator() -> TestClient:
    client = TestClient(_app())
    login(client, Role.COORDINATOR)
    return client


def _post(client: TestClient, page: str, action: str, **data: str) -> Any:
    """Posts as the page does: with the CSRF token the page itself carries."""
    shown = client.get(page)
    assert shown.status_code == 200, shown.text
    token = CSRF.search(shown.text)
    assert token is not None
    return client.post(action, data={**data, "csrf_token": token[1]}, follow_redirects=False)


def _invitation(rt: Runtime, world: World) -> tuple[str, int]:
    with rt.sessions() as s:
        row = s.scalars(
            select(ConferenceInvitation).where(ConferenceInvitation.actor_id == world.consented)
        ).one()
        return row.status, row.participants


def test_only_consented_actors_are_invited_and_a_second_run_sends_nothing_twice(
    rt: Runtime,
) -> None:
    world = build(rt)
    first = _invite(rt, world.conference_id)
    # The archived actor is not in the directory any more; the other two lack a live consent.
    assert (first.invited, first.without_consent, first.already_invited) == (1, 2, 0)
    assert _mails(rt) == [("eltern@verein.example.org", "pending")]
    second = _invite(rt, world.conference_id)
    assert (second.invited, second.without_consent, second.already_invited) == (0, 2, 1)
    assert _mails(rt) == [("eltern@verein.example.org", "pending")]
    # One mailbox, one actor: the address is compared as stored, trimmed and in lower case.
    with unit_of_work(rt.sessions) as s, pytest.raises(ConferenceRefused) as refused:
        _actor(
            s, world.org_id, "Elternverein (doppelt)", "ELTERN@verein.example.org", rt.clock.now()
        )
    assert refused.value.code == "email_taken"


def test_register_and_decline_through_the_emailed_link(rt: Runtime) -> None:
    world = build(rt)
    _invite(rt, world.conference_id)
    subject, text = _render(rt, "eltern@verein.example.org")
    assert subject == "Einladung: Integrationskonferenz 2026 am 31.03.2026"
    assert "Datum: 31.03.2026" in text and "Ort: Ratssaal" in text
    assert "14:00 bis 18:00 Uhr" in text
    found = {m.group(2) or "": m.group(1) for m in LINK.finditer(text)}
    assert set(found) == {"", "/abmelden"} and len(set(found.values())) == 1
    page = f"/einladung/{found['']}"
    visitor = TestClient(_app())
    opened = visitor.get(page)
    assert opened.status_code == 200 and "Integrationskonferenz 2026" in opened.text
    assert _invitation(rt, world) == ("invited", 0)  # opening changes nothing

    refused = _post(visitor, page, page, answer="register", participants="0")
    assert refused.status_code == 422 and "von 1 bis 50" in refused.text
    registered = _post(visitor, page, page, answer="register", participants="3")
    assert registered.status_code == 303
    assert _invitation(rt, world) == ("registered", 3)
    coordinator = _coordinator()
    detail = coordinator.get(f"/konferenzen/{world.conference_id}").text
    assert "Angemeldet: 1 Akteur mit zusammen 3 Personen" in detail

    declined = _post(visitor, page, page, answer="decline")
    assert declined.status_code == 303
    assert _invitation(rt, world) == ("declined", 0)
    assert "Sie haben abgesagt." in visitor.get(declined.headers["location"]).text


def test_unsubscribing_withdraws_the_consent_and_the_next_run_skips_the_actor(rt: Runtime) -> None:
    world = build(rt)
    _invite(rt, world.conference_id)
    _, text = _render(rt, "eltern@verein.example.org")
    raw = LINK.search(text)
    assert raw is not None
    page = f"/einladung/{raw[1]}/abmelden"
    visitor = TestClient(_app())
    assert "Abmelden" in visitor.get(page).text
    with rt.sessions() as s:  # a GET changes nothing
        assert s.scalars(select(ActorConsent.withdrawn_at).where(
            ActorConsent.actor_id == world.consented)).one() is None  # fmt: skip
    done = _post(visitor, page, page)
    assert done.status_code == 200 and "Sie sind abgemeldet" in done.text
    with rt.sessions() as s:
        consent = s.scalars(
            select(ActorConsent).where(ActorConsent.actor_id == world.consented)
        ).one()
        assert consent.withdrawn_at is not None and consent.withdrawn_how == "per Abmeldelink"

    with unit_of_work(rt.sessions) as s:
        later = create_conference(
            s, organisation_id=world.org_id, title="Integrationskonferenz 2027",
            held_on=DAY + timedelta(days=365), created_by="test", now=rt.clock.now(),
        )  # fmt: skip
        later_id = later.id
    result = _invite(rt, later_id)
    assert (result.invited, result.without_consent) == (0, 3)


def test_a_withdrawal_stops_an_invitation_still_waiting_in_the_outbox(rt: Runtime) -> None:
    world = build(rt)
    _invite(rt, world.conference_id)
    with unit_of_work(rt.sessions) as s:
        actor = s.get(Actor, world.consented)
        assert actor is not None
        withdraw_consent(
            s, actor=actor, purpose="invitations", how="telefonisch", now=rt.clock.now()
        )
    assert _mails(rt) == [("eltern@verein.example.org", "dead")]


def test_a_link_opens_only_its_own_invitation(rt: Runtime) -> None:
    world = build(rt)
    _invite(rt, world.conference_id)
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:

        def token(actor_id: int, purpose: ActorTokenPurpose, conference_id: int | None) -> str:
            return issue_actor_token(
                s, organisation_id=world.org_id, actor_id=actor_id, purpose=purpose,
                expires_at=now + timedelta(days=30), now=now, conference_id=conference_id,
            )  # fmt: skip

        own = token(world.consented, ActorTokenPurpose.INVITATION, world.conference_id)
        not_invited = token(world.never, ActorTokenPurpose.INVITATION, world.conference_id)
        other_conference = token(world.consented, ActorTokenPurpose.INVITATION, None)
        report = token(world.consented, ActorTokenPurpose.ACTIVITY_REPORT, world.conference_id)
        revoked = token(world.consented, ActorTokenPurpose.INVITATION, world.conference_id)
        revoke_actor_tokens(s, actor_id=world.consented, now=now, conference_id=world.conference_id)
        fresh = token(world.consented, ActorTokenPurpose.INVITATION, world.conference_id)
    visitor = TestClient(_app())
    assert visitor.get(f"/einladung/{fresh}").status_code == 200
    for raw in (not_invited, other_conference, report, "x" * 43, "kurz"):
        refused = visitor.get(f"/einladung/{raw}")
        assert refused.status_code == 404 and "Dieser Link funktioniert nicht" in refused.text
    for raw in (own, revoked):
        gone = visitor.get(f"/einladung/{raw}/abmelden")
        assert gone.status_code == 410 and "nicht mehr gültig" in gone.text
    # Nor can a refused link answer by POST.
    page = f"/einladung/{fresh}"
    assert _post(visitor, page, f"/einladung/{not_invited}", answer="decline").status_code == 404
    assert _invitation(rt, world) == ("invited", 0)


def test_the_coordinator_pages_and_their_refusal_to_strangers(rt: Runtime) -> None:
    world = build(rt)
    anonymous = TestClient(_app())
    for path in (
        "/akteure",
        f"/akteure/{world.never}",
        "/konferenzen",
        f"/konferenzen/{world.conference_id}",
    ):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code in (303, 401) and "Lokalzeitung" not in response.text

    client = _coordinator()
    listed = client.get("/akteure").text
    assert "Türkischer Elternverein" in listed and "erteilt am 31.01.2026" in listed
    added = _post(
        client, "/akteure", "/akteure", name="Sportverein Nord", kind="association",
        email="Kontakt@Sport.example.org", contact_name="Frau Demir", language="de",
    )  # fmt: skip
    assert added.status_code == 303
    taken = _post(
        client, "/akteure", "/akteure", name="Sport (doppelt)", kind="association",
        email="kontakt@sport.example.org", language="de",
    )  # fmt: skip
    assert taken.status_code == 422 and "gehört schon zu einem anderen Akteur" in taken.text
    page = added.headers["location"]
    consent = _post(
        client, page, f"{page}/einwilligungen", purpose="invitations",
        given_on="2026-02-28", how="per E-Mail vom 28.02.2026",
    )  # fmt: skip
    assert consent.status_code == 303
    assert "per E-Mail vom 28.02.2026" in client.get(page).text

    created = _post(
        client, "/konferenzen", "/konferenzen", title="Fachtag Integration",
        held_on="30.04.2026", place="Bürgerhaus",
    )  # fmt: skip
    assert created.status_code == 303
    detail = created.headers["location"]
    sent = _post(client, detail, f"{detail}/einladungen")
    assert sent.status_code == 303
    shown = client.get(sent.headers["location"]).text
    assert "2 neu verschickt" in shown and "2 ohne Einwilligung übersprungen" in shown
    assert shown.count(">eingeladen<") == 2


def test_the_command_line(rt: Runtime) -> None:
    world = build(rt)
    app = typer.Typer()
    app.add_typer(conference_cli.actor_app, name="actor")
    app.add_typer(conference_cli.conference_app, name="conference")
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, [*args, "--org", "musterstadt"])

    added = run("actor", "add", "Kulturverein", "--kind", "association",
                "--email", "info@kultur.example.org", "--contact", "Herr Nowak")  # fmt: skip
    assert added.exit_code == 0, added.output
    actor_id = re.search(r"Akteur (\d+) angelegt", added.output)
    assert actor_id is not None
    consent = run("actor", "consent", actor_id[1], "--purpose", "invitations",
                  "--given-on", "31.01.2026", "--how", "schriftlich")  # fmt: skip
    assert consent.exit_code == 0 and "erteilt am 31.01.2026" in consent.output
    assert "Kulturverein" in run("actor", "list").output
    conference = run("conference", "add", "--title", "Konferenz", "--date", "31.03.2026",
                     "--place", "Rathaus")  # fmt: skip
    conference_id = re.search(r"Konferenz (\d+) angelegt", conference.output)
    assert conference_id is not None, conference.output
    invited = run("conference", "invite", conference_id[1])
    assert "2 neu eingeladen" in invited.output, invited.output
    withdrawn = run("actor", "withdraw", actor_id[1], "--purpose", "invitations")
    assert (
        withdrawn.exit_code == 0
        and "1 Einwilligung von Kulturverein widerrufen" in withdrawn.output
    )
    again = run("actor", "withdraw", actor_id[1], "--purpose", "invitations")
    assert again.exit_code == 1 and "keine gültige Einwilligung" in again.output
    assert world.org_id


@pytest.mark.postgres
def test_two_coordinators_inviting_at_once_invite_each_actor_once(
    postgres_url: str, clock: FrozenClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both runs pass the "already invited?" check before either inserts: the later insert
    meets the unique constraint and must count the actor as invited already, not fail."""
    rt = make_runtime(postgres_url, clock, tmp_path)
    try:
        world = build(rt)
        both_checked = threading.Barrier(2, timeout=20)
        waited = threading.local()
        checked = invitations.has_consent

        def has_consent_together(*args: Any, **kwargs: Any) -> bool:
            if not getattr(waited, "done", False):
                waited.done = True
                both_checked.wait()
            return checked(*args, **kwargs)

        monkeypatch.setattr(invitations, "has_consent", has_consent_together)
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = [pool.submit(_invite, rt, world.conference_id) for _ in range(2)]
            results = [run.result(timeout=60) for run in runs]
        assert sorted((r.invited, r.already_invited) for r in results) == [(0, 1), (1, 0)]
        with rt.sessions() as s:
            invited = s.scalars(select(ConferenceInvitation.actor_id)).all()
        assert invited == [world.consented]
        assert _mails(rt) == [("eltern@verein.example.org", "pending")]
    finally:
        runtime.install(None)


@pytest.fixture
def mail_rt(
    database_url: str, clock: FrozenClock, tmp_path: Path, smtp_sink: tuple[int, CapturingHandler]
) -> Iterator[Runtime]:
    port, _ = smtp_sink
    rt = make_runtime(database_url, clock, tmp_path, smtp_port=port, smtp_timeout_seconds=2.0)
    yield rt
    runtime.install(None)
    rt.dispose()


def test_a_consent_withdrawn_after_queueing_stops_the_email_at_the_sender(
    mail_rt: Runtime, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    """The race the outbox clean-up cannot see: the consent ends after the row was claimed
    for sending. Nothing is sent, the row is dead with its reason, and nobody is alarmed."""
    _, sink = smtp_sink
    world = build(mail_rt)
    _invite(mail_rt, world.conference_id)
    with unit_of_work(mail_rt.sessions) as s:  # as if withdrawn between claim and render
        consent = s.scalars(
            select(ActorConsent).where(
                ActorConsent.actor_id == world.consented, ActorConsent.purpose == "invitations"
            )
        ).one()
        consent.withdrawn_at = mail_rt.clock.now()
    report = send_pending(mail_rt)
    assert (report.emails_sent, report.dead) == (0, 1)
    assert sink.messages == []
    with mail_rt.sessions() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_(KINDS))).one()
        assert (row.status, row.last_error) == ("dead", WITHDRAWN_NOTE)
        assert (
            s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "dead_letter")).all() == []
        )
