"""The platform operator manages the installation's organisations (issue 15, item 1): the
rules (both databases), the JSON API (operator yes, admin 403), the page's forms, the CLI."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import typer
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner, Result

from api.app import create_app
from api.dashboard.operator import router as page_router
from api.deps import organisation_words
from api.routes.organisations import router as api_router
from tests.dashboard_seed import EMAILS, bearer, csrf_headers, login, seed
from workflow import cli_lang
from workflow.accounts import Role, User
from workflow.catalogue.models import Organisation
from workflow.cli import app as cli
from workflow.cycles.models import AuditEvent
from workflow.db import unit_of_work
from workflow.operator_cli import operator_app
from workflow.organisations.manage import (
    OrganisationRefused,
    active_organisation_ids,
    archive_organisation,
    create_organisation,
    move_organisation,
    of_active_organisation,
    rename_organisation,
    unarchive_organisation,
)
from workflow.runtime import Runtime

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _create(rt: Runtime, slug: str, kind: str, parent: str = "") -> None:
    with unit_of_work(rt.sessions) as s:
        create_organisation(
            s, slug=slug, name=f"Name {slug}", kind=kind, parent_slug=parent,
            state="NW", timezone="Europe/Berlin", actor="test", now=NOW,
        )  # fmt: skip


def _refusal(rt: Runtime, change: str, slug: str, **kw: str) -> str:
    """The code of a refused change; the test then checks that nothing changed."""
    changes = {
        "create": create_organisation,
        "rename": rename_organisation,
        "move": move_organisation,
        "archive": archive_organisation,
        "unarchive": unarchive_organisation,
    }
    extra = {"state": "NW", "timezone": "Europe/Berlin"} if change == "create" else {}
    with pytest.raises(OrganisationRefused) as refused, unit_of_work(rt.sessions) as s:
        changes[change](s, slug=slug, actor="test", now=NOW, **extra, **kw)  # type: ignore[operator]
    return refused.value.code


def _tree(rt: Runtime) -> dict[str, tuple[str, str | None, bool]]:
    """slug: (name, parent slug, archived)."""
    with rt.sessions() as s:
        orgs = s.scalars(select(Organisation)).all()
        slugs = {o.id: o.slug for o in orgs}
        return {
            o.slug: (o.name, slugs.get(o.parent_id or 0), o.archived_at is not None) for o in orgs
        }


def _district(rt: Runtime) -> None:
    _create(rt, "rbk", "district")
    _create(rt, "leichlingen", "town", "rbk")
    _create(rt, "burscheid", "town", "rbk")
    _create(rt, "oberberg", "district")
    _create(rt, "aachen", "city")


def test_rules_refuse_with_a_code_and_change_nothing(rt: Runtime) -> None:
    _district(rt)
    before = _tree(rt)
    refusals = [
        ("create", "neu", {"name": "Neu", "kind": "town"}, "town_needs_parent"),
        ("create", "neu", {"name": "Neu", "kind": "town", "parent_slug": "aachen"},
         "parent_not_district"),
        ("create", "neu", {"name": "Neu", "kind": "district", "parent_slug": "rbk"},
         "parent_only_for_towns"),
        ("create", "rbk", {"name": "Neu", "kind": "city"}, "slug_taken"),
        ("create", "neu", {"name": " \t ", "kind": "city"}, "name_missing"),
        ("rename", "aachen", {"name": "x" * 201}, "name_too_long"),
        ("rename", "aachen", {"name": "Stadt\x00Aachen"}, "name_control_character"),
        ("rename", "gibt-es-nicht", {"name": "X"}, "unknown"),
        ("move", "leichlingen", {"parent_slug": ""}, "town_needs_parent"),
        ("move", "leichlingen", {"parent_slug": "aachen"}, "parent_not_district"),
        ("move", "leichlingen", {"parent_slug": "nirgendwo"}, "parent_unknown"),
        ("move", "rbk", {"parent_slug": "oberberg"}, "parent_only_for_towns"),
        ("move", "aachen", {"parent_slug": "rbk"}, "parent_only_for_towns"),
        ("archive", "rbk", {}, "district_has_towns"),
        ("unarchive", "aachen", {}, "not_archived"),
    ]  # fmt: skip
    codes = [_refusal(rt, change, slug, **kw) for change, slug, kw, _ in refusals]
    assert codes == [code for *_, code in refusals]
    assert _tree(rt) == before


def test_archive_move_and_reactivate_keep_the_tree_sound_and_are_audited(rt: Runtime) -> None:
    _district(rt)
    with unit_of_work(rt.sessions) as s:
        move_organisation(s, slug="burscheid", parent_slug="oberberg", actor="t", now=NOW)
        archive_organisation(s, slug="leichlingen", actor="t", now=NOW)
        archive_organisation(s, slug="rbk", actor="t", now=NOW)  # its towns are gone or archived
        rename_organisation(s, slug="aachen", name="  Stadt   Aachen ", actor="t", now=NOW)
    assert _refusal(rt, "unarchive", "leichlingen") == "parent_archived"
    assert _refusal(rt, "move", "burscheid", parent_slug="rbk") == "parent_archived"
    assert _refusal(rt, "archive", "rbk") == "already_archived"
    assert _tree(rt) == {
        "rbk": ("Name rbk", None, True),
        "leichlingen": ("Name leichlingen", "rbk", True),
        "burscheid": ("Name burscheid", "oberberg", False),
        "oberberg": ("Name oberberg", None, False),
        "aachen": ("Stadt Aachen", None, False),
    }
    with rt.sessions() as s:
        active = {s.get(Organisation, i).slug for i in active_organisation_ids(s)}  # type: ignore[union-attr]
        condition = of_active_organisation(Organisation.id)
        assert set(s.scalars(select(Organisation.slug).where(condition))) == active
        events = s.scalars(
            select(AuditEvent.event).where(AuditEvent.measure_cycle_id.is_(None))
        ).all()
    assert active == {"burscheid", "oberberg", "aachen"}
    assert events.count("organisation_created") == 5
    assert {"organisation_moved", "organisation_archived", "organisation_renamed"} <= set(events)


# -- the API and the page ---------------------------------------------------------------------


def _app() -> FastAPI:
    app = create_app()
    app.include_router(api_router, dependencies=[Depends(organisation_words, scope="function")])
    app.include_router(page_router)
    return app


def _make_operator(rt: Runtime, role: Role) -> None:
    with unit_of_work(rt.sessions) as s:
        s.scalars(select(User).where(User.email == EMAILS[role])).one().operator = True


def test_the_api_is_the_operators_and_words_refusals(rt: Runtime) -> None:
    data = seed(rt)
    _make_operator(rt, Role.COORDINATOR)
    client = TestClient(_app())
    op, admin = bearer(data, Role.COORDINATOR), bearer(data, Role.ADMIN)
    assert client.get("/api/v1/organisations", headers=admin).status_code == 403
    body = {"slug": "rbk", "name": "Rheinisch-Bergischer Kreis", "kind": "district"}
    assert client.post("/api/v1/organisations", json=body, headers=admin).status_code == 403
    created = client.post("/api/v1/organisations", json=body, headers=op)
    assert created.status_code == 201, created.text
    town = {"slug": "burscheid", "name": "Stadt Burscheid", "kind": "town", "parent": "rbk"}
    assert client.post("/api/v1/organisations", json=town, headers=op).status_code == 201
    renamed = client.patch(
        "/api/v1/organisations/burscheid", json={"name": "Stadt  Burscheid (Rhld.)"}, headers=op
    )
    assert renamed.json()["name"] == "Stadt Burscheid (Rhld.)"
    refused = client.post(
        "/api/v1/organisations/rbk/archive", headers={**op, "Accept-Language": "en"}
    )
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "district_has_towns"
    assert error["message"].startswith("The district 'rbk' still has 1 active town (burscheid)")
    assert client.post("/api/v1/organisations/burscheid/archive", headers=op).status_code == 200
    missing = client.patch("/api/v1/organisations/nirgendwo", json={}, headers=op)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Die Organisation 'nirgendwo' gibt es nicht."
    listed = {o["slug"]: o for o in client.get("/api/v1/organisations", headers=op).json()}
    assert listed["burscheid"] | {"archived_at": None} == {
        "slug": "burscheid", "name": "Stadt Burscheid (Rhld.)", "kind": "town",
        "parent": "rbk", "state": "NW", "archived": True, "archived_at": None, "users": 0,
    }  # fmt: skip
    assert listed["musterstadt"]["users"] == len(Role)


def test_the_page_creates_and_shows_a_refused_form_with_what_was_typed(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite)
    _make_operator(rt_sqlite, Role.COORDINATOR)
    client = TestClient(_app())
    login(client, Role.ADMIN)
    assert client.get("/betrieb/organisationen").status_code == 403
    client = TestClient(_app())
    login(client, Role.COORDINATOR)
    form = {"slug": "rbk", "name": "Rheinisch-Bergischer Kreis", "kind": "district", "parent": ""}
    done = client.post(
        "/betrieb/organisationen", data=form, headers=csrf_headers(client), follow_redirects=False
    )
    assert done.status_code == 303, done.text
    assert "Die Organisation ist angelegt." in client.get("/betrieb/organisationen").text
    typed = {"slug": "leichlingen", "name": "Stadt <Leichlingen>", "kind": "town", "parent": ""}
    wrong = client.post("/betrieb/organisationen", data=typed, headers=csrf_headers(client))
    assert wrong.status_code == 422
    assert "Eine kreisangehörige Kommune gehört immer zu einem Kreis" in wrong.text
    assert 'value="leichlingen"' in wrong.text
    assert 'value="Stadt &lt;Leichlingen&gt;"' in wrong.text
    assert _tree(rt_sqlite).keys() == {"musterstadt", "rbk"}
    no_csrf = client.post("/betrieb/organisationen/rbk/archivieren", follow_redirects=False)
    assert no_csrf.status_code == 403
    archived = client.post(
        "/betrieb/organisationen/rbk/archivieren",
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert archived.status_code == 303
    assert _tree(rt_sqlite)["rbk"][2] is True


# -- the command line -------------------------------------------------------------------------


def _zielflow(*args: str) -> Result:
    both = typer.Typer()
    both.add_typer(cli, name="cli")  # ``org …`` as registered in workflow/cli.py
    both.add_typer(operator_app, name="operator")  # not registered there yet
    result = CliRunner().invoke(both, list(args))
    cli_lang.set_language("de")  # --lang en must not leak into the next test
    return result


def test_the_command_line_renames_moves_archives_and_grants(rt_sqlite: Runtime) -> None:
    _district(rt_sqlite)
    seed(rt_sqlite)
    steps = [
        (("cli", "org", "rename", "aachen", "--name", "Stadt Aachen"), 0,
         "Umbenannt: aachen heißt jetzt „Stadt Aachen“."),
        (("cli", "org", "move", "burscheid", "--parent", "oberberg"), 0,
         "burscheid gehört jetzt zum Kreis oberberg."),
        (("cli", "org", "move", "burscheid"), 1, "--parent KREIS oder --no-parent"),
        (("cli", "org", "move", "burscheid", "--no-parent"), 1,
         "Eine kreisangehörige Kommune gehört immer zu einem Kreis"),
        (("cli", "org", "archive", "rbk"), 1,
         "Der Kreis 'rbk' hat noch 1 aktive Kommune (leichlingen)"),
        (("cli", "org", "archive", "leichlingen"), 0, "Archiviert: leichlingen."),
        (("cli", "org", "unarchive", "leichlingen"), 0, "Wieder aktiv: leichlingen."),
        (("operator", "grant", EMAILS[Role.ADMIN].upper()), 0, "hat jetzt Betreiberrechte."),
        (("operator", "grant", "niemand@example.org"), 1, "Ein Konto mit der Adresse"),
    ]  # fmt: skip
    for args, status, said in steps:
        result = _zielflow(*args)
        assert (result.exit_code, said in result.output) == (status, True), (args, result.output)
    assert _tree(rt_sqlite)["burscheid"][1] == "oberberg"
    assert _tree(rt_sqlite)["leichlingen"][2] is False
    with rt_sqlite.sessions() as s:
        assert s.scalars(select(User.operator).where(User.email == EMAILS[Role.ADMIN])).one()
    assert _zielflow("operator", "revoke", EMAILS[Role.ADMIN]).exit_code == 0
    with rt_sqlite.sessions() as s:
        assert not s.scalars(select(User.operator).where(User.email == EMAILS[Role.ADMIN])).one()
