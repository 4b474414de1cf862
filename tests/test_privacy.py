"""DSGVO requests for one person: export what is stored, erase it by pseudonym, on both databases.

The real check of an erasure is generic: every text and JSON column of every table, read
through ``Base.metadata``, must no longer hold the person's name or address.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, String, Text, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from notifications.models import OutboxMessage, OutboxStatus
from tests import factories
from workflow.accounts import Role, User
from workflow.bodies.models import Body, BodyMember
from workflow.catalogue.models import Contact, Organisation
from workflow.cli import app
from workflow.conference.models import Actor, ActorConsent
from workflow.cycles.models import AuditEvent, Interview, MeasureCycle, TargetAgreement
from workflow.cycles.service import open_cycle
from workflow.db import Base, unit_of_work
from workflow.forms.tokens import FormToken, Phase, issue_token
from workflow.privacy.erase import PersonHasOpenItems, erase_person
from workflow.privacy.export import export_person
from workflow.runtime import Runtime
from workflow.sessions import UserSession, start_session
from workflow.status_checks.models import StatusCheckRequest
from workflow.status_checks.selection import Selection
from workflow.status_checks.service import open_status_check

NAME, EMAIL = "Erika Mustermann", "erika.mustermann@stadt.example.org"
OTHER_NAME, OTHER_EMAIL = "Jonas Weber", "jonas.weber@stadt.example.org"


@dataclass
class World:
    org_id: int
    erika: int  # contact id; owns M0001 and M0003
    jonas: int  # contact id; owns M0002
    user: int  # Erika's account


def _contacts(s: Session, org: Organisation) -> tuple[Contact, Contact]:
    factories.measures(s, org, 3, contacts=2)
    erika, jonas = s.scalars(select(Contact).order_by(Contact.id)).all()[:2]
    erika.name, erika.email, erika.salutation = NAME, EMAIL, "frau"
    jonas.name, jonas.email = OTHER_NAME, OTHER_EMAIL
    s.flush()
    return erika, jonas


def _mail(s: Session, org_id: int, key: str, to: str, name: str, status: str, now: Any) -> None:
    s.add(
        OutboxMessage(
            organisation_id=org_id, dedupe_key=key, kind="reminder", recipient_email=to,
            recipient_name=name, context={"contact_name": name, "cc": [to]}, status=status,
            created_at=now, not_before=now,
        )
    )  # fmt: skip


@pytest.fixture
def world(rt: Runtime) -> World:
    """Erika: measures, a review link, mail, a body seat, an account, answers and the audit
    trail naming her. Jonas, a colleague: a measure, a link, mail, a seat."""
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        erika, jonas = _contacts(s, org)
        cycle_id = open_cycle(session=s, clock=rt.clock, organisation_id=org.id, year=2026).cycle_id
        mc = s.scalars(select(MeasureCycle).order_by(MeasureCycle.id)).first()
        assert mc is not None
        for contact in (erika, jonas):
            issue_token(
                session=s, organisation_id=org.id, contact_id=contact.id, cycle_id=cycle_id,
                phase=Phase.REVIEW, expires_at=now + timedelta(days=30), now=now, issued_by="cli",
            )  # fmt: skip
        _mail(s, org.id, "t:1", "Erika.Mustermann@Stadt.Example.org", NAME, "pending", now)
        _mail(s, org.id, "t:2", EMAIL, NAME, OutboxStatus.SENT.value, now)
        _mail(s, org.id, "t:3", OTHER_EMAIL, OTHER_NAME, "pending", now)
        body = Body(organisation_id=org.id, name="Steuerungsgruppe Integration")
        s.add(body)
        s.flush()
        user = User(
            organisation_id=org.id, email=EMAIL, name=NAME, role=Role.STEERING.value,
            password_hash="x", created_at=now,
        )  # fmt: skip
        s.add(user)
        s.flush()
        s.add(BodyMember(body_id=body.id, name=NAME, email=EMAIL, user_id=user.id))
        s.add(BodyMember(body_id=body.id, name=OTHER_NAME, email=OTHER_EMAIL))
        start_session(s, user=user, now=now)
        actor = f"contact:{erika.id}"
        s.add_all(
            [
                AuditEvent(
                    organisation_id=org.id, measure_cycle_id=mc.id, at=now, actor=actor,
                    event="submitted", payload={"by_name": NAME},
                ),
                Interview(
                    measure_cycle_id=mc.id, participants=f"{NAME} (Sachgebietsleitung)",
                    notes="Frau Mustermann stellt die Zahlen nach.", decision="continue",
                    recorded_at=now, recorded_by="user:1",
                ),
                TargetAgreement(
                    measure_cycle_id=mc.id, decision="continue", responsible=NAME,
                    submitted_at=now, submitted_by=actor,
                ),
            ]
        )  # fmt: skip
        open_status_check(
            s, clock=rt.clock, organisation_id=org.id, due_on=date(2026, 4, 15),
            selection=Selection(measure_codes=("M0001",)), actor="user:1",
        )  # fmt: skip
        return World(org_id=org.id, erika=erika.id, jonas=jonas.id, user=user.id)


def _org(s: Session, world: World) -> Organisation:
    org = s.get(Organisation, world.org_id)
    assert org is not None
    return org


def _texts(s: Session) -> list[tuple[str, str, str]]:
    """(table, column, text) of every non-empty text or JSON value in the database."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        for row in s.execute(select(*columns)).all() if columns else []:
            for column, value in zip(columns, row, strict=True):
                if value not in (None, ""):
                    text = (
                        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    )
                    found.append((table.name, column.name, text))
    return found


def _snapshot(s: Session) -> dict[str, list[str]]:
    return {
        t.name: sorted(repr(tuple(r)) for r in s.execute(select(t)).all())
        for t in Base.metadata.sorted_tables
    }


def test_export_holds_each_piece_and_nobody_else(rt: Runtime, world: World) -> None:
    with unit_of_work(rt.sessions) as s:
        data = export_person(s, _org(s, world), "ERIKA.Mustermann@stadt.example.org")
    tables = data["tables"]
    for name in (
        "contact", "measure", "form_token", "outbox_message", "body_member", "app_user",
        "user_session", "audit_event", "interview", "target_agreement",
        "status_check_request", "status_check_item",
    ):  # fmt: skip
        assert tables.get(name), name
    assert [m["code"] for m in tables["measure"]] == ["M0001", "M0003"]
    assert {m["dedupe_key"] for m in tables["outbox_message"]} >= {"t:1", "t:2"}
    text = json.dumps(data, ensure_ascii=False)  # plain JSON: dates are ISO strings
    assert tables["contact"][0]["email"] == EMAIL
    assert tables["app_user"][0]["created_at"].startswith("2026-03-02T")
    assert "weber" not in text.lower() and "M0002" not in text
    assert "_hash" not in text


def test_erase_refuses_while_items_are_open_and_names_them(rt: Runtime, world: World) -> None:
    with unit_of_work(rt.sessions) as s, pytest.raises(PersonHasOpenItems) as refused:
        erase_person(s, _org(s, world), EMAIL, force=False, now=rt.clock.now())
    items = {(i.kind, i.label) for i in refused.value.items}
    assert ("measure", "M0001 Maßnahme 1") in items
    assert ("measure", "M0003 Maßnahme 3") in items
    assert ("membership", "Steuerungsgruppe Integration") in items
    assert ("form", Phase.REVIEW.value) in items
    assert {k for k, _ in items} >= {"status_check"}
    with unit_of_work(rt.sessions) as s:
        assert s.get(Contact, world.erika).name == NAME  # type: ignore[union-attr]


def test_forced_erasure_leaves_no_trace_and_keeps_the_trail(rt: Runtime, world: World) -> None:
    with unit_of_work(rt.sessions) as s:
        done = erase_person(s, _org(s, world), EMAIL, force=True, now=rt.clock.now())
    assert done.pseudonym == "geloescht-1@invalid"
    with unit_of_work(rt.sessions) as s:
        leaks = [t for t in _texts(s) if "mustermann" in t[2].lower()]
        assert leaks == []
        erika = s.get(Contact, world.erika)
        assert erika is not None and (erika.name, erika.email) == (
            "Gelöschte Person 1",
            done.pseudonym,
        )
        for event in s.scalars(select(AuditEvent)):
            kind, _, row_id = event.actor.partition(":")
            if kind == "contact":
                assert s.get(Contact, int(row_id)) is not None
        tokens = {t.contact_id: t.revoked_at for t in s.scalars(select(FormToken))}
        assert tokens[world.erika] is not None and tokens[world.jonas] is None
        assert all(u.ended_at for u in s.scalars(select(UserSession)))
        assert not s.get(User, world.user).active  # type: ignore[union-attr]
        mail = {(m.recipient_email, m.status) for m in s.scalars(select(OutboxMessage))}
        assert (done.pseudonym, "sent") in mail and (OTHER_EMAIL, "pending") in mail
        assert all(m[0] == OTHER_EMAIL or m[1] == "sent" for m in mail)  # nothing to a pseudonym
        request = s.scalars(select(StatusCheckRequest)).one()
        assert request.next_action_at is None
        jonas = s.get(Contact, world.jonas)
        assert jonas is not None and (jonas.name, jonas.email) == (OTHER_NAME, OTHER_EMAIL)
        assert (
            s.scalars(select(BodyMember.left_on).where(BodyMember.email == OTHER_EMAIL)).one()
            is None
        )
        before = _snapshot(s)
    with unit_of_work(rt.sessions) as s:
        again = erase_person(s, _org(s, world), EMAIL, force=True, now=rt.clock.now())
    assert again.pseudonym is None
    with unit_of_work(rt.sessions) as s:
        assert _snapshot(s) == before


def zielflow(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_cli_in_german_refuses_then_erases(rt: Runtime, world: World) -> None:
    refused = zielflow("person", "erase", EMAIL)
    assert refused.exit_code == 1, refused.stdout
    line = refused.stderr.strip()
    assert line.startswith(f"{EMAIL} wird nicht gelöscht, die Person hat noch offene Vorgänge:")
    assert "2 zugeordnete Maßnahmen „M0001 Maßnahme 1“, „M0003 Maßnahme 3“" in line
    assert "Mitglied im Gremium „Steuerungsgruppe Integration“" in line
    assert "offene Sachstandsabfrage „fällig am 15.04.2026“; 1 noch gültiger Formularlink" in line
    done = zielflow("person", "erase", EMAIL, "--org", "teststadt", "--force")
    assert done.exit_code == 0, done.stderr
    assert done.stdout.startswith(
        f"{EMAIL} ist gelöscht: Name und Adresse lauten jetzt geloescht-1@invalid ("
    )
    again = zielflow("person", "erase", EMAIL, "--force")
    assert again.stdout.strip() == (
        f"Zu {EMAIL} ist in dieser Organisation nichts gespeichert; nichts geändert."
    )


def test_cli_in_english_exports_to_a_file(rt: Runtime, world: World, tmp_path: Path) -> None:
    target = tmp_path / "auskunft.json"
    result = zielflow("--lang", "en", "person", "export", EMAIL, "--output", str(target))
    assert result.exit_code == 0, result.stderr
    data = json.loads(target.read_text(encoding="utf-8"))
    rows = sum(len(found) for found in data["tables"].values())
    assert result.stdout.strip() == f"{rows} records written to {target}."
    assert data["email"] == EMAIL and data["tables"]["contact"][0]["name"] == NAME
    printed = zielflow("--lang", "en", "person", "export", "nobody@stadt.example.org")
    assert json.loads(printed.stdout)["tables"] == {}


def test_an_actor_of_the_conference_is_exported_and_erased_like_everyone(
    rt: Runtime, world: World
) -> None:
    """Actors' contact persons are personal data too; the generic walk must find them."""
    with unit_of_work(rt.sessions) as s:
        actor = Actor(
            organisation_id=world.org_id, name="Elternverein Musterstadt e. V.",
            kind="association", contact_name=NAME, email=EMAIL,
            created_at=rt.clock.now(),
        )  # fmt: skip
        s.add(actor)
        s.flush()
        s.add(
            ActorConsent(
                organisation_id=world.org_id, actor_id=actor.id, purpose="invitations",
                given_on=rt.clock.now().date(), how=f"E-Mail von {NAME}",
                recorded_by="user:1", recorded_at=rt.clock.now(),
            )
        )  # fmt: skip
        actor_id = actor.id
    with unit_of_work(rt.sessions) as s:
        data = export_person(s, _org(s, world), EMAIL)
    assert [a["id"] for a in data["tables"]["actor"]] == [actor_id]
    assert data["tables"]["actor_consent"][0]["how"] == f"E-Mail von {NAME}"
    with unit_of_work(rt.sessions) as s:
        done = erase_person(s, _org(s, world), EMAIL, force=True, now=rt.clock.now())
    with unit_of_work(rt.sessions) as s:
        kept = s.get(Actor, actor_id)
        assert kept is not None and kept.name == "Elternverein Musterstadt e. V."
        assert (kept.contact_name, kept.email) == ("Gelöschte Person 1", done.pseudonym)
        consent = s.scalars(select(ActorConsent)).one()
        assert NAME not in consent.how and consent.given_on == rt.clock.now().date()
