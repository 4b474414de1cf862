"""A corrected email address (issue 10, finding 7): queued and resent mail goes to the new
address with a fresh link, links already sent to the old address stop working, and the new
address gets its link even when nothing was queued for it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests.dashboard_seed import csrf_headers
from tests.delegation_support import coordinator_client, links, mail_rt, to
from tests.form_support import Browser, World, build_world, link
from workflow.cycles.models import AuditEvent
from workflow.runtime import Runtime

__all__ = ["mail_rt"]  # the fixture, imported for pytest

OLD = "mkontakt0@stadt.example.org"  # owns world.mine
NEW = "kontakt.null@stadt.example.org"


@pytest.fixture
def world(mail_rt: Runtime) -> World:
    return build_world(mail_rt)


@pytest.fixture
def browser(mail_rt: Runtime) -> Iterator[Browser]:
    with TestClient(create_app()) as client:
        yield Browser(client)


def _change_address(rt: Runtime, world: World, email: str = NEW) -> None:
    client = coordinator_client(rt, world.org_id)
    response = client.patch(
        f"/api/v1/contacts/{world.contact_id}", json={"email": email}, headers=csrf_headers(client)
    )
    assert response.status_code == 200, response.text
    assert response.json()["email"] == email


def test_queued_mail_goes_to_the_corrected_address_and_old_links_stop(
    mail_rt: Runtime, world: World, browser: Browser, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    sent_before = link(mail_rt, world)  # a link that already went to the old address
    assert browser.open(sent_before).status_code == 200
    with mail_rt.sessions() as s:
        queued = s.scalars(
            select(OutboxMessage).where(OutboxMessage.measure_cycle_id.in_(world.mine))
        ).all()
    assert {m.kind for m in queued} == {"invitation_agreement"}
    assert {m.recipient_email for m in queued} == {OLD}
    _change_address(mail_rt, world)
    assert browser.open(sent_before).status_code == 410
    mail_rt.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    send_pending(mail_rt)
    assert to(sink, OLD) == []
    fresh = links(to(sink, NEW))
    # The queued invitation brings the new link; no second email is queued on top of it.
    assert [m["X-Zielflow-Kind"] for m in to(sink, NEW)] == ["invitation_agreement"]
    assert len(fresh) == 1 and browser.open(fresh[0]).status_code == 200
    with mail_rt.sessions() as s:
        moved = s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_([m.id for m in queued])))
        assert {m.recipient_email for m in moved} == {NEW}  # the outbox shows where it went
        changed = s.scalars(
            select(AuditEvent).where(AuditEvent.event == "contact_address_changed")
        ).all()
    assert sorted(e.measure_cycle_id or 0 for e in changed) == world.mine


def test_a_resent_email_goes_to_the_corrected_address(
    mail_rt: Runtime, world: World, browser: Browser, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    send_pending(mail_rt)
    [invitation] = to(sink, OLD)
    [old_link] = links([invitation])
    _change_address(mail_rt, world)
    assert browser.open(old_link).status_code == 410
    client = coordinator_client(mail_rt, world.org_id)
    with mail_rt.sessions() as s:
        message_id = s.scalars(
            select(OutboxMessage.id).where(OutboxMessage.measure_cycle_id == world.mine[0])
        ).first()
    resent = client.post(f"/api/v1/outbox/{message_id}/resend", headers=csrf_headers(client))
    assert resent.status_code == 200, resent.text
    mail_rt.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    send_pending(mail_rt)
    assert len(to(sink, OLD)) == 1  # only the first, from before the change
    fresh = links(to(sink, NEW))
    assert fresh and all(browser.open(raw).status_code == 200 for raw in fresh)


def test_with_nothing_queued_the_new_address_gets_a_new_link(
    mail_rt: Runtime, world: World, browser: Browser, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    send_pending(mail_rt)  # the invitations went out to the old address
    [old_link] = links(to(sink, OLD))
    mail_rt.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    _change_address(mail_rt, world)
    assert browser.open(old_link).status_code == 410
    mail_rt.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    send_pending(mail_rt)
    reissued = to(sink, NEW)
    assert [m["X-Zielflow-Kind"] for m in reissued] == ["link_reissued"]
    [fresh] = links(reissued)
    assert browser.open(fresh).status_code == 200


def test_changing_only_the_letter_case_keeps_the_links(
    mail_rt: Runtime, world: World, browser: Browser
) -> None:
    raw = link(mail_rt, world)
    _change_address(mail_rt, world, OLD.upper())
    assert browser.open(raw).status_code == 200
