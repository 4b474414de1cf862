"""Control characters (issue 10, finding 14): refused where names and addresses come in (API,
catalogue import, indicator import), and a message that cannot be rendered or built never
costs a contact the only link that works."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests.dashboard_seed import csrf_headers
from tests.delegation_support import coordinator_client, links, mail_rt, to
from tests.form_support import Browser, World, build_world, link
from workflow.catalogue.models import Contact
from workflow.catalogue.service import CatalogueInvalid, import_catalogue
from workflow.cycles.coordination import reissue_link
from workflow.db import unit_of_work
from workflow.indicators.importer import COLUMNS, IndicatorsInvalid, import_indicators
from workflow.runtime import Runtime

__all__ = ["mail_rt"]  # the fixture, imported for pytest

BREAKS = ["Anna\r\nBcc: viele@evil.example", "Anna\nMeier", "Anna\tMeier", "Anna\x01", "A\u2028B"]


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


def _error(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "validation_error"
    return error


@pytest.mark.parametrize("value", BREAKS)
def test_the_api_refuses_control_characters_in_names_and_addresses(
    rt: Runtime, world: World, value: str
) -> None:
    client = coordinator_client(rt, world.org_id)
    h = csrf_headers(client)
    for method, path, body in (
        ("POST", "/api/v1/contacts", {"name": value, "email": "neu@stadt.example.org"}),
        ("POST", "/api/v1/contacts", {"name": "Anna", "email": f"an{value}@stadt.example.org"}),
        ("PATCH", f"/api/v1/contacts/{world.contact_id}", {"name": value}),
        ("POST", "/api/v1/departments", {"name": value}),
        ("POST", "/api/v1/fields", {"code": "Z", "name": value}),
    ):
        error = _error(client.request(method, path, json=body, headers=h))
        messages = [e["message"] for e in error["details"]["errors"]]
        assert any("Steuerzeichen" in m for m in messages), (path, messages)
    with rt.sessions() as s:
        names = set(s.scalars(select(Contact.name)))
    assert not any(value in n for n in names)


def test_a_description_may_still_span_several_lines(rt: Runtime, world: World) -> None:
    client = coordinator_client(rt, world.org_id)
    with rt.sessions() as s:
        contact = s.get(Contact, world.contact_id)
        assert contact is not None and contact.department_id is not None
        department_id = contact.department_id
    goal_id = client.get("/api/v1/goals").json()[0]["id"]
    created = client.post(
        "/api/v1/measures",
        json={
            "goal_id": goal_id,
            "department_id": department_id,
            "code": "Z1",
            "title": "Neue Maßnahme",
            "description": "Zeile 1\r\nZeile 2\tmit Tab",
        },
        headers=csrf_headers(client),
    )
    assert created.status_code == 201, created.text
    refused = client.post(
        "/api/v1/measures",
        json={
            "goal_id": goal_id,
            "department_id": department_id,
            "code": "Z2",
            "title": "Titel\nüber zwei Zeilen",
        },
        headers=csrf_headers(client),
    )
    _error(refused)


HEADER = (
    "handlungsfeld_code,handlungsfeld,ziel_code,ziel,ziel_rang,massnahme_code,massnahme,"
    "beschreibung,fachbereich,kontakt_name,kontakt_email\n"
)


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        ("kontakt_name", '"Anna\nMeier"'),
        ("kontakt_name", '"Anna\r\nBcc: x@evil.example"'),
        ("fachbereich", '"Amt\tfür Schule"'),
        ("massnahme", '"Lotsen\rfür Betriebe"'),
    ],
)
def test_the_catalogue_import_refuses_a_line_break_in_a_one_line_column(
    rt: Runtime, tmp_path: Path, column: str, cell: str
) -> None:
    values = {
        "kontakt_name": "Anna Meier",
        "fachbereich": "Amt für Schule",
        "massnahme": "Lotsen",
    }
    values[column] = cell
    row = (
        f'A,Arbeit,A1,Strategie,1,A1.1,{values["massnahme"]},"Zeile 1\nZeile 2",'
        f"{values['fachbereich']},{values['kontakt_name']},anna@stadt.example.org\n"
    )
    path = tmp_path / "katalog.csv"
    path.write_text(HEADER + row, encoding="utf-8")
    with unit_of_work(rt.sessions) as s:
        from tests import factories

        org_id = factories.organisation(s).id
    with pytest.raises(CatalogueInvalid) as refused, unit_of_work(rt.sessions) as s:
        import_catalogue(session=s, organisation_id=org_id, path=path)
    assert [(e.line, e.column) for e in refused.value.errors] == [(2, column)]
    assert "Zeilenumbruch" in refused.value.errors[0].message


def test_the_indicator_import_refuses_a_line_break_in_the_source_contact(
    rt: Runtime, world: World, tmp_path: Path
) -> None:
    good = {
        "kennzahl_code": "T-1",
        "aussage": "Eine Testkennzahl steigt",
        "einheit": "prozent",
        "richtung": "steigend",
        "erhebung_monate": "3",
        "quelle_email": "quelle@stadt.example.org",
        "quelle_name": "Quelle\r\nBcc: viele@evil.example",
    }
    path = tmp_path / "kennzahlen.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerow({c: good.get(c, "") for c in COLUMNS})
    with pytest.raises(IndicatorsInvalid) as refused, unit_of_work(rt.sessions) as s:
        import_indicators(
            session=s,
            organisation_id=world.org_id,
            path=path,
            now=rt.clock.now(),
            today=rt.clock.now().date(),
        )
    assert "quelle_name" in {e.column for e in refused.value.errors}, refused.value.errors


# -- a message that cannot be built keeps the working link --------------------------------


@pytest.fixture
def mail_world(mail_rt: Runtime) -> World:
    return build_world(mail_rt)


@pytest.fixture
def browser(mail_rt: Runtime) -> Iterator[Browser]:
    with TestClient(create_app()) as client:
        yield Browser(client)


def _reissue_and_send(rt: Runtime, world: World) -> None:
    send_pending(rt)  # the invitations, first
    rt.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    with unit_of_work(rt.sessions) as s:
        reissue_link(
            session=s,
            clock=rt.clock,
            measure_cycle_id=world.mine[0],
            expected_version=None,
            actor="user:1",
        )
    rt.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    send_pending(rt)


def _corrupt(rt: Runtime, world: World, **values: str) -> None:
    """What an older release let in (no input check then), written straight to the table."""
    with unit_of_work(rt.sessions) as s:
        s.execute(update(Contact).where(Contact.id == world.contact_id).values(**values))


def test_a_legacy_name_with_a_line_break_no_longer_stops_the_mail(
    mail_rt: Runtime,
    mail_world: World,
    browser: Browser,
    smtp_sink: tuple[int, CapturingHandler],
) -> None:
    _, sink = smtp_sink
    old = link(mail_rt, mail_world)
    _corrupt(mail_rt, mail_world, name="Kontakt\r\nBcc: viele@evil.example")
    _reissue_and_send(mail_rt, mail_world)
    reissued = [
        m
        for m in to(sink, "mkontakt0@stadt.example.org")
        if m["X-Zielflow-Kind"] == "link_reissued"
    ]
    assert len(reissued) == 1
    assert reissued[0]["To"].addresses[0].display_name == "Kontakt Bcc: viele@evil.example"
    assert all("viele@evil.example" not in rcpt for _, rcpts in sink.envelopes for rcpt in rcpts)
    assert browser.open(old).status_code == 410
    assert browser.open(links(reissued)[0]).status_code == 200


def test_a_message_that_cannot_be_built_keeps_the_old_link(
    mail_rt: Runtime,
    mail_world: World,
    browser: Browser,
    smtp_sink: tuple[int, CapturingHandler],
) -> None:
    _, sink = smtp_sink
    old = link(mail_rt, mail_world)
    _corrupt(mail_rt, mail_world, email="mkontakt0@stadt.example.org\r\nBcc: x@evil.example")
    _reissue_and_send(mail_rt, mail_world)
    with mail_rt.sessions() as s:
        failed = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "link_reissued")).one()
    assert failed.status == "pending" and failed.last_error.startswith("render:")
    assert browser.open(old).status_code == 200  # the only working link still works
    assert not [m for m in sink.messages if m["X-Zielflow-Kind"] == "link_reissued"]
