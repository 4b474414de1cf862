"""The indicator JSON API with breakdowns and base figures, on both databases: an indicator
defined with dimensions and a computation, a cell delivered with its base figures and read
back computed, and the refusals (unknown dimension, cell or category, a typed value beside
base figures, missing figures)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.dashboard_seed import bearer, seed
from workflow.accounts import Role
from workflow.runtime import Runtime

GIRLS_FOREIGN = "geschlecht=weiblich;staatsangehoerigkeit=nichtdeutsch"


def _definition(**changes: Any) -> dict[str, Any]:
    body = {
        "code": "B-Q1",
        "statement": "Ausländische Kinder besuchen häufiger eine Kindertagesstätte",
        "unit": "percent",
        "direction": "up",
        "dimensions": ["staatsangehoerigkeit", "geschlecht"],
        "computation": "ratio",
        "numerator_label": "Kinder in Kindertagesstätten",
        "denominator_label": "Kinder von 3 bis 6 Jahren",
    }
    return body | changes


@pytest.fixture
def api(rt: Runtime) -> tuple[TestClient, dict[str, str]]:
    s = seed(rt)
    return TestClient(create_app()), bearer(s, Role.COORDINATOR)


def _error(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


def test_a_cell_delivered_with_base_figures_is_read_back_computed(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = api
    created = client.post("/api/v1/indicators", json=_definition(), headers=headers)
    assert created.status_code == 201, created.text
    indicator = created.json()
    assert indicator["dimensions"] == ["staatsangehoerigkeit", "geschlecht"]
    assert (indicator["computation"], indicator["numerator_label"]) == (
        "ratio",
        "Kinder in Kindertagesstätten",
    )
    url = f"/api/v1/indicators/{indicator['id']}"
    assert client.get(url, headers=headers).json()["denominator_label"] == (
        "Kinder von 3 bis 6 Jahren"
    )

    # The cell as an object, in any order of dimensions: stored under its canonical key.
    cell = client.post(
        f"{url}/values",
        json={
            "survey_date": "2025-10-01",
            "cell": {"staatsangehoerigkeit": "nichtdeutsch", "geschlecht": "weiblich"},
            "numerator": 45,
            "denominator": 180,
        },
        headers=headers,
    )
    assert cell.status_code == 201, cell.text
    assert (cell.json()["cell"], cell.json()["value"]) == (GIRLS_FOREIGN, 25.0)
    total = client.post(
        f"{url}/values",
        json={"survey_date": "2025-10-01", "numerator": 300, "denominator": 400},
        headers=headers,
    )
    assert total.status_code == 201 and total.json()["value"] == 75.0
    # The same cell again as its key: a correction of the same row.
    again = client.post(
        f"{url}/values",
        json={
            "survey_date": "2025-10-01",
            "cell": GIRLS_FOREIGN,
            "numerator": 90,
            "denominator": 180,
        },
        headers=headers,
    )
    assert again.status_code == 200 and again.json()["id"] == cell.json()["id"]

    everything = client.get(f"{url}/values", headers=headers).json()
    assert [(v["cell"], v["value"], v["numerator"], v["denominator"]) for v in everything] == [
        ("", 75.0, 300, 400),
        (GIRLS_FOREIGN, 50.0, 90, 180),
    ]
    totals = client.get(f"{url}/values", params={"cell": ""}, headers=headers).json()
    assert [v["cell"] for v in totals] == [""]
    one = client.get(f"{url}/values", params={"cell": GIRLS_FOREIGN}, headers=headers).json()
    assert [v["value"] for v in one] == [50.0]
    # The indicator's own value is the total's, never a cell's.
    assert client.get(url, headers=headers).json()["last_value"] == 75.0

    typed = client.patch(url, json={"computation": "typed", "dimensions": None}, headers=headers)
    assert typed.status_code == 200
    assert (typed.json()["computation"], typed.json()["dimensions"]) == ("typed", [])

    index = client.post(
        "/api/v1/indicators",
        json=_definition(code="B-Q2", unit="index", computation="representation_index"),
        headers=headers,
    ).json()
    represented = client.post(
        f"/api/v1/indicators/{index['id']}/values",
        json={
            "survey_date": "2025-11-01",
            "cell": "staatsangehoerigkeit = nichtdeutsch, geschlecht=weiblich",
            "numerator": 20,
            "denominator": 100,
            "population_share": 10,
        },
        headers=headers,
    )
    assert represented.status_code == 201, represented.text
    assert represented.json()["cell"] == GIRLS_FOREIGN
    assert represented.json()["value"] == pytest.approx(200.0)
    assert represented.json()["population_share"] == 10


def test_definitions_with_unknown_dimensions_or_a_computation_without_a_rate_are_refused(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = api
    unknown = client.post(
        "/api/v1/indicators",
        json=_definition(dimensions=["geschlecht", "religion"]),
        headers={**headers, "Accept-Language": "en"},
    )
    assert unknown.status_code == 422
    error = _error(unknown)
    assert (error["code"], error["details"]["field"]) == ("invalid_indicator", "dimensions")
    assert "'religion'" in error["message"] and error["message"].startswith("There is no")
    repeated = client.post(
        "/api/v1/indicators",
        json=_definition(dimensions=["geschlecht", "geschlecht"]),
        headers=headers,
    )
    assert repeated.status_code == 422 and _error(repeated)["details"]["field"] == "dimensions"
    counted = client.post(
        "/api/v1/indicators", json=_definition(unit="count", direction="up"), headers=headers
    )
    assert counted.status_code == 422 and _error(counted)["details"]["field"] == "computation"
    assert "Berechnung" in _error(counted)["message"]

    created = client.post(
        "/api/v1/indicators", json=_definition(computation="typed"), headers=headers
    ).json()
    patched = client.patch(
        f"/api/v1/indicators/{created['id']}", json={"dimensions": ["ort"]}, headers=headers
    )
    assert patched.status_code == 422 and "'ort'" in _error(patched)["message"]
    emptied = client.patch(
        f"/api/v1/indicators/{created['id']}", json={"computation": None}, headers=headers
    )
    assert emptied.status_code == 422 and _error(emptied)["details"]["field"] == "computation"


def test_values_with_a_wrong_cell_or_base_figures_are_refused(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = api
    indicator = client.post("/api/v1/indicators", json=_definition(), headers=headers).json()
    url = f"/api/v1/indicators/{indicator['id']}/values"

    def post(**body: Any) -> dict[str, Any]:
        response = client.post(url, json={"survey_date": "2025-10-01", **body}, headers=headers)
        assert response.status_code == 422, response.text
        return _error(response)

    figures = {"numerator": 1, "denominator": 4}
    dimension = post(cell={"religion": "keine"}, **figures)
    assert dimension["details"]["field"] == "cell" and "'religion'" in dimension["message"]
    category = post(cell={"geschlecht": "x", "staatsangehoerigkeit": "deutsch"}, **figures)
    assert "'x'" in category["message"] and "weiblich" in category["message"]
    partial = post(cell="geschlecht=weiblich", **figures)
    assert partial["details"]["field"] == "cell"
    assert post(cell="geschlecht=weiblich;;", **figures)["details"]["field"] == "cell"
    typed = post(cell=GIRLS_FOREIGN, value=25, **figures)
    assert typed["details"]["field"] == "value" and "berechnet" in typed["message"]
    missing = post(cell=GIRLS_FOREIGN, numerator=3)
    assert missing["message"] == "Bitte geben Sie Zähler und Nenner an."
    assert post(numerator=0)["details"]["field"] == "denominator"  # a 0 is a figure too
    assert post(cell=GIRLS_FOREIGN, numerator=3, denominator=0)["details"]["field"] == "denominator"
    assert post(numerator=500, denominator=400)["code"] == "invalid_value"  # 125 %
    # The total of a computing indicator may be typed when no base figures came with it.
    typed_total = client.post(
        url, json={"survey_date": "2025-10-01", "value": 61.5}, headers=headers
    )
    assert typed_total.status_code == 201 and typed_total.json()["value"] == 61.5
