"""Form links: valid, expired, revoked, reissued, wrong (rate limited, no oracle), and scoped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from notifications.models import OutboxMessage
from tests.form_support import Browser, World, agreement, build_world, link
from workflow.catalogue.models import Contact
from workflow.cycles.models import AuditEvent, MeasureCycle
from workflow.db import unit_of_work
from workflow.deadlines import BusinessCalendar, DeadlinePolicy
from workflow.forms.ratelimit import MAX_FAILURES
from workflow.forms.tokens import Phase, default_expiry, reissue, revoke_scope
from workflow.runtime import Runtime


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


@pytest.fixture
def browser(rt: Runtime) -> Iterator[Browser]:
    with TestClient(create_app()) as client:
        yield Browser(client)


def test_valid_link_opens_the_contacts_form_with_safe_headers(
    rt: Runtime, world: World, browser: Browser
) -> None:
    raw = link(rt, world)
    response = browser.open(raw)
    assert response.status_code == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert "Zielvereinbarung 2026" in response.text
    assert f'id="measure-{world.mine[0]}"' in response.text


def test_links_come_from_the_base_url_never_from_the_host_header(
    rt: Runtime, world: World, browser: Browser
) -> None:
    raw = link(rt, world)
    response = browser.client.get(f"/f/{raw}", headers={"Host": "evil.example"})
    assert response.status_code == 200
    assert "evil.example" not in response.text
    assert f'action="{rt.settings.base_url}/f/{raw}?lang=de"' in response.text


def test_default_expiry_is_the_end_of_the_local_day_n_days_after_due() -> None:
    cal = BusinessCalendar()
    expires = default_expiry(date(2026, 4, 13), DeadlinePolicy(), cal)
    assert cal.local_date(expires - timedelta(seconds=1)) == date(2026, 5, 13)
    assert cal.local_date(expires) == date(2026, 5, 14)
    short = default_expiry(date(2026, 4, 13), DeadlinePolicy(link_valid_days_after_due=1), cal)
    assert cal.local_date(short) == date(2026, 4, 15)


def _outbox(rt: Runtime, kind: str) -> list[OutboxMessage]:
    with rt.sessions() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def test_expired_link_shows_a_friendly_page_and_asks_the_coordinator_once_a_day(
    rt: Runtime, world: World, browser: Browser
) -> None:
    raw = link(rt, world, expires_at=rt.clock.now() + timedelta(hours=1))
    rt.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    page = browser.open(raw)
    assert page.status_code == 410
    assert "Dieser Link ist nicht mehr gültig" in page.text
    assert "Neuen Link anfordern" in page.text
    assert "Traceback" not in page.text
    asked = browser.post(raw, {}, suffix="/new-link")
    assert asked.status_code == 200
    assert "Koordinierungsstelle wurde benachrichtigt" in asked.text
    again = browser.post(raw, {}, suffix="/new-link")
    assert again.status_code == 200
    requests = _outbox(rt, "link_request")
    assert len(requests) == 1  # the second click queued nothing
    message = requests[0]
    assert message.recipient_email == "koordination@stadt.example.org"
    with rt.sessions() as s:
        contact = s.get(Contact, world.contact_id)
        assert contact is not None
        assert message.context == {
            "contact_id": contact.id,
            "contact_name": contact.name,
            "contact_email": contact.email,
            "cycle_id": world.cycle_id,
            "phase": "target_agreement",
        }
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.event == "link_requested")
            )
            == 1
        )
    rt.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    browser.post(raw, {}, suffix="/new-link")
    assert len(_outbox(rt, "link_request")) == 2  # a new day may ask again


def test_revoked_and_reissued_links(rt: Runtime, world: World, browser: Browser) -> None:
    old = link(rt, world)
    assert browser.open(old).status_code == 200
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:
        new = reissue(
            session=s,
            organisation_id=world.org_id,
            contact_id=world.contact_id,
            cycle_id=world.cycle_id,
            phase=Phase.TARGET_AGREEMENT,
            expires_at=now + timedelta(days=30),
            now=now,
            issued_by="user:1",
        )
    dead = browser.open(old)
    assert dead.status_code == 410
    assert "durch einen neueren ersetzt" in dead.text
    # The dead link can neither save nor submit anything.
    posted = browser.post(old, {"action": "submit_all", **agreement(world.mine[0])})
    assert posted.status_code == 410
    with rt.sessions() as s:
        mc = s.get(MeasureCycle, world.mine[0])
        assert mc is not None and mc.state == "target_agreement"
    assert browser.open(new).status_code == 200
    with unit_of_work(rt.sessions) as s:
        revoked = revoke_scope(
            session=s,
            contact_id=world.contact_id,
            cycle_id=world.cycle_id,
            phase=Phase.TARGET_AGREEMENT,
            now=now,
        )
    assert revoked == 1
    assert browser.open(new).status_code == 410


def test_unknown_and_malformed_tokens_look_exactly_alike(
    rt: Runtime, world: World, browser: Browser
) -> None:
    real = link(rt, world)
    unknown = ("A" if real[0] != "A" else "B") + real[1:]  # right shape, no such token
    browser.open(real)  # the CSRF cookie exists, so both answers are built the same way
    responses = [browser.client.get(f"/f/{raw}") for raw in (unknown, "short", "x" * 300, "%00'")]
    assert {r.status_code for r in responses} == {404}
    assert len({r.text for r in responses}) == 1
    assert "Dieser Link funktioniert nicht" in responses[0].text
    assert responses[0].headers["referrer-policy"] == "no-referrer"


def test_wrong_tokens_are_rate_limited_for_every_link_of_that_client(
    rt: Runtime, world: World, browser: Browser
) -> None:
    real = link(rt, world)
    for i in range(MAX_FAILURES):
        assert browser.client.get(f"/f/guess{i}").status_code == 404
    blocked = browser.client.get(f"/f/{real}")
    assert blocked.status_code == 429  # even a real link: being blocked tells nothing
    assert blocked.headers["retry-after"] == "900"
    assert "Zu viele Versuche" in blocked.text
    other_client = TestClient(create_app(), client=("10.1.2.3", 5000))
    assert other_client.get(f"/f/{real}").status_code == 200
    rt.clock.advance(timedelta(minutes=16))  # type: ignore[attr-defined]
    assert browser.client.get(f"/f/{real}").status_code == 200


def test_a_link_never_opens_or_changes_another_contacts_measures(
    rt: Runtime, world: World, browser: Browser
) -> None:
    raw = link(rt, world)
    page = browser.open(raw)
    for theirs in world.theirs:
        assert f'id="measure-{theirs}"' not in page.text
        assert f"m-{theirs}-" not in page.text
    target = world.theirs[0]
    response = browser.post(raw, {"action": f"submit:{target}", **agreement(target)})
    assert response.status_code == 303
    saved = browser.post(raw, {"action": "save", **agreement(target)})
    assert saved.status_code == 303
    with rt.sessions() as s:
        mc = s.get(MeasureCycle, target)
        assert mc is not None and mc.state == "target_agreement" and mc.version == 1
        moves = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.measure_cycle_id == target, AuditEvent.event != "open_cycle")
        )
        assert moves == 0
        from workflow.forms.models import FormDraft

        assert (
            s.scalars(select(FormDraft).where(FormDraft.measure_cycle_id == target)).first() is None
        )
