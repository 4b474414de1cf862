"""Builders for the hand-over and address tests: a runtime that sends to a real SMTP sink, a
signed-in coordinator of the form world's organisation, and the links found in the mail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from notifications.sink import CapturingHandler
from tests.conftest import make_runtime
from tests.dashboard_seed import csrf_headers
from workflow import runtime
from workflow.accounts import Role, add_or_update_user
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.runtime import Runtime

COORDINATOR = "koordination@stadt.example.org"  # the account build_world makes
PASSWORD = "ein langes Passwort 123"
LINK = re.compile(r"https?://\S+/f/([A-Za-z0-9_-]{43})")


@pytest.fixture
def mail_rt(
    database_url: str, clock: FrozenClock, tmp_path: Path, smtp_sink: tuple[int, CapturingHandler]
) -> Iterator[Runtime]:
    """Both databases, and a sender that delivers to the real aiosmtpd sink."""
    port, _ = smtp_sink
    rt = make_runtime(
        database_url,
        clock,
        tmp_path,
        smtp_port=port,
        smtp_timeout_seconds=2.0,
        # Plain http: the test browser would not send a Secure cookie back.
        base_url="http://zielflow.stadt.example.org",
        send_max_attempts=3,
        mail_from="zielflow@stadt.example.org",
    )
    yield rt
    runtime.install(None)
    rt.dispose()


def coordinator_client(rt: Runtime, org_id: int) -> TestClient:
    """A browser signed in as the organisation's coordinator (cookie and CSRF header)."""
    with unit_of_work(rt.sessions) as s:
        add_or_update_user(
            session=s,
            organisation_id=org_id,
            email=COORDINATOR,
            role=Role.COORDINATOR,
            password=PASSWORD,
            now=rt.clock.now(),
        )
    client = TestClient(create_app())
    response = client.post(
        "/login",
        data={"email": COORDINATOR, "password": PASSWORD},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def to(sink: CapturingHandler, address: str) -> list[EmailMessage]:
    return [m for m in sink.messages if m["To"].addresses[0].addr_spec == address]


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def links(messages: list[EmailMessage]) -> list[str]:
    """The raw form tokens in the messages' text, in order."""
    return [raw for m in messages for raw in LINK.findall(body(m))]
