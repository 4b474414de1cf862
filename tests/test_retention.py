"""Retention rules (workflow/privacy/retention.py) on both databases: old email content goes,
long-archived contacts are erased unless something still needs them, 0 changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from notifications.models import OutboxMessage, OutboxStatus
from tests import factories
from tests.dashboard_seed import csrf_headers, login, seed
from workflow.accounts import Role, User
from workflow.catalogue.archive import ArchivedKind, archive
from workflow.catalogue.models import Contact, Measure
from workflow.config import Settings
from workflow.db import unit_of_work
from workflow.privacy.retention import PRUNED, apply_retention
from workflow.privacy.scan import Needles, scoped_rows
from workflow.runtime import Runtime
from workflow.tasks import sweep_once

NAME, EMAIL = "Erika Mustermann", "erika.mustermann@stadt.example.org"
SECRET_TEXT = "Bitte bis zum 31.12.2027 den Sachstand melden."


@dataclass
class World:
    org_id: int
    erika: int  # archived six years ago, nothing open
    owner: int  # archived six years ago, still owns an active measure
    account: int  # archived six years ago, her address is an active account's
    recent: int  # archived a year ago


def _mail(s: Session, org_id: int, key: str, status: str, at: datetime, **extra: Any) -> int:
    row = OutboxMessage(
        organisation_id=org_id, dedupe_key=key, kind="reminder", recipient_email=EMAIL,
        recipient_name=NAME, status=status, created_at=at, not_before=at,
        context={"contact_name": NAME, "cycle_id": 7, "stay": 2, "phase": "review",
                 "reply_to": "buero@stadt.example.org", "cc": [EMAIL]},
        sent_at=at if status == OutboxStatus.SENT.value else None, **extra,
    )  # fmt: skip
    s.add(row)
    s.flush()
    return row.id


def _contact(s: Session, org_id: int, name: str, email: str, archived: datetime) -> Contact:
    contact = Contact(organisation_id=org_id, name=name, email=email)
    s.add(contact)
    s.flush()
    archive(
        s, organisation_id=org_id, kind=ArchivedKind.CONTACT, record_id=contact.id,
        now=archived, actor="user:1",
    )  # fmt: skip
    return contact


@pytest.fixture
def world(rt: Runtime) -> World:
    now = rt.clock.now()
    long_ago, last_year = now - timedelta(days=6 * 366), now - timedelta(days=365)
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        m1, m2 = factories.measures(s, org, 2)
        m2.description = f"Abgestimmt mit {NAME}; Frau Mustermann liefert die Zahlen."
        erika = _contact(s, org.id, NAME, EMAIL, long_ago)
        owner = s.get(Contact, m1.contact_id)
        assert owner is not None
        archive(
            s, organisation_id=org.id, kind=ArchivedKind.CONTACT, record_id=owner.id,
            now=long_ago, actor="user:1",
        )  # fmt: skip
        account = _contact(s, org.id, "Paula Schmidt", "paula.schmidt@stadt.example.org", long_ago)
        s.add(
            User(
                organisation_id=org.id, email=account.email, name=account.name,
                role=Role.COORDINATOR.value, password_hash="x", created_at=now,
            )
        )  # fmt: skip
        recent = _contact(s, org.id, "Jonas Weber", "jonas.weber@stadt.example.org", last_year)
        return World(org.id, erika.id, owner.id, account.id, recent.id)


def _settings(rt: Runtime, **retention: int) -> Settings:
    return rt.settings.model_copy(update=retention)


def _outbox(s: Session) -> dict[str, tuple[str, str, dict[str, Any]]]:
    rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    return {r.dedupe_key: (r.recipient_email, r.recipient_name, r.context) for r in rows}


def test_old_sent_and_dead_mail_loses_its_content_once(rt: Runtime, world: World) -> None:
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:
        for key, status, age in (
            ("old-sent", OutboxStatus.SENT.value, 40),
            ("old-dead", OutboxStatus.DEAD.value, 31),
            ("old-sent-2", OutboxStatus.SENT.value, 31),
            ("recent-sent", OutboxStatus.SENT.value, 29),
            ("old-pending", OutboxStatus.PENDING.value, 40),
        ):
            _mail(s, world.org_id, key, status, now - timedelta(days=age))
    with rt.sessions() as s:
        before = _outbox(s)
    settings = _settings(rt, retention_sent_email_days=30, sweep_batch_size=2)  # two batches

    report = apply_retention(rt.sessions, settings, now)

    assert report.emails_pruned == 3
    with rt.sessions() as s:
        after = _outbox(s)
    for key in ("old-sent", "old-dead", "old-sent-2"):
        # Address and technical values stay for dedupe and audit; names and texts go.
        assert after[key] == (EMAIL, "", {"cycle_id": 7, "stay": 2, "phase": "review", PRUNED: 30})
    for key in ("recent-sent", "old-pending"):
        assert after[key] == before[key]
    again = apply_retention(rt.sessions, settings, now + timedelta(minutes=5))
    assert again.emails_pruned == 0
    with rt.sessions() as s:
        assert _outbox(s) == after


def _mentions(s: Session, org_id: int, needles: Needles) -> list[str]:
    return [
        t.name
        for t, row in scoped_rows(s, org_id)
        if any(needles.mentioned(v) for v in row.values() if isinstance(v, str | dict | list))
    ]


def test_long_archived_contact_is_erased_unless_still_needed(rt: Runtime, world: World) -> None:
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:
        _mail(s, world.org_id, "to-erika", OutboxStatus.SENT.value, now - timedelta(days=3))
        needles = Needles(EMAIL, [NAME])
        assert _mentions(s, world.org_id, needles)  # the check below can fail
    settings = _settings(rt, retention_archived_contact_years=5)

    report = apply_retention(rt.sessions, settings, now)

    assert report.contacts_erased == 1
    with rt.sessions() as s:
        assert _mentions(s, world.org_id, needles) == []
        erika, owner, account, recent = (
            s.get(Contact, i) for i in (world.erika, world.owner, world.account, world.recent)
        )
        assert erika is not None and erika.email.endswith("@invalid")
        assert owner is not None and owner.email == "mkontakt0@stadt.example.org"
        assert account is not None and account.name == "Paula Schmidt"
        assert recent is not None and recent.name == "Jonas Weber"
        assert s.scalar(select(Measure.contact_id).where(Measure.code == "M0001")) == owner.id
    skipped = {c.contact_id: c for c in report.skipped}
    assert set(skipped) == {world.owner, world.account}
    assert skipped[world.account].reason == "active_account"
    assert skipped[world.owner].reason == "open_items"
    assert [(i.kind, i.label) for i in skipped[world.owner].items] == [
        ("measure", "M0001 Maßnahme 1"),
        ("measure", "M0002 Maßnahme 2"),
    ]
    again = apply_retention(rt.sessions, settings, now)
    assert again.contacts_erased == 0 and len(again.skipped) == 2


def test_settings_at_zero_change_nothing(rt: Runtime, world: World) -> None:
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:
        _mail(s, world.org_id, "ancient", OutboxStatus.SENT.value, now - timedelta(days=4000))
    with rt.sessions() as s:
        before = (_outbox(s), sorted((c.id, c.name, c.email) for c in s.scalars(select(Contact))))

    report = apply_retention(rt.sessions, rt.settings, now)

    assert (report.emails_pruned, report.contacts_erased, report.skipped) == (0, 0, [])
    with rt.sessions() as s:
        after = (_outbox(s), sorted((c.id, c.name, c.email) for c in s.scalars(select(Contact))))
    assert after == before


def test_the_sweep_applies_retention(rt: Runtime, world: World) -> None:
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:
        _mail(s, world.org_id, "old", OutboxStatus.SENT.value, now - timedelta(days=100))
    rt.settings.retention_sent_email_days = 90

    sweep_once(rt)

    with rt.sessions() as s:
        assert _outbox(s)["old"][2][PRUNED] == 90


def test_negative_settings_are_refused() -> None:
    for name in ("retention_sent_email_days", "retention_archived_contact_years"):
        with pytest.raises(ValidationError):
            Settings(**{name: -1})  # type: ignore[arg-type]


def _eml(sink: Path, message_id: str) -> str:
    sink.mkdir(parents=True, exist_ok=True)
    (sink / "1700000000000-00001.eml").write_bytes(
        f"From: zielflow@localhost\r\nTo: {NAME} <{EMAIL}>\r\nMessage-ID: {message_id}\r\n"
        "Subject: Erinnerung\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Date: Mon, 02 Feb 2026 10:00:00 +0100\r\n\r\n"
        f"{SECRET_TEXT}\r\n".encode()
    )
    return "1700000000000-00001.eml"


def test_the_mail_viewer_shows_a_pruned_email_as_pruned(rt_sqlite: Runtime) -> None:
    rt, now = rt_sqlite, rt_sqlite.clock.now()
    org_id = seed(rt).organisation_id
    with unit_of_work(rt.sessions) as s:
        row_id = _mail(s, org_id, "seen", OutboxStatus.SENT.value, now - timedelta(days=40),
                       message_id="<m1@localhost>")  # fmt: skip
    assert rt.settings.mail_sink_dir is not None
    name = _eml(rt.settings.mail_sink_dir, "<m1@localhost>")
    rt.settings.environment = "development"
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    assert SECRET_TEXT in client.get(f"/mails/{name}").text

    apply_retention(rt.sessions, _settings(rt, retention_sent_email_days=30), now)

    page = client.get(f"/mails/{name}")
    assert page.status_code == 200
    assert "Inhalt gelöscht nach 30 Tagen" in page.text
    assert SECRET_TEXT not in page.text and NAME not in page.text and EMAIL in page.text
    assert "Content deleted after 30 days" in client.get(f"/mails/{name}?lang=en").text
    # Nothing is left to send again.
    resent = client.post(f"/api/v1/outbox/{row_id}/resend", headers=csrf_headers(client))
    assert resent.status_code == 409
    assert "Aufbewahrungsfrist" in resent.json()["error"]["message"]
