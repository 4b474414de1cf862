"""Department heads and concepts from the catalogue (CSV and XLSX), and heads edited on the page.

The optional columns ``leitung_name``, ``leitung_email`` and ``konzept``: imported all or
nothing with every problem by line, exported again, and an eleven-column file stays valid.
Both databases.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from tests.conftest import EXAMPLES
from tests.dashboard_seed import csrf_headers, login, seed
from workflow.accounts import Role
from workflow.catalogue.models import Concept, Contact, Department, Field
from workflow.catalogue.rows import COLUMNS, EXPORT_COLUMNS
from workflow.catalogue.service import (
    CatalogueInvalid,
    ImportReport,
    catalogue_rows,
    ensure_organisation,
    export_catalogue,
    import_catalogue,
)
from workflow.db import unit_of_work
from workflow.runtime import Runtime

HEADER = [*COLUMNS, "leitung_name", "leitung_email", "konzept"]
CONSENSUS = "Integration durch Konsens"
REFUGEES = "Integrationskonzept Flüchtlinge"
# Seed 001: one catalogue for two concepts; fields A and B under one, F under the other.
ROWS = [
    ["A", "Arbeit", "A1", "Ausbildung", "1", "A1.1", "Lotsen", "", "Jobcenter-Kooperation",
     "Tobias Brandt", "tobias.brandt@stadt.example.org", "Dr. Ines Albers",
     "ines.albers@stadt.example.org", CONSENSUS],
    ["A", "Arbeit", "A1", "Ausbildung", "1", "A1.2", "Praktikumsbörse", "",
     "Jobcenter-Kooperation", "Sabine Krüger", "sabine.krueger@stadt.example.org", "", "", ""],
    ["B", "Bildung", "B1", "Sprache", "2", "B1.1", "Lesepaten", "", "Amt für Schule",
     "Eva Schulz", "eva.schulz@stadt.example.org", "Eva Schulz", "eva.schulz@stadt.example.org",
     CONSENSUS],
    ["F", "Unterbringung", "F1", "Wohnen", "1", "F1.1", "Wohnraumbörse", "", "Sozialamt",
     "Ali Demir", "ali.demir@stadt.example.org", "Petra Lang", "petra.lang@stadt.example.org",
     REFUGEES],
]  # fmt: skip


def _write(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    if path.suffix == ".xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        book.save(path)
        return path
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _org(rt: Runtime, slug: str = "musterstadt") -> int:
    with unit_of_work(rt.sessions) as session:
        return ensure_organisation(session, slug=slug, name=f"Stadt {slug}").id


def _import(rt: Runtime, org_id: int, path: Path) -> ImportReport:
    with unit_of_work(rt.sessions) as session:
        return import_catalogue(session=session, organisation_id=org_id, path=path)


def _heads(session: Session, org_id: int) -> dict[str, tuple[str, str]]:
    rows = session.execute(
        select(Department.name, Contact.name, Contact.email)
        .join(Contact, Contact.department_id == Department.id)
        .where(Department.organisation_id == org_id, Contact.is_head.is_(True))
    ).all()
    return {d: (n, e) for d, n, e in rows}


def _concepts(session: Session, org_id: int) -> dict[str, str | None]:
    rows = session.execute(
        select(Field.code, Concept.name)
        .outerjoin(Concept, Concept.id == Field.concept_id)
        .where(Field.organisation_id == org_id)
    ).all()
    return {code: name for code, name in rows}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_heads_and_concepts_are_imported_and_exported(
    rt: Runtime, tmp_path: Path, suffix: str
) -> None:
    org_id = _org(rt)
    report = _import(rt, org_id, _write(tmp_path / f"katalog{suffix}", ROWS))
    assert report.created["heads"] == 2  # Ines Albers, Petra Lang; Eva Schulz is a contact
    assert report.created["concepts"] == 2
    with rt.sessions() as session:
        assert _heads(session, org_id) == {
            "Jobcenter-Kooperation": ("Dr. Ines Albers", "ines.albers@stadt.example.org"),
            "Amt für Schule": ("Eva Schulz", "eva.schulz@stadt.example.org"),
            "Sozialamt": ("Petra Lang", "petra.lang@stadt.example.org"),
        }
        assert _concepts(session, org_id) == {"A": CONSENSUS, "B": CONSENSUS, "F": REFUGEES}
        # The head who is also a contact stays one person with one row.
        assert session.scalar(select(func.count()).select_from(Contact)) == 6
    assert not _import(rt, org_id, tmp_path / f"katalog{suffix}").changed

    exported = tmp_path / f"export{suffix}"
    with rt.sessions() as session:
        export_catalogue(session=session, organisation_id=org_id, path=exported)
    if suffix == ".xlsx":
        header = [c.value for c in load_workbook(exported).worksheets[0][1]]
    else:
        header = next(csv.reader(exported.open(encoding="utf-8")))
    assert tuple(header) == EXPORT_COLUMNS
    elsewhere = _org(rt, "zweitstadt")
    _import(rt, elsewhere, exported)
    with rt.sessions() as session:
        assert _heads(session, elsewhere) == _heads(session, org_id)
        assert _concepts(session, elsewhere) == _concepts(session, org_id)
        assert catalogue_rows(session, elsewhere) == catalogue_rows(session, org_id)


def test_a_new_head_replaces_the_old_and_eleven_columns_keep_both(
    rt: Runtime, tmp_path: Path
) -> None:
    org_id = _org(rt)
    _import(rt, org_id, _write(tmp_path / "v1.csv", ROWS))
    changed = [list(r) for r in ROWS]
    changed[0][11:13] = ["Mehmet Aydın", "mehmet.aydin@stadt.example.org"]
    report = _import(rt, org_id, _write(tmp_path / "v2.csv", changed))
    assert report.created["heads"] == 1
    with rt.sessions() as session:
        heads = _heads(session, org_id)
        assert heads["Jobcenter-Kooperation"] == ("Mehmet Aydın", "mehmet.aydin@stadt.example.org")
        # The former head is still a contact of the department, no longer its head.
        former = session.scalars(
            select(Contact).where(Contact.email == "ines.albers@stadt.example.org")
        ).one()
        assert not former.is_head
    # The old eleven-column catalogue: valid, and it takes no head or concept away.
    report = _import(
        rt, org_id, _write(tmp_path / "old.csv", [r[:11] for r in ROWS], list(COLUMNS))
    )
    assert not report.changed
    with rt.sessions() as session:
        assert _heads(session, org_id) == heads
        assert _concepts(session, org_id)["F"] == REFUGEES


def _refused(rt: Runtime, tmp_path: Path, rows: list[list[str]], suffix: str = ".csv") -> set:
    org_id = _org(rt)
    with pytest.raises(CatalogueInvalid) as refused:
        _import(rt, org_id, _write(tmp_path / f"falsch{suffix}", rows))
    with rt.sessions() as session:
        for model in (Contact, Concept, Department):
            assert session.scalar(select(func.count()).select_from(model)) == 0
    return {(e.line, e.column) for e in refused.value.errors}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_every_problem_of_the_new_columns_by_line_and_nothing_written(
    rt: Runtime, tmp_path: Path, suffix: str
) -> None:
    rows = [list(r) for r in ROWS]
    rows[1][11:13] = ["Jemand Anders", ""]  # a name without an address
    rows[2][12] = "eva.schulz@"  # no address at all
    rows[3][13] = "x" * 201  # longer than the column
    rows.append(
        # The same department with another head; the same field with another concept.
        ["A", "Arbeit", "A1", "Ausbildung", "1", "A1.3", "Mentoring", "", "Jobcenter-Kooperation",
         "", "", "Karl Berg", "karl.berg@stadt.example.org", REFUGEES]
    )  # fmt: skip
    rows.append(
        # One person heading two departments; a head who is another department's contact.
        ["B", "Bildung", "B1", "Sprache", "2", "B1.2", "Elterncafé", "", "Kita-Amt", "", "",
         "Dr. Ines Albers", "ines.albers@stadt.example.org", ""]
    )  # fmt: skip
    rows.append(
        ["B", "Bildung", "B1", "Sprache", "2", "B1.3", "Sprachkurse", "", "Volkshochschule", "",
         "", "Tobias Brandt", "tobias.brandt@stadt.example.org", ""]
    )  # fmt: skip
    assert _refused(rt, tmp_path, rows, suffix) == {
        (3, "leitung_email"),
        (4, "leitung_email"),
        (5, "konzept"),
        (6, "leitung_email"),
        (6, "konzept"),
        (7, "leitung_email"),
        (8, "leitung_email"),
    }


# -- the departments page -------------------------------------------------------------------


def test_the_departments_page_lists_and_edits_heads(rt: Runtime) -> None:
    s = seed(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    with rt.sessions() as session:
        school = session.scalars(
            select(Department).where(Department.organisation_id == s.organisation_id)
        ).first()
        assert school is not None
        other = session.scalars(
            select(Contact).where(
                Contact.department_id != school.id, Contact.department_id.is_not(None)
            )
        ).first()
        assert other is not None
        school_id, other_email = school.id, other.email
    page = client.get("/fachbereiche").text
    assert "Leitungen der Fachbereiche" in page and "keine Leitung eingetragen" in page
    assert f'href="/fachbereiche/{school_id}/leitung"' in page

    url = f"/fachbereiche/{school_id}/leitung"
    assert client.get(url).status_code == 200
    assert client.post(url, data={"name": "A", "email": "a@b.org"}).status_code == 403  # CSRF
    bad = client.post(
        url, data={"name": "Dr. Ines Albers", "email": "ines@"}, headers=csrf_headers(client)
    )
    assert bad.status_code == 422 and "„ines@“ ist keine gültige E-Mail-Adresse." in bad.text
    assert 'value="Dr. Ines Albers"' in bad.text
    taken = client.post(url, data={"name": "X", "email": other_email}, headers=csrf_headers(client))
    assert taken.status_code == 422 and "gehört bereits zu einer Person" in taken.text

    saved = client.post(
        url,
        data={"name": "Dr. Ines Albers", "email": "Ines.Albers@stadt.example.org"},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with rt.sessions() as session:
        assert _heads(session, s.organisation_id) == {
            school.name: ("Dr. Ines Albers", "ines.albers@stadt.example.org")
        }
    listed = client.get("/fachbereiche").text
    assert "Die Leitung ist gespeichert." in listed
    assert "Dr. Ines Albers &lt;ines.albers@stadt.example.org&gt;" in listed

    removed = client.post(url, data={"name": "", "email": ""}, headers=csrf_headers(client))
    assert (
        removed.status_code == 200 and "Die eingetragene Leitung ist entfernt." in removed.text
    )
    with rt.sessions() as session:
        assert _heads(session, s.organisation_id) == {}
        # The person stays a contact; only the role ends.
        assert session.scalars(
            select(Contact).where(Contact.email == "ines.albers@stadt.example.org")
        ).one()

    steering = TestClient(create_app())
    login(steering, Role.STEERING)
    listed = steering.get("/fachbereiche").text
    assert "Leitungen der Fachbereiche" in listed and f'href="{url}"' not in listed
    assert steering.get(url).status_code == 403
    assert EXAMPLES.is_dir()
