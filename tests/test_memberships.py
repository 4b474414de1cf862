"""A user with two organisations acts in exactly the one named (issue 15, item 1).

Musterstadt's coordinator (the dashboard seed) also works for Nachbarort as a steering member.
The API names the organisation in the ``X-Zielflow-Organisation`` header; without it a token of
such a user is refused, never guessed. The pages act for the organisation chosen with the
switcher. A name the user holds no place in is refused like one that does not exist. The
stored account keeps its home organisation and role, whatever the requests did.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from api.app import create_app
from tests.dashboard_seed import Seed, bearer, csrf_headers, login, seed
from workflow.accounts import Role, User
from workflow.catalogue.models import Organisation
from workflow.catalogue.service import ensure_organisation
from workflow.cli import app as cli
from workflow.db import unit_of_work
from workflow.memberships import MembershipRefused, join, places_of
from workflow.runtime import Runtime

HEADER = "X-Zielflow-Organisation"


def _world(rt: Runtime) -> Seed:
    s = seed(rt)
    with unit_of_work(rt.sessions) as session:
        ensure_organisation(session, slug="nachbarort", name="Gemeinde Nachbarort")
        ensure_organisation(session, slug="fremdstadt", name="Stadt Fremdstadt")
        nachbarort = _org(session, "nachbarort")
        user = session.get(User, s.user_ids[Role.COORDINATOR])
        assert user is not None
        join(session, user=user, organisation=nachbarort, role="steering", now=rt.clock.now())
    return s


def _org(session: object, slug: str) -> Organisation:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    found = session.scalars(select(Organisation).where(Organisation.slug == slug)).one()
    return found


def test_a_token_of_two_organisations_must_name_one(rt: Runtime) -> None:
    s = _world(rt)
    client = TestClient(create_app())
    token = bearer(s, Role.COORDINATOR)

    unnamed = client.get("/api/v1/organisation", headers=token)
    assert unnamed.status_code == 400, unnamed.text
    assert unnamed.json()["error"]["code"] == "organisation_required"
    assert "musterstadt" in unnamed.text and "nachbarort" in unnamed.text

    home = client.get("/api/v1/organisation", headers={**token, HEADER: "musterstadt"})
    there = client.get("/api/v1/organisation", headers={**token, HEADER: "nachbarort"})
    assert home.json()["slug"] == "musterstadt"
    assert there.json()["slug"] == "nachbarort"
    assert home.json()["name"] != there.json()["name"]

    # Coordinator at home, steering member in Nachbarort: a change is refused there.
    change = {"office_name": "Integrationsbüro"}
    refused = client.patch(
        "/api/v1/organisation", json=change, headers={**token, HEADER: "nachbarort"}
    )
    assert refused.status_code == 403, refused.text
    allowed = client.patch(
        "/api/v1/organisation", json=change, headers={**token, HEADER: "musterstadt"}
    )
    assert allowed.status_code == 200, allowed.text

    # Not a place of this user, and no place at all: the same refusal.
    for slug in ("fremdstadt", "gibt-es-nicht"):
        answer = client.get("/api/v1/organisation", headers={**token, HEADER: slug})
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "organisation_not_yours"

    me = client.get("/api/v1/me", headers={**token, HEADER: "nachbarort"}).json()
    assert (me["organisation"], me["role"]) == ("nachbarort", "steering")
    assert [(p["slug"], p["role"], p["home"]) for p in me["organisations"]] == [
        ("musterstadt", "coordinator", True),
        ("nachbarort", "steering", False),
    ]

    with rt.sessions() as session:
        stored = session.get(User, s.user_ids[Role.COORDINATOR])
        assert stored is not None
        assert (stored.organisation_id, stored.role) == (s.organisation_id, "coordinator")


def test_a_token_of_one_organisation_needs_no_header_but_may_not_name_another(rt: Runtime) -> None:
    s = _world(rt)
    client = TestClient(create_app())
    token = bearer(s, Role.ADMIN)
    assert client.get("/api/v1/organisation", headers=token).json()["slug"] == "musterstadt"
    named = client.get("/api/v1/organisation", headers={**token, HEADER: "nachbarort"})
    assert named.status_code == 403


def test_the_switcher_moves_the_pages_to_the_chosen_organisation(rt: Runtime) -> None:
    _world(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    page = client.get("/pipeline")
    assert 'action="/organisation/wechseln"' in page.text
    assert "Gemeinde Nachbarort" in page.text

    moved = client.post(
        "/organisation/wechseln",
        data={"organisation": "nachbarort"},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert moved.status_code == 303, moved.text
    assert client.get("/api/v1/organisation").json()["slug"] == "nachbarort"
    # As a steering member there, the coordinator's outbox is closed.
    assert client.get("/postausgang", follow_redirects=False).status_code == 403

    refused = client.post(
        "/organisation/wechseln",
        data={"organisation": "fremdstadt"},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert "keinen Zugang" in refused.text
    assert client.get("/api/v1/organisation").json()["slug"] == "nachbarort"

    back = client.post(
        "/organisation/wechseln", data={"organisation": "musterstadt"}, headers=csrf_headers(client)
    )
    assert back.status_code == 200
    assert client.get("/api/v1/organisation").json()["slug"] == "musterstadt"


def test_a_user_of_one_organisation_sees_no_switcher(rt: Runtime) -> None:
    _world(rt)
    client = TestClient(create_app())
    login(client, Role.ADMIN)
    assert 'action="/organisation/wechseln"' not in client.get("/pipeline").text


def test_an_archived_organisation_admits_nobody(rt: Runtime) -> None:
    s = _world(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    client.post(
        "/organisation/wechseln", data={"organisation": "nachbarort"}, headers=csrf_headers(client)
    )
    with unit_of_work(rt.sessions) as session:
        _org(session, "nachbarort").archived_at = rt.clock.now() - timedelta(minutes=1)
    # The browser's choice falls back to the home organisation…
    assert client.get("/api/v1/organisation").json()["slug"] == "musterstadt"
    # …while a call that names the archived organisation is refused.
    named = client.get(
        "/api/v1/organisation", headers={**bearer(s, Role.COORDINATOR), HEADER: "nachbarort"}
    )
    assert named.status_code == 403
    assert "archiviert" in named.text


def test_the_admin_of_the_other_organisation_sees_the_guest(rt: Runtime) -> None:
    s = _world(rt)
    with unit_of_work(rt.sessions) as session:
        admin = session.get(User, s.user_ids[Role.ADMIN])
        assert admin is not None
        join(
            session,
            user=admin,
            organisation=_org(session, "nachbarort"),
            role="admin",
            now=rt.clock.now(),
        )
    client = TestClient(create_app())
    listed = client.get("/api/v1/users", headers={**bearer(s, Role.ADMIN), HEADER: "nachbarort"})
    assert listed.status_code == 200, listed.text
    assert {(u["email"], u["role"]) for u in listed.json()} == {
        ("admin@musterstadt.example.org", "admin"),
        ("coordinator@musterstadt.example.org", "steering"),
    }


def test_joining_checks_role_and_home(rt: Runtime) -> None:
    s = _world(rt)
    with unit_of_work(rt.sessions) as session:
        user = session.get(User, s.user_ids[Role.ADMIN])
        assert user is not None
        with pytest.raises(MembershipRefused) as unknown:
            join(
                session,
                user=user,
                organisation=_org(session, "nachbarort"),
                role="chef",
                now=rt.clock.now(),
            )
        assert unknown.value.code == "membership.unknown_role"
        with pytest.raises(MembershipRefused) as home:
            join(
                session,
                user=user,
                organisation=_org(session, "musterstadt"),
                role="admin",
                now=rt.clock.now(),
            )
        assert home.value.code == "membership.home_organisation"
        assert [p.slug for p in places_of(session, user)] == ["musterstadt"]


def test_the_cli_adds_lists_and_removes_a_place(rt: Runtime) -> None:
    _world(rt)
    runner = CliRunner()
    email = "admin@musterstadt.example.org"
    joined = runner.invoke(
        cli, ["user", "join", email, "--org", "fremdstadt", "--role", "coordinator"]
    )
    assert joined.exit_code == 0, joined.output
    listed = runner.invoke(cli, ["user", "places", email])
    assert listed.exit_code == 0, listed.output
    assert [line.split("\t")[:2] for line in listed.output.splitlines()] == [
        ["musterstadt", "admin"],
        ["fremdstadt", "coordinator"],
    ]
    left = runner.invoke(cli, ["user", "leave", email, "--org", "fremdstadt"])
    assert left.exit_code == 0, left.output
    unknown = runner.invoke(
        cli, ["user", "join", "niemand@example.org", "--org", "fremdstadt", "--role", "admin"]
    )
    assert unknown.exit_code == 1
    assert "gibt es nicht" in unknown.output


def test_whether_a_user_works_elsewhere_is_read_with_the_user(rt: Runtime) -> None:
    """The token's statement also says whether the user holds further places: a user of one
    organisation costs no membership query, one with two gets both places, and a place added
    later in the same transaction is seen."""
    from sqlalchemy import event

    from workflow.accounts import user_for_api_token

    s = _world(rt)
    client = TestClient(create_app())
    statements: list[str] = []

    def count(_c: object, _cur: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    event.listen(rt.engine, "before_cursor_execute", count)
    try:
        one = client.get("/api/v1/organisation", headers=bearer(s, Role.ADMIN))
        single = [q for q in statements if "membership" in q]
        statements.clear()
        two = client.get("/api/v1/organisation", headers=bearer(s, Role.COORDINATOR))
        double = [q for q in statements if "membership" in q]
    finally:
        event.remove(rt.engine, "before_cursor_execute", count)
    assert one.json()["slug"] == "musterstadt"
    assert two.json()["error"]["code"] == "organisation_required"
    # One organisation: the EXISTS inside the token's own statement, no query of the places.
    assert len(single) == 1 and "api_token" in single[0]
    assert len(double) == 2 and "api_token" not in double[1]  # two: the places are read
    raw = bearer(s, Role.ADMIN)["Authorization"].split(" ", 1)[1]
    with unit_of_work(rt.sessions) as session:
        found = user_for_api_token(session, raw, rt.clock.now())
        assert found is not None
        user = found[0]
        assert [p.slug for p in places_of(session, user)] == ["musterstadt"]
        join(
            session, user=user, organisation=_org(session, "fremdstadt"), role="admin",
            now=rt.clock.now(),
        )  # fmt: skip
        assert [p.slug for p in places_of(session, user)] == ["musterstadt", "fremdstadt"]
