"""Breakdowns and base figures: cell keys and computed values (pure), the import of cells
with base figures, the delivery form asking per cell, and a category in use kept.

The database tests run on SQLite and PostgreSQL through the real import, the real form
routes and the real dimension page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.dashboard import dimensions as dimension_page
from tests import factories
from tests.dashboard_seed import csrf_headers, login, seed
from tests.form_support import Browser
from tests.indicator_csv_support import write_import_file
from workflow.accounts import Role
from workflow.catalogue.service import ensure_organisation
from workflow.db import unit_of_work
from workflow.forms.tokens import Phase, issue_token
from workflow.indicators import breakdown
from workflow.indicators import requests as data_requests
from workflow.indicators.dimensions import ensure_standard_dimensions
from workflow.indicators.importer import IndicatorsInvalid, import_indicators
from workflow.indicators.models import DataDraft, Indicator, IndicatorValue
from workflow.indicators.service import save_indicator
from workflow.runtime import Runtime

TODAY = date(2026, 3, 2)
NICHTDEUTSCH = "staatsangehoerigkeit=nichtdeutsch"
DEUTSCH = "staatsangehoerigkeit=deutsch"


# -- pure ---------------------------------------------------------------------------------


def test_cell_keys_are_canonical_and_malformed_keys_are_refused() -> None:
    key = breakdown.cell_key({"staatsangehoerigkeit": "nichtdeutsch", "geschlecht": "weiblich"})
    assert key == "geschlecht=weiblich;staatsangehoerigkeit=nichtdeutsch"
    assert breakdown.parse_cell(key) == {
        "geschlecht": "weiblich",
        "staatsangehoerigkeit": "nichtdeutsch",
    }
    assert (
        breakdown.cell_from_text(" staatsangehoerigkeit = nichtdeutsch, geschlecht=weiblich") == key
    )
    for bad in (
        "staatsangehoerigkeit=nichtdeutsch;geschlecht=weiblich",  # not sorted
        "geschlecht",
        "geschlecht=",
        "geschlecht=w;geschlecht=m",
    ):
        with pytest.raises(ValueError):
            breakdown.parse_cell(bad)
    for bad_text in ("geschlecht", "geschlecht=w=x", "geschlecht=weiblich, geschlecht=divers"):
        with pytest.raises(ValueError):
            breakdown.cell_from_text(bad_text)
    cells = breakdown.cells_of(
        [("staatsangehoerigkeit", ["deutsch", "nichtdeutsch"]), ("geschlecht", ["w", "m"])]
    )
    assert cells[0] == "geschlecht=w;staatsangehoerigkeit=deutsch" and len(cells) == 4
    assert breakdown.is_cell_of("", []) and not breakdown.is_cell_of(NICHTDEUTSCH, [])
    assert breakdown.uses_category(key, "geschlecht", "weiblich")
    assert not breakdown.uses_category("kaputt", "geschlecht", "weiblich")


def test_values_computed_from_base_figures() -> None:
    ratio = breakdown.computed_value(
        "ratio", "percent", numerator=45, denominator=380, population_share=None
    )
    assert ratio == pytest.approx(11.842, abs=0.001)
    assert breakdown.computed_value(
        "ratio", "rate", numerator=45, denominator=380, population_share=None
    ) == pytest.approx(0.11842, abs=0.00001)
    # 9 of 60 council members (15 %) against 30 % of the population: half represented.
    index = breakdown.computed_value(
        "representation_index", "index", numerator=9, denominator=60, population_share=30
    )
    assert index == pytest.approx(50.0)
    for figures in ((None, 380, None), (45, 0, None), (45, None, None)):
        numerator, denominator, share = figures
        assert (
            breakdown.computed_value(
                "ratio",
                "percent",
                numerator=numerator,
                denominator=denominator,
                population_share=share,
            )
            is None
        )
    assert (
        breakdown.computed_value(
            "representation_index", "index", numerator=9, denominator=60, population_share=None
        )
        is None
    )
    assert (
        breakdown.computed_value(
            "typed", "percent", numerator=9, denominator=60, population_share=1
        )
        is None
    )


# -- import -------------------------------------------------------------------------------


def _organisation(rt: Runtime) -> int:
    with unit_of_work(rt.sessions) as s:
        return ensure_organisation(s, slug="musterstadt", name="Musterstadt").id


ROW = {
    "kennzahl_code": "B-K1",
    "aussage": "Der Anteil ausländischer Kinder in den 5. Klassen der Gymnasien steigt.",
    "einheit": "prozent",
    "richtung": "steigend",
    "merkmale": "staatsangehoerigkeit",
    "berechnung": "quote",
    "zaehler": "Kinder in 5. Klassen der Gymnasien",
    "nenner": "Kinder in allen 5. Klassen",
    "werte": (
        "2025-02-15=600/1500; "
        "2025-02-15 [staatsangehoerigkeit=nichtdeutsch]=45/380; "
        "2025-02-15 [staatsangehoerigkeit = deutsch]=555/1120"
    ),
}


def test_an_imported_row_with_cells_and_base_figures_is_stored_as_written(
    rt: Runtime, tmp_path: Path
) -> None:
    org_id = _organisation(rt)
    path = write_import_file(tmp_path / "k.csv", [ROW])
    with unit_of_work(rt.sessions) as s:
        report = import_indicators(
            session=s, organisation_id=org_id, path=path, now=rt.clock.now(), today=TODAY
        )
    assert report.created["Werte"] == 3
    with rt.sessions() as s:
        indicator = s.scalars(select(Indicator)).one()
        assert indicator.dimensions == ["staatsangehoerigkeit"]
        assert indicator.computation == "ratio"
        assert indicator.numerator_label == "Kinder in 5. Klassen der Gymnasien"
        stored = {
            v.cell: (v.numerator, v.denominator, v.value, v.survey_date)
            for v in s.scalars(select(IndicatorValue))
        }
    assert stored == {
        "": (600, 1500, pytest.approx(40.0), date(2025, 2, 15)),
        NICHTDEUTSCH: (45, 380, pytest.approx(45 / 380 * 100), date(2025, 2, 15)),
        DEUTSCH: (555, 1120, pytest.approx(555 / 1120 * 100), date(2025, 2, 15)),
    }
    with unit_of_work(rt.sessions) as s:
        again = import_indicators(
            session=s, organisation_id=org_id, path=path, now=rt.clock.now(), today=TODAY
        )
    assert not again.changed


def test_a_wrong_cell_or_base_figure_is_reported_with_its_line(rt: Runtime, tmp_path: Path) -> None:
    org_id = _organisation(rt)
    figures = {**ROW, "werte": "2025-03-15=4/0; 2025-04-15=12,5"}
    cell = {**ROW, "kennzahl_code": "B-K2", "werte": "2025-02-15 [geschlecht=weiblich]=4/10"}
    path = write_import_file(tmp_path / "k.csv", [figures, cell])
    with unit_of_work(rt.sessions) as s, pytest.raises(IndicatorsInvalid) as refused:
        import_indicators(
            session=s, organisation_id=org_id, path=path, now=rt.clock.now(), today=TODAY
        )
    texts = [e.text("de") for e in refused.value.errors]
    assert texts == [
        "Zeile 2, Spalte werte: '2025-03-15=4/0': der Nenner darf nicht 0 sein",
        "Zeile 2, Spalte werte: '2025-04-15=12,5': Grundzahlen als Zähler/Nenner angeben, "
        "z. B. 45/380 oder 45/380@14,2",
        "Zeile 3, Spalte werte: Die Aufschlüsselung 'geschlecht=weiblich' gehört nicht zu den "
        "Merkmalen der Spalte merkmale",
    ]
    with rt.sessions() as s:
        assert s.scalars(select(IndicatorValue)).all() == []


# -- the delivery form --------------------------------------------------------------------


@pytest.fixture
def browser(rt: Runtime) -> Iterator[Browser]:
    with TestClient(create_app()) as client:
        yield Browser(client)


def _computing_request(rt: Runtime) -> tuple[int, str]:
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        (measure,) = factories.measures(s, org, 1)
        assert measure.contact_id is not None
        save_indicator(
            s,
            organisation_id=org.id,
            code="B-K1",
            values={
                "statement": "Anteil ausländischer Kinder an Gymnasien",
                "unit": "percent",
                "direction": "up",
                "due_months": [3],
                "due_day": 20,
                "lead_days": 28,
                "source_contact_id": measure.contact_id,
                "dimensions": ["staatsangehoerigkeit"],
                "computation": "ratio",
                "numerator_label": "Kinder an Gymnasien",
                "denominator_label": "Kinder in 5. Klassen",
            },
            goal_ids=[],
            measure_ids=[],
            now=now - timedelta(days=400),
        )
        ensure_standard_dimensions(s, org.id, now)
        (request_id,) = data_requests.open_due_requests(s, now=now).ids
        raw = issue_token(
            session=s,
            organisation_id=org.id,
            contact_id=measure.contact_id,
            cycle_id=None,
            phase=Phase.DATA_DELIVERY,
            expires_at=now + timedelta(days=60),
            now=now,
            issued_by="test",
        )
    return request_id, raw


def test_the_delivery_form_asks_per_cell_and_computes_from_base_figures(
    rt: Runtime, browser: Browser
) -> None:
    request_id, raw = _computing_request(rt)
    form = browser.open(raw).text
    # One row per cell, the total first; deutsch is the first category of the standard list.
    labels = re.findall(rf'id="r-{request_id}-(?:k\d-)?label">([^<]+)<', form)
    assert labels == [
        "Insgesamt",
        "Staatsangehörigkeit: deutsch",
        "Staatsangehörigkeit: nichtdeutsch",
    ]
    assert "Kinder an Gymnasien" in form
    fields = {f"r-{request_id}-survey_date": "2026-02-27"}
    typed = {"num": "600", "den": "1500", "k1-num": "555", "k1-den": "1120", "k2-num": "45"}
    wrong = browser.post(
        raw,
        {
            "action": f"submit:{request_id}",
            **fields,
            **{f"r-{request_id}-{k}": v for k, v in typed.items()},
        },
    )
    assert wrong.status_code == 422
    error = re.search(rf'id="r-{request_id}-k2-den-error">(.*?)</p>', wrong.text, re.S)
    assert error is not None and "Bitte geben Sie Zähler und Nenner an." in error[1]
    assert f'name="r-{request_id}-k1-num" value="555"' in wrong.text
    with rt.sessions() as s:
        assert s.scalars(select(IndicatorValue)).all() == []
        # The draft keeps each cell's figures as typed.
        draft = s.scalars(select(DataDraft)).one()
        assert (draft.answers["k1-num"], draft.answers["k2-num"]) == ("555", "45")
    typed["k2-den"] = "380"
    done = browser.post(
        raw,
        {
            "action": f"submit:{request_id}",
            **fields,
            **{f"r-{request_id}-{k}": v for k, v in typed.items()},
        },
    )
    assert done.status_code == 303, done.text
    with rt.sessions() as s:
        stored = {
            v.cell: (v.numerator, v.denominator, v.value) for v in s.scalars(select(IndicatorValue))
        }
    assert stored == {
        "": (600, 1500, pytest.approx(40.0)),
        DEUTSCH: (555, 1120, pytest.approx(555 / 1120 * 100)),
        NICHTDEUTSCH: (45, 380, pytest.approx(45 / 380 * 100)),
    }
    shown = browser.open(raw).text
    computed = re.search(rf'data-testid="computed-{request_id}-k2-value">([^<]+)<', shown)
    assert computed is not None and computed[1] == "11,8 %"


# -- the list of dimensions ---------------------------------------------------------------


def _app_with_dimension_page() -> FastAPI:
    """The app with the page mounted in front, as the lead will include it (see report)."""
    app = create_app()
    before = len(app.router.routes)
    app.include_router(dimension_page.router)
    added = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[0:0] = added
    return app


def test_a_category_in_use_cannot_be_removed(rt: Runtime) -> None:
    world = seed(rt)
    client = TestClient(_app_with_dimension_page())
    login(client, Role.COORDINATOR)
    page = client.get("/kennzahlen/merkmale")
    assert page.status_code == 200 and "Staatsangehörigkeit" in page.text
    with unit_of_work(rt.sessions) as s:
        indicator, _ = save_indicator(
            s,
            organisation_id=world.organisation_id,
            code="A-K1",
            values={"statement": "Arbeitslosenindex", "unit": "index", "direction": "down"},
            goal_ids=[],
            measure_ids=[],
            now=rt.clock.now(),
        )
        s.add(
            IndicatorValue(
                organisation_id=world.organisation_id,
                indicator_id=indicator.id,
                survey_date=date(2025, 1, 15),
                cell=NICHTDEUTSCH,
                value=182.4,
                delivered_by="import",
                delivered_at=rt.clock.now(),
            )
        )

    def post(**data: str):  # type: ignore[no-untyped-def]
        return client.post(
            "/kennzahlen/merkmale",
            data=data,
            headers=csrf_headers(client),
            follow_redirects=False,
        )

    refused = post(action="remove_category", dimension="staatsangehoerigkeit", code="nichtdeutsch")
    assert refused.status_code == 422
    assert "kann nicht entfernt werden: 1 gespeicherter Wert gehört zu ihr" in refused.text
    added = post(
        action="add_category", dimension="geschlecht", code="ohne_angabe", label="ohne Angabe"
    )
    assert added.status_code == 303
    removed = post(action="remove_category", dimension="geschlecht", code="divers")
    assert removed.status_code == 303
    steering = TestClient(_app_with_dimension_page())
    login(steering, Role.STEERING)
    assert steering.get("/kennzahlen/merkmale").status_code == 200
    forbidden = steering.post(
        "/kennzahlen/merkmale",
        data={"action": "remove_category", "dimension": "geschlecht", "code": "ohne_angabe"},
        headers=csrf_headers(steering),
    )
    assert forbidden.status_code == 403
    listed = client.get("/kennzahlen/merkmale").text
    assert "ohne Angabe" in listed and ">divers<" not in listed and ">nichtdeutsch<" in listed


def test_the_indicator_page_shows_the_cells_side_by_side(rt: Runtime, tmp_path: Path) -> None:
    world = seed(rt)
    path = write_import_file(
        tmp_path / "k.csv", [{**ROW, "werte": ROW["werte"] + "; 2024-02-15=560/1500"}]
    )
    with unit_of_work(rt.sessions) as s:
        import_indicators(
            session=s,
            organisation_id=world.organisation_id,
            path=path,
            now=rt.clock.now(),
            today=TODAY,
        )
        indicator_id = s.scalars(select(Indicator.id)).one()
    client = TestClient(create_app())
    login(client, Role.STEERING)
    html = client.get(f"/kennzahlen/{indicator_id}").text
    table = re.search(r'<table data-testid="cells">(.*?)</table>', html, re.S)
    assert table is not None
    headers = re.findall(r'<th scope="col">([^<]+)</th>', table[1])
    assert headers == [
        "Erhebungsdatum",
        "Insgesamt",
        "Staatsangehörigkeit: deutsch",
        "Staatsangehörigkeit: nichtdeutsch",
    ]
    first = re.findall(r"<td>([^<]+)</td>", table[1])[:3]
    assert first == ["40,0 % (600 von 1.500)", "49,6 % (555 von 1.120)", "11,8 % (45 von 380)"]
    # One line per cell; the total (two dates) is drawn as a line.
    assert "<title>Verlauf je Aufschlüsselung</title>" in html and html.count("<polyline") >= 1
