"""Entering how a person is addressed (Frau / Herr / keine Angabe) wherever people are entered.

The catalogue's optional columns ``kontakt_anrede`` and ``leitung_anrede``, the contacts API,
the department head's page, and a body member by API, page and CLI. SQLite only: no
database rule is the subject (the column and its default come from revision 0008).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import select
from typer.testing import CliRunner

from api.app import create_app
from tests.dashboard_seed import bearer, csrf_headers, login, seed
from workflow.accounts import Role
from workflow.bodies.models import BodyMember
from workflow.bodies.service import create_body
from workflow.catalogue.models import Contact, Department
from workflow.catalogue.rows import COLUMNS
from workflow.catalogue.service import (
    CatalogueInvalid,
    ensure_organisation,
    export_catalogue,
    import_catalogue,
)
from workflow.cli import app
from workflow.db import unit_of_work
from workflow.runtime import Runtime

HEADER = [*COLUMNS, "leitung_name", "leitung_email", "kontakt_anrede", "leitung_anrede"]
ROWS = [
    ["A", "Arbeit", "A1", "Ausbildung", "1", "A1.1", "Lotsen", "", "Sozialamt",
     "Ayşe Demir", "ayse.demir@stadt.example.org", "Petra Lang",
     "petra.lang@stadt.example.org", "Frau", "frau"],
    ["A", "Arbeit", "A1", "Ausbildung", "1", "A1.2", "Börse", "", "Sozialamt",
     "Tobias Brandt", "tobias.brandt@stadt.example.org", "", "", "HERR", ""],
    ["B", "Bildung", "B1", "Sprache", "2", "B1.1", "Lesepaten", "", "Amt für Schule",
     "Amtsleitung Schulamt", "schulamt@stadt.example.org", "", "", "", ""],
]  # fmt: skip


def _write(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    if path.suffix == ".xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        for line in [header, *rows]:
            sheet.append(line)
        book.save(path)
        return path
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=";").writerows([header, *rows])
    return path


def _salutations(rt: Runtime) -> dict[str, str]:
    with rt.sessions() as s:
        return {c.email: c.salutation for c in s.scalars(select(Contact))}


def _import(rt: Runtime, path: Path) -> None:
    with unit_of_work(rt.sessions) as s:
        org = ensure_organisation(s, slug="stadt", name="Stadt")
        import_catalogue(session=s, organisation_id=org.id, path=path)


# -- the catalogue file ---------------------------------------------------------------------


def test_the_catalogue_sets_salutations_exports_them_and_an_empty_cell_keeps_them(
    rt_sqlite: Runtime, tmp_path: Path
) -> None:
    _import(rt_sqlite, _write(tmp_path / "k.csv", ROWS))
    assert _salutations(rt_sqlite) == {
        "ayse.demir@stadt.example.org": "frau",
        "tobias.brandt@stadt.example.org": "herr",
        "schulamt@stadt.example.org": "",
        "petra.lang@stadt.example.org": "frau",
    }
    exported = tmp_path / "export.csv"
    with unit_of_work(rt_sqlite.sessions) as s:
        org = ensure_organisation(s, slug="stadt", name="Stadt")
        export_catalogue(session=s, organisation_id=org.id, path=exported)
    with exported.open(encoding="utf-8") as fh:
        lines = list(csv.DictReader(fh))
    assert [(r["kontakt_anrede"], r["leitung_anrede"]) for r in lines] == [
        ("Frau", "Frau"),
        ("Herr", "Frau"),
        ("", ""),
    ]
    # A file that says nothing about salutations (no column, or an empty cell) keeps them.
    plain = [r[: len(COLUMNS)] for r in ROWS]
    _import(rt_sqlite, _write(tmp_path / "plain.csv", plain, list(COLUMNS)))
    assert _salutations(rt_sqlite)["ayse.demir@stadt.example.org"] == "frau"
    assert _salutations(rt_sqlite)["petra.lang@stadt.example.org"] == "frau"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_an_unknown_salutation_is_a_row_error_and_nothing_is_imported(
    rt_sqlite: Runtime, tmp_path: Path, suffix: str
) -> None:
    rows = [list(r) for r in ROWS]
    rows[1][13] = "Dr."
    rows[0][14] = "Frau Dr."
    again = [*ROWS[0][:5], "A1.3", *ROWS[0][6:11], "", "", "Herr", ""]
    rows.append(again)  # the same contact as on line 2, another salutation
    with pytest.raises(CatalogueInvalid) as raised:
        _import(rt_sqlite, _write(tmp_path / f"bad{suffix}", rows))
    found = {(e.line, e.column) for e in raised.value.errors}
    assert found == {(2, "leitung_anrede"), (3, "kontakt_anrede"), (5, "kontakt_anrede")}
    lines = [str(e) for e in raised.value.errors]
    assert (
        "Zeile 3, Spalte kontakt_anrede: 'Dr.' ist keine Anrede; möglich sind Frau, Herr oder "
        "ein leeres Feld" in lines
    )
    assert (
        "Zeile 5, Spalte kontakt_anrede: 'ayse.demir@stadt.example.org' hat in Zeile 2 die "
        "Anrede 'Frau'" in lines
    )
    assert _salutations(rt_sqlite) == {}


# -- contacts and heads ---------------------------------------------------------------------


def test_the_contacts_api_takes_and_checks_the_salutation(rt_sqlite: Runtime) -> None:
    s = seed(rt_sqlite)
    client = TestClient(create_app())
    coordinator = bearer(s, Role.COORDINATOR)
    created = client.post(
        "/api/v1/contacts",
        json={"name": "Ayşe Demir", "email": "demir@stadt.example.org", "salutation": "frau"},
        headers=coordinator,
    )
    assert created.status_code == 201, created.text
    assert created.json()["salutation"] == "frau"
    url = f"/api/v1/contacts/{created.json()['id']}"
    changed = client.patch(url, json={"salutation": "herr"}, headers=coordinator)
    assert changed.status_code == 200 and changed.json()["salutation"] == "herr"
    refused = client.patch(url, json={"salutation": "Mrs"}, headers=coordinator)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "validation_error"
    assert client.get(url, headers=coordinator).json()["salutation"] == "herr"


def test_the_head_page_offers_the_salutation_and_keeps_it_on_an_error(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    with rt_sqlite.sessions() as session:
        department_id = session.scalars(select(Department.id).order_by(Department.id)).first()
    url = f"/fachbereiche/{department_id}/leitung"
    form = client.get(url).text
    assert '<select id="f-salutation" name="salutation"' in form
    assert ">keine Angabe</option>" in form and ">Frau</option>" in form
    bad = client.post(
        url,
        data={"name": "Petra Lang", "email": "petra@", "salutation": "frau"},
        headers=csrf_headers(client),
    )
    assert bad.status_code == 422
    assert '<option value="frau" selected>' in bad.text
    odd = client.post(
        url,
        data={"name": "Petra Lang", "email": "petra.lang@stadt.example.org", "salutation": "x"},
        headers=csrf_headers(client),
    )
    assert odd.status_code == 422 and "Die Anrede „x“ ist nicht vorgesehen." in odd.text
    saved = client.post(
        url,
        data={"name": "Petra Lang", "email": "petra.lang@stadt.example.org", "salutation": "frau"},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert _salutations(rt_sqlite)["petra.lang@stadt.example.org"] == "frau"
    assert '<option value="frau" selected>' in client.get(url).text


# -- body members ---------------------------------------------------------------------------


def _body(rt: Runtime) -> tuple[TestClient, int, dict[str, str]]:
    s = seed(rt)
    with unit_of_work(rt.sessions) as session:
        body_id = create_body(
            session=session, organisation_id=s.organisation_id, name="Begleitgremium",
            kind="advisory_board",
        ).id  # fmt: skip
    return TestClient(create_app()), body_id, bearer(s, Role.COORDINATOR)


def _member_salutations(rt: Runtime) -> dict[str, str]:
    with rt.sessions() as s:
        return {m.email: m.salutation for m in s.scalars(select(BodyMember))}


def test_the_members_api_stores_changes_and_refuses_salutations(rt_sqlite: Runtime) -> None:
    client, body_id, coordinator = _body(rt_sqlite)
    members = f"/api/v1/bodies/{body_id}/members"
    added = client.post(
        members,
        json={"name": "Ingrid Hoffmann", "email": "ih@x.example.org", "salutation": "frau"},
        headers=coordinator,
    )
    assert added.status_code == 201, added.text
    assert added.json()["salutation"] == "frau"
    changed = client.patch(
        f"{members}/{added.json()['id']}", json={"salutation": ""}, headers=coordinator
    )
    assert changed.status_code == 200 and changed.json()["salutation"] == ""
    refused = client.post(
        members,
        json={"name": "Jonas Becker", "email": "jb@x.example.org", "salutation": "Herr Dr."},
        headers=coordinator,
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "validation_error"
    assert _member_salutations(rt_sqlite) == {"ih@x.example.org": ""}


def test_the_body_page_adds_a_member_with_a_salutation(rt_sqlite: Runtime) -> None:
    client, body_id, _ = _body(rt_sqlite)
    login(client, Role.COORDINATOR)
    url = f"/gremien/{body_id}"
    page = client.get(url).text
    assert 'name="salutation"' in page and ">Herr</option>" in page
    token = csrf_headers(client)["X-CSRF-Token"]
    refused = client.post(
        f"{url}/mitglieder",
        data={"csrf_token": token, "name": "Jonas Becker", "email": "jb@x.example.org",
              "salutation": "herr", "joined_on": "kein Datum"},
    )  # fmt: skip
    assert refused.status_code == 422
    assert '<option value="herr" selected>' in refused.text
    odd = client.post(
        f"{url}/mitglieder",
        data={"csrf_token": token, "name": "Jonas Becker", "email": "jb@x.example.org",
              "salutation": "Mr"},
    )  # fmt: skip
    assert odd.status_code == 422 and "Die Anrede „Mr“ ist nicht vorgesehen." in odd.text
    added = client.post(
        f"{url}/mitglieder",
        data={"csrf_token": token, "name": "Jonas Becker", "email": "jb@x.example.org",
              "salutation": "herr"},
        follow_redirects=False,
    )  # fmt: skip
    assert added.status_code == 303, added.text
    assert _member_salutations(rt_sqlite) == {"jb@x.example.org": "herr"}


def test_member_add_takes_salutation_on_the_command_line(rt_sqlite: Runtime) -> None:
    _body(rt_sqlite)
    runner = CliRunner()
    added = runner.invoke(
        app,
        ["member", "add", "Begleitgremium", "ih@x.example.org", "--name", "Ingrid Hoffmann",
         "--salutation", "Frau", "--org", "musterstadt"],
    )  # fmt: skip
    assert added.exit_code == 0, (added.stdout, added.stderr)
    refused = runner.invoke(
        app,
        ["member", "add", "Begleitgremium", "jb@x.example.org", "--name", "Jonas Becker",
         "--salutation", "Dr.", "--org", "musterstadt"],
    )  # fmt: skip
    assert refused.exit_code == 1
    assert (
        refused.stderr.strip()
        == "Die Anrede „Dr.“ ist nicht vorgesehen. Möglich sind: keine Angabe, Frau oder Herr."
    )
    assert _member_salutations(rt_sqlite) == {"ih@x.example.org": "frau"}
