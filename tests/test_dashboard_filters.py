"""Dashboard filter forms over HTTP: an empty select ("alle") means no filter, never a 422."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.dashboard_seed import login, seed
from workflow.accounts import Role
from workflow.runtime import Runtime

# Each page with a GET filter form, and the query a browser sends for "alle" in every select.
EMPTY_QUERIES = [
    ("/pipeline", "cycle=2026&field_id=&department_id=&rank="),
    ("/pipeline", "cycle=&field_id=&department_id=&rank="),
    ("/pipeline", "cycle=2026&field_id=&department_id=&rank=2"),
    ("/ueberfaellig", "cycle="),
    ("/fachbereiche", "cycle="),
    ("/steuerung", "cycle="),
    ("/postausgang", "status="),
]


@pytest.mark.parametrize(("path", "query"), EMPTY_QUERIES)
def test_empty_filter_values_mean_all(rt: Runtime, path: str, query: str) -> None:
    seed(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    unfiltered = client.get(path)
    filtered = client.get(f"{path}?{query}")
    assert unfiltered.status_code == 200, unfiltered.text
    assert filtered.status_code == 200, filtered.text


def test_pipeline_one_filter_with_others_empty_filters_by_that_one(rt: Runtime) -> None:
    seed(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    everything = client.get("/pipeline?cycle=2026&field_id=&department_id=&rank=")
    one_rank = client.get("/pipeline?cycle=2026&field_id=&department_id=&rank=1")
    assert everything.status_code == one_rank.status_code == 200
    # the chosen rank stays selected, and an empty select stays on "alle"
    assert '<option value="1" selected>1</option>' in one_rank.text
    assert everything.text.count("selected") < one_rank.text.count("selected")


def test_out_of_range_filter_is_still_refused(rt: Runtime) -> None:
    seed(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    assert client.get("/pipeline?rank=9").status_code == 422
    assert client.get("/pipeline?field_id=abc").status_code == 422
