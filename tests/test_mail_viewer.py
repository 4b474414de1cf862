"""The demo's mail viewer (/mails): on only in development, each organisation sees its own mail,
a password-reset mail only its admin. Real outbox, real sender, real SMTP sink writing .eml files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.sink import start_sink
from tests.conftest import make_runtime
from tests.dashboard_seed import EMAILS, PASSWORD, Seed, csrf_headers, login, seed
from tests.form_support import build_world
from tests.live import free_port
from workflow.accounts import Role, add_or_update_user, request_password_reset
from workflow.clock import FrozenClock
from workflow.cycles.service import record_interview
from workflow.db import unit_of_work
from workflow.runtime import Runtime, install
from workflow.tasks import send_all

OTHER_ADMIN = "admin@nachbarstadt.example.org"
OTHER_COORDINATOR = "koordination@nachbarstadt.example.org"
FILE = re.compile(r'href="/mails/([0-9]+-[0-9]+\.eml)"')


@dataclass
class Demo:
    rt: Runtime
    seed: Seed
    sink: Path
    # .eml file name -> (organisation id, kind), from the outbox rows the mail was sent for
    mails: dict[str, tuple[int, str]]


def _files_by_row(rt: Runtime, sink: Path) -> dict[str, tuple[int, str]]:
    with rt.sessions() as session:
        rows = {
            r.message_id: (r.organisation_id, r.kind)
            for r in session.scalars(select(OutboxMessage).where(OutboxMessage.status == "sent"))
        }
    out = {}
    for path in sink.glob("*.eml"):
        found = re.search(rb"^Message-ID: (<[^>]+>)", path.read_bytes(), re.MULTILINE)
        assert found is not None
        out[path.name] = rows[found[1].decode()]
    return out


@pytest.fixture
def demo(sqlite_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Demo]:
    """Two organisations whose mail went out through the real sender into the sink folder."""
    port = free_port()
    rt = make_runtime(sqlite_url, clock, tmp_path, smtp_port=port)
    sink = rt.settings.mail_sink_dir
    assert sink is not None
    controller, _handler = start_sink("127.0.0.1", port, sink)
    try:
        s = seed(rt)
        other = build_world(rt, coordinator=False)  # its contacts' form invitations go out
        with unit_of_work(rt.sessions) as session:
            for email, role in ((OTHER_ADMIN, Role.ADMIN), (OTHER_COORDINATOR, Role.COORDINATOR)):
                add_or_update_user(
                    session=session,
                    organisation_id=other.org_id,
                    email=email,
                    role=role,
                    password=PASSWORD,
                    now=clock.now(),
                )
            record_interview(
                session=session,
                clock=clock,
                measure_cycle_id=s.item_ids[0],
                expected_version=None,
                actor="test",
                decision="keep",
            )
            for email in (EMAILS[Role.ADMIN], OTHER_ADMIN):
                assert request_password_reset(session, email, clock.now())
        report = send_all(rt)
        assert report.emails_sent >= 3 and report.dead == 0
        mails = _files_by_row(rt, sink)
        yield Demo(rt, s, sink, mails)
    finally:
        controller.stop()
        install(None)


def _client(rt: Runtime, environment: str) -> TestClient:
    rt.settings.environment = environment  # type: ignore[assignment]
    return TestClient(create_app())


def _sign_in(client: TestClient, email: str) -> None:
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _listed(client: TestClient) -> set[str]:
    response = client.get("/mails")
    assert response.status_code == 200, response.text
    return set(FILE.findall(response.text))


def _of(demo: Demo, organisation_id: int, *, resets: bool) -> set[str]:
    return {
        name
        for name, (org, kind) in demo.mails.items()
        if org == organisation_id and (resets or kind != "password_reset")
    }


def test_each_organisation_sees_only_its_own_mail(demo: Demo) -> None:
    mine = demo.seed.organisation_id
    orgs = {org for org, _ in demo.mails.values()}
    assert len(orgs) == 2 and {k for _, k in demo.mails.values()} >= {"password_reset"}
    theirs = next(o for o in orgs if o != mine)

    coordinator = _client(demo.rt, "development")
    login(coordinator, Role.COORDINATOR)
    assert 'href="/mails"' in coordinator.get("/pipeline").text  # the demo's nav links it
    seen = _listed(coordinator)
    assert seen == _of(demo, mine, resets=False) and seen
    for name in demo.mails.keys() - seen:
        # Another organisation's mail and the admin's reset link: the same 404 as no file.
        assert coordinator.get(f"/mails/{name}").status_code == 404
    for name in seen:
        assert coordinator.get(f"/mails/{name}").status_code == 200

    other = _client(demo.rt, "development")
    _sign_in(other, OTHER_COORDINATOR)
    assert _listed(other) == _of(demo, theirs, resets=False)
    steering = _client(demo.rt, "development")
    login(steering, Role.STEERING)
    assert steering.get("/mails").status_code == 403


def test_reset_mail_only_for_the_admin_of_its_organisation(demo: Demo) -> None:
    mine = demo.seed.organisation_id
    admin = _client(demo.rt, "development")
    login(admin, Role.ADMIN)
    seen = _listed(admin)
    assert seen == _of(demo, mine, resets=True)
    reset = next(n for n in seen if demo.mails[n][1] == "password_reset")
    page = admin.get(f"/mails/{reset}")
    assert page.status_code == 200 and "/passwort/neu/" in page.text
    other_reset = next(
        n for n, (org, kind) in demo.mails.items() if org != mine and kind == "password_reset"
    )
    assert admin.get(f"/mails/{other_reset}").status_code == 404


@pytest.mark.parametrize("environment", ["test", "production"])
def test_off_outside_development_whatever_folder_exists(demo: Demo, environment: str) -> None:
    client = _client(demo.rt, environment)
    login(client, Role.ADMIN)
    assert any(demo.sink.iterdir())
    assert client.get("/mails").status_code == 404
    for name in demo.mails:
        assert client.get(f"/mails/{name}").status_code == 404
    assert 'href="/mails"' not in client.get("/pipeline").text
    # Signed out, the route asks for a login first, as every dashboard page does.
    anonymous = TestClient(create_app())
    assert anonymous.get("/mails", follow_redirects=False).status_code == 303


def test_a_mail_no_outbox_row_claims_is_shown_to_nobody_and_text_stays_text(demo: Demo) -> None:
    stray = demo.sink / "1700000000000-00001.eml"
    stray.write_bytes(
        b"From: zielflow@localhost\r\nTo: tobias.brandt@stadt.example.org\r\n"
        b"Message-ID: <not-ours@localhost>\r\n"
        b"Subject: Einladung zur Zielvereinbarung\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Bitte <b>hier</b> klicken.\r\n"
    )
    client = _client(demo.rt, "development")
    login(client, Role.ADMIN)
    assert stray.name not in _listed(client)
    assert client.get(f"/mails/{stray.name}").status_code == 404
    assert client.get("/mails/..%2Fzielflow.sqlite3").status_code == 404
    # A mail an outbox row does claim, with markup in its text: shown as text, never as HTML.
    name = next(iter(_of(demo, demo.seed.organisation_id, resets=False)))
    found = re.search(rb"^Message-ID: (<[^>]+>)", (demo.sink / name).read_bytes(), re.MULTILINE)
    assert found is not None
    (demo.sink / "1700000000000-00002.eml").write_bytes(
        b"From: zielflow@localhost\r\nTo: tobias.brandt@stadt.example.org\r\n"
        b"Message-ID: " + found[1] + b"\r\nSubject: Einladung\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nBitte <b>hier</b> klicken.\r\n"
    )
    page = client.get("/mails/1700000000000-00002.eml").text
    assert "Bitte &lt;b&gt;hier&lt;/b&gt; klicken." in page
