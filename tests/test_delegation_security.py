"""Handing a form on (issue 10, findings 2 and 6): the colleague's link dies with the owner's,
with either contact's archiving and with the coordinator's word; each measure's timeline shows
the hand-over; the owner is told; an outside address waits for approval; the daily limits hold,
also against parallel requests; nothing typed but a checked name reaches a third party."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests.dashboard_seed import csrf_headers
from tests.delegation_support import body, coordinator_client, links, mail_rt, to
from tests.form_support import Browser, World, build_world, link
from workflow.catalogue.models import Contact
from workflow.cycles.coordination import reissue_link
from workflow.cycles.models import AuditEvent
from workflow.db import unit_of_work
from workflow.forms.delegation import (
    MAX_PER_LINK_PER_DAY,
    MAX_PER_ORGANISATION_PER_DAY,
    DelegationRefused,
    delegate,
)
from workflow.forms.scope import scope_of
from workflow.forms.tokens import FormToken, hash_token
from workflow.runtime import Runtime

__all__ = ["mail_rt"]  # the fixture, imported for pytest

OWNER = "mkontakt0@stadt.example.org"  # owns world.mine
COLLEAGUE = "karla.kollegin@stadt.example.org"
OUTSIDER = "nora.neu@verein.example.net"


@pytest.fixture
def world(mail_rt: Runtime) -> World:
    return build_world(mail_rt)


@pytest.fixture
def browser(mail_rt: Runtime) -> Iterator[Browser]:
    with TestClient(create_app()) as client:
        yield Browser(client)


def _hand_on(browser: Browser, raw: str, email: str, name: str = "Karla Kollegin") -> Any:
    return browser.post(raw, {"email": email, "name": name}, suffix="/delegate")


def _colleagues_link(
    rt: Runtime, browser: Browser, world: World, sink: CapturingHandler, email: str = COLLEAGUE
) -> str:
    """Hand the owner's form on to ``email`` and send: the colleague's own link."""
    owner_link = link(rt, world)
    assert _hand_on(browser, owner_link, email).status_code == 303
    send_pending(rt)
    theirs = links(to(sink, email))
    assert len(theirs) == 1, [m["Subject"] for m in sink.messages]
    assert browser.open(theirs[0]).status_code == 200
    return theirs[0]


def _kind(messages: list[EmailMessage], kind: str) -> list[EmailMessage]:
    return [m for m in messages if m["X-Zielflow-Kind"] == kind]


def _contact_id(rt: Runtime, email: str) -> int:
    with rt.sessions() as s:
        return s.scalars(select(Contact.id).where(Contact.email == email)).one()


def test_reissuing_the_owners_link_ends_the_colleagues_link_too(
    mail_rt: Runtime, world: World, browser: Browser, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    theirs = _colleagues_link(mail_rt, browser, world, sink)
    mail_rt.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    with unit_of_work(mail_rt.sessions) as s:
        reissue_link(
            session=s,
            clock=mail_rt.clock,
            measure_cycle_id=world.mine[0],
            expected_version=None,
            actor="user:1",
        )
    mail_rt.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    send_pending(mail_rt)
    assert browser.open(theirs).status_code == 410
    new = links(_kind(to(sink, OWNER), "link_reissued"))
    assert len(new) == 1 and browser.open(new[0]).status_code == 200
    with mail_rt.sessions() as s:
        ended = s.scalars(
            select(AuditEvent).where(
                AuditEvent.event == "delegation_revoked",
                AuditEvent.measure_cycle_id.in_(world.mine),
            )
        ).all()
    assert sorted(e.measure_cycle_id or 0 for e in ended) == world.mine


@pytest.mark.parametrize("archived", ["colleague", "owner"])
def test_archiving_either_contact_ends_the_colleagues_link(
    mail_rt: Runtime,
    world: World,
    browser: Browser,
    smtp_sink: tuple[int, CapturingHandler],
    archived: str,
) -> None:
    _, sink = smtp_sink
    theirs = _colleagues_link(mail_rt, browser, world, sink)
    contact_id = _contact_id(mail_rt, COLLEAGUE) if archived == "colleague" else world.contact_id
    client = coordinator_client(mail_rt, world.org_id)
    response = client.post(f"/api/v1/contacts/{contact_id}/archive", headers=csrf_headers(client))
    assert response.status_code == 200, response.text
    assert browser.open(theirs).status_code == 410


def test_each_measures_timeline_shows_the_hand_over_and_the_owner_is_told(
    mail_rt: Runtime, world: World, browser: Browser, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    assert len(world.mine) == 2
    _colleagues_link(mail_rt, browser, world, sink)
    with mail_rt.sessions() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.event == "form_delegated")).all()
    assert sorted(e.measure_cycle_id or 0 for e in events) == world.mine
    notices = _kind(to(sink, OWNER), "delegation_notice")
    assert len(notices) == 1
    assert "Karla Kollegin" in body(notices[0]) and COLLEAGUE in body(notices[0])
    client = coordinator_client(mail_rt, world.org_id)
    for mc_id in world.mine:
        page = client.get(f"/massnahmen/{mc_id}").text
        assert "Formular weitergegeben" in page and f"Karla Kollegin &lt;{COLLEAGUE}&gt;" in page


def test_the_coordinator_withdraws_a_hand_over_on_the_measure_page(
    mail_rt: Runtime, world: World, browser: Browser, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    theirs = _colleagues_link(mail_rt, browser, world, sink)
    client = coordinator_client(mail_rt, world.org_id)
    page = client.get(f"/massnahmen/{world.mine[1]}").text
    assert 'data-status="active"' in page and "Widerrufen" in page
    refused = client.post(
        f"/massnahmen/{world.theirs[0]}/weitergabe",  # another contact's measure: not its page
        data={"action": "revoke", "delegation_id": "1"},
        headers=csrf_headers(client),
    )
    assert refused.status_code == 404
    assert browser.open(theirs).status_code == 200
    done = client.post(
        f"/massnahmen/{world.mine[1]}/weitergabe",
        data={"action": "revoke", "delegation_id": "1"},
        headers=csrf_headers(client),
    )
    assert done.status_code == 200 and "Die Weitergabe ist beendet." in done.text
    assert 'data-status="revoked"' in done.text
    assert browser.open(theirs).status_code == 410


def test_an_outside_address_waits_for_the_coordinators_approval(
    mail_rt: Runtime, world: World, browser: Browser, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    handed = _hand_on(browser, link(mail_rt, world), OUTSIDER, "Nora Neu")
    assert handed.headers["location"].endswith("notice=delegation_pending")
    send_pending(mail_rt)
    assert to(sink, OUTSIDER) == []  # nobody outside is written to before the approval
    with mail_rt.sessions() as s:
        assert s.scalars(select(Contact).where(Contact.email == OUTSIDER)).first() is None
    asked = to(sink, "koordination@stadt.example.org")
    assert [m["X-Zielflow-Kind"] for m in asked] == ["delegation_approval"]
    assert OUTSIDER in body(asked[0]) and f"/massnahmen/{world.mine[0]}" in body(asked[0])
    assert "wartet auf Freigabe" in _kind(to(sink, OWNER), "delegation_notice")[0]["Subject"]
    client = coordinator_client(mail_rt, world.org_id)
    page = client.get(f"/massnahmen/{world.mine[0]}").text
    assert 'data-status="pending"' in page and "Freigeben" in page
    approved = client.post(
        f"/massnahmen/{world.mine[0]}/weitergabe",
        data={"action": "approve", "delegation_id": "1"},
        headers=csrf_headers(client),
    )
    assert "Die Weitergabe ist freigegeben." in approved.text
    send_pending(mail_rt)
    theirs = links(to(sink, OUTSIDER))
    assert len(theirs) == 1 and browser.open(theirs[0]).status_code == 200
    with mail_rt.sessions() as s:
        assert s.scalars(select(Contact).where(Contact.email == OUTSIDER)).one().name == "Nora Neu"


def test_a_refused_outside_hand_over_never_writes_to_the_address(
    mail_rt: Runtime, world: World, browser: Browser, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    _hand_on(browser, link(mail_rt, world), OUTSIDER, "Nora Neu")
    client = coordinator_client(mail_rt, world.org_id)
    client.post(
        f"/massnahmen/{world.mine[0]}/weitergabe",
        data={"action": "revoke", "delegation_id": "1"},
        headers=csrf_headers(client),
    )
    again = client.post(
        f"/massnahmen/{world.mine[0]}/weitergabe",
        data={"action": "approve", "delegation_id": "1"},
        headers=csrf_headers(client),
    )
    assert again.status_code == 409
    send_pending(mail_rt)
    assert to(sink, OUTSIDER) == []


def test_the_organisations_own_domains_are_a_setting(
    mail_rt: Runtime, world: World, browser: Browser, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    client = coordinator_client(mail_rt, world.org_id)
    default = client.get("/api/v1/organisation/mail-domains").json()
    assert default == {"domains": ["stadt.example.org"], "configured": False}
    bad = client.put(
        "/api/v1/organisation/mail-domains",
        json={"domains": ["stadt.example.org", "nicht eine domain"]},
        headers=csrf_headers(client),
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_domain"
    changed = client.put(
        "/api/v1/organisation/mail-domains",
        json={"domains": ["@Stadt.example.org", "verein.example.net"]},
        headers=csrf_headers(client),
    )
    assert changed.json() == {
        "domains": ["stadt.example.org", "verein.example.net"],
        "configured": True,
    }
    assert (
        _hand_on(browser, link(mail_rt, world), OUTSIDER, "Nora Neu")
        .headers["location"]
        .endswith("notice=delegated")
    )
    send_pending(mail_rt)
    assert len(links(to(sink, OUTSIDER))) == 1


@pytest.mark.parametrize(
    "name",
    [
        "Gewinnen Sie jetzt: https://evil.example",
        "www.evil.example",
        "Nora\r\nBcc: viele@evil.example",
        "Nora\x00Neu",
        "N" * 101,
        "Nora 123",
    ],
)
def test_only_a_checked_name_of_what_was_typed_reaches_the_colleague(
    mail_rt: Runtime, world: World, browser: Browser, name: str
) -> None:
    page = _hand_on(browser, link(mail_rt, world), COLLEAGUE, name)
    assert page.status_code == 422
    assert 'id="delegate_name-error"' in page.text
    with mail_rt.sessions() as s:
        assert s.scalars(select(Contact).where(Contact.email == COLLEAGUE)).first() is None
        assert (
            s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "delegation")).all() == []
        )


def test_the_colleagues_email_names_the_person_and_the_organisation(
    mail_rt: Runtime, world: World, browser: Browser, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    owner_link = link(mail_rt, world)
    assert _hand_on(browser, owner_link, COLLEAGUE, "Dr. Renée O'Brien-Weiß").status_code == 303
    send_pending(mail_rt)
    [message] = to(sink, COLLEAGUE)
    assert message["Subject"] == (
        "Stadt teststadt: Kontakt 0 hat Ihnen das Formular zur Zielvereinbarung weitergegeben"
    )
    assert message["To"].addresses[0].display_name == "Dr. Renée O'Brien-Weiß"
    assert f"Kontakt 0 ({OWNER}), Stadt teststadt, hat Ihnen" in body(message)


def test_a_colleagues_link_cannot_hand_on_again(
    mail_rt: Runtime, world: World, browser: Browser, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    theirs = _colleagues_link(mail_rt, browser, world, sink)
    assert 'id="delegate-title"' not in browser.open(theirs).text
    refused = _hand_on(browser, theirs, "dritte@stadt.example.org", "Dritte Person")
    assert refused.status_code == 422
    assert "nicht noch einmal weitergegeben" in refused.text


def test_hand_overs_are_limited_per_link_and_day(
    mail_rt: Runtime, world: World, browser: Browser
) -> None:
    raw = link(mail_rt, world)
    for n in range(MAX_PER_LINK_PER_DAY):
        assert _hand_on(browser, raw, f"k{n}@stadt.example.org", "Karla").status_code == 303
    over = _hand_on(browser, raw, "k99@stadt.example.org", "Karla")
    assert over.status_code == 422
    assert "heute schon 5-mal weitergegeben" in over.text
    assert 'id="delegate_email-error"' in over.text
    with mail_rt.sessions() as s:
        assert (
            s.scalars(select(Contact).where(Contact.email == "k99@stadt.example.org")).all() == []
        )
    mail_rt.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    assert _hand_on(browser, raw, "k99@stadt.example.org", "Karla").status_code == 303


def _try(rt: Runtime, raw: str, email: str) -> bool:
    with unit_of_work(rt.sessions) as s:
        token = s.scalars(select(FormToken).where(FormToken.token_hash == hash_token(raw))).one()
        try:
            delegate(session=s, clock=rt.clock, scope=scope_of(s, token), email=email, name="K")
        except DelegationRefused:
            return False
        return True


def test_the_organisation_has_a_daily_cap_across_links(mail_rt: Runtime, world: World) -> None:
    raws = [link(mail_rt, world) for _ in range(MAX_PER_ORGANISATION_PER_DAY // 5 + 1)]
    done = sum(
        _try(mail_rt, raw, f"k{i}-{n}@stadt.example.org")
        for i, raw in enumerate(raws)
        for n in range(MAX_PER_LINK_PER_DAY)
    )
    assert done == MAX_PER_ORGANISATION_PER_DAY


def test_parallel_requests_cannot_pass_the_limit(mail_rt: Runtime, world: World) -> None:
    raw = link(mail_rt, world)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda n: _try(mail_rt, raw, f"p{n}@stadt.example.org"), range(12)))
    assert sum(results) == MAX_PER_LINK_PER_DAY


def test_a_hand_over_withdrawn_before_its_email_went_out_sends_nothing(
    mail_rt: Runtime, world: World, browser: Browser, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    assert _hand_on(browser, link(mail_rt, world), COLLEAGUE).status_code == 303
    client = coordinator_client(mail_rt, world.org_id)
    client.post(
        f"/massnahmen/{world.mine[0]}/weitergabe",
        data={"action": "revoke", "delegation_id": "1"},
        headers=csrf_headers(client),
    )
    send_pending(mail_rt)
    assert to(sink, COLLEAGUE) == []
    with mail_rt.sessions() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "delegation")).all()
        handed = s.scalars(
            select(FormToken).where(FormToken.delegated_from_contact_id.is_not(None))
        ).all()
    assert {r.status for r in rows} == {"dead"} and handed == []
