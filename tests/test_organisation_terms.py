"""Terms per organisation (issue 13, "Words"): Fachbereich or Amt, its area, its council.

The words themselves without a database; the setting through the shell, the JSON API and
the page; and where they show (a page, the Jahresbericht, the council paper) on SQLite.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from docx import Document as DocxDocument
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from api.app import create_app
from api.i18n import terms_in_effect, translate
from notifications.models import OutboxMessage
from notifications.render import Renderer
from tests.dashboard_seed import Seed, bearer, csrf_headers, login, seed
from workflow.accounts import Role
from workflow.catalogue.models import Organisation
from workflow.cli import app
from workflow.cycles.service import record_interview
from workflow.db import unit_of_work
from workflow.reports.build import build_report
from workflow.reports.council_render import build_council
from workflow.reports.status_sheet import find_field, sheet_html, status_sheet
from workflow.runtime import Runtime
from workflow.terms import fill, placeholders, terms_for

YEAR = 2026


def _org(kind: str, unit_term: str = "fachbereich", council_term: str = "") -> Organisation:
    return Organisation(
        slug="x",
        name="X",
        kind=kind,
        unit_term=unit_term,
        council_term=council_term,
        office_name="Integrationsbüro",
    )


@pytest.mark.parametrize(
    ("org", "lang", "expected"),
    [
        (None, "de", ("Fachbereich", "Fachbereiche", "Gesamtstadt", "Rat")),
        (_org("district"), "de", ("Fachbereich", "Fachbereiche", "Kreisgebiet", "Kreistag")),
        (_org("town", "amt", "gemeinderat"), "de", ("Amt", "Ämter", "Gemeindegebiet", "Gemeinderat")),
        (_org("city", "amt", "stadtrat"), "de", ("Amt", "Ämter", "Gesamtstadt", "Stadtrat")),
        (_org("city"), "en", ("department", "departments", "whole city", "council")),
        (
            _org("district", "amt"),
            "en",
            ("department", "departments", "district area", "district council (Kreistag)"),
        ),
    ],
)
def test_the_words_follow_the_settings_and_the_kind(
    org: Organisation | None, lang: str, expected: tuple[str, str, str, str]
) -> None:
    words = placeholders(terms_for(org, lang))
    assert (words["unit"], words["units"], words["area"], words["council"]) == expected
    assert words["office"] == ("Integrationsbüro" if org else "Koordinierungsstelle Integration")


def test_only_known_placeholders_are_filled_and_other_braces_stay() -> None:
    words = placeholders(terms_for(_org("district", "amt"), "de"))
    assert fill("{units} im {area}: {x} {{unit}} a{b", words) == "Ämter im Kreisgebiet: {x} {Amt} a{b"
    assert fill("ohne Platzhalter", words) == "ohne Platzhalter"
    # A catalogue text outside any page gets the default words, never a raw placeholder.
    assert translate("nav.departments", "de") == "Fachbereiche"
    assert translate("filter.department", "en") == "Department"
    with terms_in_effect(_org("district", "amt")):
        assert translate("nav.departments", "de") == "Ämter"
        # Values of the caller and the organisation's words together.
        assert translate("status_checks.selection.department", "de", value="50") == "Amt 50"
    assert translate("nav.departments", "de") == "Fachbereiche"  # only while in effect


# -- the setting ---------------------------------------------------------------------------------


def _district(rt: Runtime) -> Seed:
    s = seed(rt, YEAR)
    with unit_of_work(rt.sessions) as session:
        session.execute(
            update(Organisation)
            .where(Organisation.id == s.organisation_id)
            .values(kind="district", unit_term="amt", council_term="kreistag", name="Kreis Lindenau")
        )
    return s


def test_org_set_and_show_name_the_terms_and_refuse_a_bad_one(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite, YEAR)

    def zielflow(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, ["org", *args, "--org", "musterstadt"])

    done = zielflow("set", "--unit-term", "Amt", "--council-term", "kreistag")
    assert done.exit_code == 0, (done.stdout, done.stderr)
    assert "Bezeichnung der Organisationseinheiten: Amt (amt)" in done.stdout
    assert "Bezeichnung der Vertretungskörperschaft: Kreistag (kreistag)" in done.stdout
    bad = zielflow("set", "--unit-term", "abteilung")
    assert bad.exit_code == 1 and bad.stdout == ""
    (line,) = bad.stderr.strip().splitlines()
    assert line == (
        "Bezeichnung der Organisationseinheiten: „abteilung“ ist nicht vorgesehen. "
        "Möglich sind: fachbereich, amt."
    )
    by_kind = zielflow("set", "--council-term", "")
    assert "Bezeichnung der Vertretungskörperschaft: nach Art der Gebietskörperschaft (Rat)" in by_kind.stdout
    assert "Amt (amt)" in zielflow("show").stdout  # the refused value changed nothing


def test_the_api_reads_and_changes_the_terms(rt_sqlite: Runtime) -> None:
    s = seed(rt_sqlite, YEAR)
    client = TestClient(create_app())
    coordinator = bearer(s, Role.COORDINATOR)
    before = client.get("/api/v1/organisation", headers=coordinator).json()
    assert (before["unit_term"], before["council_term"]) == ("fachbereich", "")
    changed = client.patch(
        "/api/v1/organisation",
        json={"unit_term": "amt", "council_term": "Stadtrat"},
        headers=coordinator,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["unit_term"], changed.json()["council_term"]) == ("amt", "stadtrat")
    bad = client.patch(
        "/api/v1/organisation", json={"council_term": "bundestag"}, headers=coordinator
    )
    assert bad.status_code == 422
    (error,) = bad.json()["error"]["details"]["errors"]
    assert (error["field"], error["code"]) == ("council_term", "unknown_council_term")
    assert error["params"]["value"] == "bundestag"
    after = client.get("/api/v1/organisation", headers=coordinator).json()
    assert after["council_term"] == "stadtrat"


# -- where the terms show ------------------------------------------------------------------------


def test_pages_say_amt_and_the_settings_page_offers_the_terms(rt_sqlite: Runtime) -> None:
    _district(rt_sqlite)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    pipeline = client.get("/pipeline").text
    assert "<label>Amt" in pipeline and ">Ämter</a>" in pipeline
    assert "Fachbereich" not in pipeline
    settings = client.get("/organisation").text
    assert '<option value="amt" selected>Amt</option>' in settings
    assert '<option value="kreistag" selected>Kreistag</option>' in settings
    saved = client.post(
        "/organisation",
        data={"unit_term": "fachbereich", "council_term": "", "name": "Kreis Lindenau"},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "<label>Fachbereich" in client.get("/pipeline").text


def test_the_reports_name_the_kreistag_the_kreisgebiet_and_the_amt(
    rt_sqlite: Runtime,
) -> None:
    s = _district(rt_sqlite)
    with rt_sqlite.sessions() as session:
        annual = build_report(
            session,
            organisation_id=s.organisation_id,
            kind="annual",
            year=YEAR,
            report_date=date(2026, 3, 2),
        ).content.decode("utf-8")
        paper = build_council(session, organisation_id=s.organisation_id, year=YEAR, fmt="docx")
        field = find_field(session, organisation_id=s.organisation_id, code="A")
        assert field is not None
        sheet = status_sheet(
            session, organisation_id=s.organisation_id, field_id=field.id, today=date(2026, 3, 2)
        )
    assert "für Kreistag und Begleitgremium" in annual
    assert "Quoten je Amt" in annual and "Fachbereich" not in annual
    assert "Kreisgebiet" in annual and "Gesamtstadt" not in annual
    doc = DocxDocument(io.BytesIO(paper.content))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "Kreistag" in cells
    assert "Maßnahme und Amt" in sheet_html(sheet, "de")


def test_an_email_to_the_department_says_amt(rt_sqlite: Runtime) -> None:
    s = _district(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as session:
        record_interview(
            session=session,
            clock=rt_sqlite.clock,
            measure_cycle_id=s.item_ids[0],
            expected_version=None,
            actor="test",
            decision="keep",
        )
    with unit_of_work(rt_sqlite.sessions) as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "invitation_agreement")
        ).one()
        email = Renderer(session, rt_sqlite.settings, rt_sqlite.clock.now()).render([row])
    assert "vereinbaren wir mit jedem Amt," in email.text
    assert "Fachbereich" not in email.text + email.html
