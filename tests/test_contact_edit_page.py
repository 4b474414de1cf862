"""The contact edit page, ``/ansprechpersonen/{id}/bearbeiten``: a coordinator corrects a
department contact's salutation, name, address and language; a new address ends the old links
and sends fresh ones (as the JSON API's PATCH does, tests/test_contact_address_change.py).
Both databases, a real SMTP sink."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.bounces.state import record_report
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests.dashboard_seed import csrf_headers
from tests.delegation_support import PASSWORD, coordinator_client, links, mail_rt, to
from tests.form_support import Browser, World, build_world
from workflow.accounts import Role, add_or_update_user
from workflow.catalogue.models import Contact
from workflow.cycles.models import AuditEvent
from workflow.db import unit_of_work
from workflow.runtime import Runtime

__all__ = ["mail_rt"]  # the fixture, imported for pytest

OLD = "mkontakt0@stadt.example.org"  # owns world.mine
NEW = "kontakt.null@stadt.example.org"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BACK = re.compile(r'name="zurueck" value="([^"]*)"')


@pytest.fixture
def world(mail_rt: Runtime) -> World:
    return build_world(mail_rt)


@pytest.fixture
def coordinator(mail_rt: Runtime, world: World) -> TestClient:
    return coordinator_client(mail_rt, world.org_id)


def _url(contact_id: int) -> str:
    return f"/ansprechpersonen/{contact_id}/bearbeiten"


def _save(client: TestClient, contact_id: int, **typed: str) -> httpx.Response:
    """Posts the form as the page sends it: every field, with the page's own CSRF token."""
    form = client.get(_url(contact_id), params={"zurueck": typed.pop("zurueck", "")})
    assert form.status_code == 200, form.text
    token, back = CSRF.search(form.text), BACK.search(form.text)
    assert token is not None and back is not None, form.text
    data = {"salutation": "", "name": "", "email": "", "language": "de", **typed}
    return client.post(
        _url(contact_id),
        data={**data, "csrf_token": token[1], "zurueck": back[1]},
        follow_redirects=False,
    )


def _contact(rt: Runtime, contact_id: int) -> tuple[str, str, str, str]:
    with rt.sessions() as s:
        c = s.get(Contact, contact_id)
        assert c is not None
        return c.salutation, c.name, c.email, c.language


def test_the_form_shows_the_current_values_and_saves_a_correction(
    mail_rt: Runtime, world: World, coordinator: TestClient
) -> None:
    _, name, email, _ = _contact(mail_rt, world.contact_id)
    form = coordinator.get(_url(world.contact_id))
    assert form.status_code == 200
    assert "Ansprechperson bearbeiten" in form.text
    assert f'value="{name}"' in form.text and f'value="{email}"' in form.text
    assert '<option value="de" selected>Deutsch</option>' in form.text

    back = f"/massnahmen/{world.mine[0]}"
    saved = _save(
        coordinator,
        world.contact_id,
        salutation="frau",
        name="Dr. Maria Kontakt",
        email=email,
        language="en",
        zurueck=back,
    )
    assert saved.status_code == 303 and saved.headers["location"] == back
    assert _contact(mail_rt, world.contact_id) == ("frau", "Dr. Maria Kontakt", email, "en")
    shown = coordinator.get(back).text
    assert "Die Angaben der Ansprechperson sind gespeichert." in shown
    # The measure page leads to the form and back.
    assert f'href="{_url(world.contact_id)}?zurueck={back}"' in shown


def test_a_new_address_ends_the_old_link_and_gets_a_fresh_one(
    mail_rt: Runtime,
    world: World,
    smtp_sink: tuple[int, CapturingHandler],
) -> None:
    _, sink = smtp_sink
    send_pending(mail_rt)  # the invitations went out to the old address
    [old_link] = links(to(sink, OLD))
    browser = Browser(TestClient(create_app()))
    assert browser.open(old_link).status_code == 200
    mail_rt.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    coordinator = coordinator_client(mail_rt, world.org_id)  # signed in after the hour
    saved = _save(coordinator, world.contact_id, name="M. Kontakt", email=f" {NEW.upper()} ")
    assert saved.status_code == 303 and saved.headers["location"] == "/fachbereiche"
    assert _contact(mail_rt, world.contact_id)[2] == NEW
    assert browser.open(old_link).status_code == 410
    mail_rt.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    send_pending(mail_rt)
    reissued = to(sink, NEW)
    assert [m["X-Zielflow-Kind"] for m in reissued] == ["link_reissued"]
    [fresh] = links(reissued)
    assert browser.open(fresh).status_code == 200
    with mail_rt.sessions() as s:
        changed = s.scalars(
            select(AuditEvent.measure_cycle_id).where(AuditEvent.event == "contact_address_changed")
        ).all()
    assert sorted(i or 0 for i in changed) == world.mine


def test_the_bounce_marker_leads_to_the_form(
    mail_rt: Runtime, world: World, coordinator: TestClient
) -> None:
    with unit_of_work(mail_rt.sessions) as s:
        record_report(
            s,
            organisation_id=world.org_id,
            email=OLD,
            permanent=True,
            reason="550 5.1.1 user unknown",
            now=mail_rt.clock.now(),
        )
    measure = coordinator.get(f"/massnahmen/{world.mine[0]}").text
    marker = measure.split('data-testid="bounce-mark"', 1)[1].split("</small>", 1)[0]
    edit = f"{_url(world.contact_id)}?zurueck=/massnahmen/{world.mine[0]}"
    assert f'<a href="{edit}">Adresse korrigieren</a>' in marker
    # The form shows the marker too, without leading to itself.
    form = coordinator.get(_url(world.contact_id)).text
    assert 'data-testid="bounce-mark"' in form and "Adresse korrigieren" not in form


def test_refusals_keep_what_was_typed_and_save_nothing(
    mail_rt: Runtime, world: World, coordinator: TestClient
) -> None:
    before = _contact(mail_rt, world.contact_id)
    taken_address = _contact(mail_rt, world.other_contact_id)[2]
    taken = _save(
        coordinator, world.contact_id, salutation="herr", name="Neu Name", email=taken_address
    )
    assert taken.status_code == 422
    assert (
        f"Die Adresse {taken_address} gehört bereits zu einer anderen Ansprechperson." in taken.text
    )
    assert 'value="Neu Name"' in taken.text and f'value="{taken_address}"' in taken.text
    assert '<option value="herr" selected>' in taken.text
    bad = _save(coordinator, world.contact_id, name="", email="kontakt@", language="fr")
    assert bad.status_code == 422
    assert "„kontakt@“ ist keine gültige E-Mail-Adresse." in bad.text
    assert "Name: Bitte füllen Sie dieses Feld aus." in bad.text
    assert "Die Sprache „fr“ ist nicht vorgesehen." in bad.text
    assert _contact(mail_rt, world.contact_id) == before


def test_csrf_readers_foreign_redirects_and_english(
    mail_rt: Runtime, world: World, coordinator: TestClient
) -> None:
    before = _contact(mail_rt, world.contact_id)
    no_token = coordinator.post(
        _url(world.contact_id), data={"name": "X", "email": NEW, "language": "de"}
    )
    assert no_token.status_code == 403 and _contact(mail_rt, world.contact_id) == before
    # Only a path of this site is a way back.
    elsewhere = _save(
        coordinator, world.contact_id, name=before[1], email=before[2], zurueck="//evil.example"
    )
    assert elsewhere.headers["location"] == "/fachbereiche"
    assert coordinator.get(_url(999_999)).status_code == 404

    english = coordinator.get(_url(world.contact_id), params={"lang": "en"}).text
    assert "Edit contact" in english and "Email address" in english
    assert "Ansprechperson" not in english

    with unit_of_work(mail_rt.sessions) as s:
        add_or_update_user(
            session=s,
            organisation_id=world.org_id,
            email="lenkung@stadt.example.org",
            role=Role.STEERING,
            password=PASSWORD,
            now=mail_rt.clock.now(),
        )
    reader = TestClient(create_app())
    signed_in = reader.post(
        "/login",
        data={"email": "lenkung@stadt.example.org", "password": PASSWORD},
        headers=csrf_headers(reader),
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    assert reader.get(_url(world.contact_id)).status_code == 403
    measure = reader.get(f"/massnahmen/{world.mine[0]}")
    assert measure.status_code == 200 and _url(world.contact_id) not in measure.text
