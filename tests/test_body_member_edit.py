"""Correcting a body member after the fact: the page /gremien/{id}/mitglieder/{m}/bearbeiten
and ``zielflow member edit``, on both databases and in both languages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner, Result

from api.app import create_app
from tests import factories
from tests.dashboard_seed import EMAILS, csrf_headers, login, seed
from workflow import cli_help, cli_lang
from workflow.accounts import Role
from workflow.bodies.models import BodyMember
from workflow.bodies.service import add_member, correct_member, create_body
from workflow.catalogue.models import Department
from workflow.cli import app
from workflow.db import unit_of_work
from workflow.runtime import Runtime


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _form(client: TestClient, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_headers(client)["X-CSRF-Token"], **fields}


def _body_with_two(rt: Runtime) -> tuple[int, int]:
    """A body with Ayşe Demir (no salutation) and Jonas Becker; ids of the body and of Demir."""
    with unit_of_work(rt.sessions) as s:
        org_id = s.scalars(select(Department.organisation_id)).first()
        assert org_id is not None
        body = create_body(session=s, organisation_id=org_id, name="Begleitgremium", kind="other")
        today = rt.clock.now().date()
        demir = add_member(
            session=s, body=body, name="Ayse Demir", email="demir@x.example.org", today=today
        )
        add_member(session=s, body=body, name="Jonas Becker", email="jb@x.example.org", today=today)
        return body.id, demir.id


def _member(rt: Runtime, member_id: int) -> BodyMember:
    with rt.sessions() as s:
        member = s.get(BodyMember, member_id)
        assert member is not None
        s.expunge(member)
        return member


def test_a_coordinator_corrects_salutation_name_and_address(rt: Runtime) -> None:
    seed(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    body_id, demir = _body_with_two(rt)
    edit = f"/gremien/{body_id}/mitglieder/{demir}/bearbeiten"
    assert f'href="{edit}"' in client.get(f"/gremien/{body_id}").text
    form = client.get(edit)
    assert form.status_code == 200
    assert 'value="demir@x.example.org"' in form.text and 'name="csrf_token"' in form.text

    taken = client.post(edit, data=_form(client, name="Ayşe Demir", email="JB@x.example.org"))
    assert taken.status_code == 409
    assert "jb@x.example.org ist bereits Mitglied im Gremium „Begleitgremium“." in taken.text
    assert 'value="Ayşe Demir"' in taken.text  # what was typed stays
    bad = client.post(edit, data=_form(client, name="Ayşe Demir", email="demir@"))
    assert bad.status_code == 422 and "„demir@“ ist keine gültige E-Mail-Adresse." in bad.text
    assert _member(rt, demir).name == "Ayse Demir"  # a refusal saves nothing

    saved = client.post(
        edit,
        data=_form(client, salutation="frau", name="Ayşe Demir", email="A.Demir@x.example.org",
                   language="en", represents="civil_society", represents_name="Verein",
                   role="chair"),
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303 and saved.headers["location"].startswith(f"/gremien/{body_id}")
    assert "Die Angaben des Mitglieds sind gespeichert." in client.get(f"/gremien/{body_id}").text
    member = _member(rt, demir)
    assert (member.salutation, member.name, member.email, member.language) == (
        "frau",
        "Ayşe Demir",
        "a.demir@x.example.org",
        "en",
    )
    assert (member.represents, member.represents_name, member.role) == (
        "civil_society",
        "Verein",
        "chair",
    )
    english = client.post(f"{edit}?lang=en", data=_form(client, name="", email="a@x.example.org"))
    assert english.status_code == 422 and "This was not saved:" in _text(english.text)


def test_the_edit_page_is_for_coordinators_with_token_and_known_members(rt: Runtime) -> None:
    seed(rt)
    body_id, demir = _body_with_two(rt)
    steering = TestClient(create_app())
    login(steering, Role.STEERING)
    edit = f"/gremien/{body_id}/mitglieder/{demir}/bearbeiten"
    assert edit not in steering.get(f"/gremien/{body_id}").text
    assert steering.get(edit).status_code == 403
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    no_token = client.post(edit, data={"name": "X", "email": "x@x.example.org"})
    assert no_token.status_code == 403
    assert client.get(f"/gremien/{body_id}/mitglieder/99999/bearbeiten").status_code == 404
    missing = client.get("/gremien/99999")
    assert missing.status_code == 404 and "Dieses Gremium gibt es nicht." in missing.text
    assert "This body does not exist." in client.get("/gremien/99999?lang=en").text


@pytest.fixture(autouse=True)
def _german_again() -> Iterator[None]:
    """An in-process ``--lang en`` must not leak into the next test of this process."""
    yield
    cli_lang.set_language(cli_lang.DEFAULT)
    cli_help.localise_help()


def zielflow(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def org(rt: Runtime) -> str:
    with unit_of_work(rt.sessions) as s:
        factories.organisation(s, slug="teststadt")
    assert zielflow("body", "add", "Begleitgremium", "--kind", "other").exit_code == 0
    added = zielflow("member", "add", "Begleitgremium", "demir@x.example.org", "--name", "A Demir")
    assert added.exit_code == 0, added.stderr
    return "teststadt"


def test_member_edit_on_the_command_line_in_german(rt: Runtime, org: str) -> None:
    out = zielflow(
        "member", "edit", "Begleitgremium", "DEMIR@x.example.org", "--name", "Ayşe Demir",
        "--email", "a.demir@x.example.org", "--salutation", "Frau", "--role", "Vorsitz",
    )  # fmt: skip
    assert out.exit_code == 0, out.stderr
    assert out.stdout.strip() == (
        "Die Angaben von Ayşe Demir <a.demir@x.example.org> im Gremium „Begleitgremium“ "
        "sind geändert."
    )
    with rt.sessions() as s:
        member = s.scalars(select(BodyMember)).one()
        assert (member.salutation, member.email, member.role) == (
            "frau",
            "a.demir@x.example.org",
            "chair",
        )
    cleared = zielflow("member", "edit", "1", "a.demir@x.example.org", "--salutation", "keine")
    assert cleared.exit_code == 0, cleared.stderr
    with rt.sessions() as s:
        assert s.scalars(select(BodyMember.salutation)).one() == ""
    nothing = zielflow("member", "edit", "1", "a.demir@x.example.org")
    assert nothing.exit_code == 1
    assert nothing.stderr.strip() == "Nichts zu ändern: Bitte geben Sie an, was sich ändert."
    unknown = zielflow("member", "edit", "1", "x@x.example.org", "--name", "X")
    assert unknown.exit_code == 1
    assert "kein Mitglied x@x.example.org" in unknown.stderr


def test_member_edit_on_the_command_line_in_english(rt: Runtime, org: str) -> None:
    out = zielflow(
        "--lang", "en", "member", "edit", "Begleitgremium", "demir@x.example.org",
        "--salutation", "herr",
    )  # fmt: skip
    assert out.exit_code == 0, out.stderr
    assert out.stdout.strip() == (
        "The details of A Demir <demir@x.example.org> in the body “Begleitgremium” "
        "have been updated."
    )
    refused = zielflow(
        "--lang", "en", "member", "edit", "Begleitgremium", "demir@x.example.org",
        "--salutation", "Dr.",
    )  # fmt: skip
    assert refused.exit_code == 1
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "Dr." in refused.stderr
    with rt.sessions() as s:
        assert s.scalars(select(BodyMember.salutation)).one() == "herr"


def test_an_account_linked_by_the_old_address_does_not_follow_a_new_one(rt: Runtime) -> None:
    seed(rt)
    with unit_of_work(rt.sessions) as s:
        org_id = s.scalars(select(Department.organisation_id)).first()
        assert org_id is not None
        body = create_body(session=s, organisation_id=org_id, name="Rat", kind="other")
        member = add_member(
            session=s, body=body, name="S", email=EMAILS[Role.STEERING], today=date(2026, 3, 2)
        )
        assert member.user_id is not None  # linked because the address is the account's
        correct_member(session=s, body=body, member=member, email="neu@x.example.org")
        assert (member.email, member.user_id) == ("neu@x.example.org", None)
