"""Organisations of one installation: a district with its towns, added and listed from the
command line (issue 15, item 1, first part). Both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from workflow import cli_lang
from workflow.catalogue.models import Organisation
from workflow.cli import app
from workflow.db import unit_of_work
from workflow.org_registry import OrganisationRefused, add_organisation, list_organisations
from workflow.runtime import Runtime


def zielflow(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    cli_lang.set_language("de")  # --lang en must not leak into the next test
    return result


def _add(rt: Runtime, slug: str, kind: str, parent: str = "") -> Organisation:
    with unit_of_work(rt.sessions) as s:
        return add_organisation(
            s, slug=slug, name=f"Name {slug}", kind=kind, parent_slug=parent,
            state="NW", timezone="Europe/Berlin",
        )  # fmt: skip


def test_a_district_with_its_towns_is_listed_as_a_tree(rt: Runtime) -> None:
    _add(rt, "rbk", "district")
    _add(rt, "bergisch-gladbach", "town", parent="rbk")
    _add(rt, "leichlingen", "town", parent="rbk")
    _add(rt, "aachen", "city")
    with rt.sessions() as s:
        listed = [(o.slug, o.parent_slug) for o in list_organisations(s)]
        town = s.scalars(select(Organisation).where(Organisation.slug == "leichlingen")).one()
        district = s.scalars(select(Organisation).where(Organisation.slug == "rbk")).one()
        assert (town.kind, town.parent_id) == ("town", district.id)
    assert listed == [
        ("aachen", ""),
        ("rbk", ""),
        ("bergisch-gladbach", "rbk"),
        ("leichlingen", "rbk"),
    ]


@pytest.mark.parametrize(
    ("slug", "kind", "parent", "code"),
    [
        ("Große Stadt", "city", "", "slug_invalid"),
        ("-stadt", "city", "", "slug_invalid"),
        ("stadt", "village", "", "kind_unknown"),
        ("rbk", "city", "", "slug_taken"),
        ("stadt", "city", "rbk", "parent_only_for_towns"),
        ("stadt", "town", "gibt-es-nicht", "parent_unknown"),
        ("stadt", "town", "aachen", "parent_not_district"),
    ],
)
def test_refusals_name_their_reason_and_add_nothing(
    rt_sqlite: Runtime, slug: str, kind: str, parent: str, code: str
) -> None:
    _add(rt_sqlite, "rbk", "district")
    _add(rt_sqlite, "aachen", "city")
    with pytest.raises(OrganisationRefused) as refused:
        _add(rt_sqlite, slug, kind, parent)
    assert refused.value.code == code
    with rt_sqlite.sessions() as s:
        assert len(s.scalars(select(Organisation)).all()) == 2


def test_the_command_line_adds_and_lists_in_german_and_english(rt: Runtime) -> None:
    added = zielflow(
        "org", "add", "rbk", "--name", "Rheinisch-Bergischer Kreis", "--kind", "district"
    )
    assert added.exit_code == 0, added.output
    assert "Angelegt: rbk – Rheinisch-Bergischer Kreis (Kreis)" in added.output
    town = zielflow(
        "org", "add", "leichlingen", "--name", "Stadt Leichlingen", "--kind", "town",
        "--parent", "rbk",
    )  # fmt: skip
    assert town.exit_code == 0, town.output
    wrong = zielflow("org", "add", "x", "--name", "X", "--kind", "town", "--parent", "leichlingen")
    assert wrong.exit_code == 1
    assert "'leichlingen' ist kein Kreis" in wrong.output
    listed = zielflow("--lang", "en", "org", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].startswith("rbk  Rheinisch-Bergischer Kreis (")
    assert lines[1].startswith("  leichlingen  Stadt Leichlingen (")
