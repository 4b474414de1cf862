"""Every whole number a request may carry is bounded to what PostgreSQL's integer columns hold.

An unbounded id reached the database as 2**51 and PostgreSQL answered "integer out of range",
a server error, where SQLite had simply found no row (found by tests/test_api_stateful.py on
PostgreSQL). Each parameter and form field of every route, pages and forms included, and each
JSON request body of /openapi.json is checked here, so the next unbounded number fails
before it reaches a database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from api.app import create_app
from api.routes.schemas import MAX_ID
from tests.dashboard_seed import bearer, seed
from workflow.accounts import Role
from workflow.runtime import Runtime


def unbounded(
    schema: Any, where: str, definitions: dict[str, Any], seen: frozenset[str]
) -> Iterator[str]:
    """The places in a JSON schema where an integer has no maximum, or one above MAX_ID."""
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        if name not in seen:
            yield from unbounded(definitions[name], f"{where}→{name}", definitions, seen | {name})
        return
    if schema.get("type") == "integer":
        ceiling = schema.get("maximum", schema.get("exclusiveMaximum"))
        if ceiling is None or ceiling > MAX_ID:
            yield where
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            yield from unbounded(part, where, definitions, seen)
    for name, part in schema.get("properties", {}).items():
        yield from unbounded(part, f"{where}.{name}", definitions, seen)
    for key in ("items", "additionalProperties"):
        yield from unbounded(schema.get(key), f"{where}[]", definitions, seen)


def _parameters(dependant: Any) -> Iterator[Any]:
    for kind in ("path_params", "query_params", "header_params", "cookie_params", "body_params"):
        yield from getattr(dependant, kind)
    for inner in dependant.dependencies:
        yield from _parameters(inner)


def test_no_route_takes_an_unbounded_whole_number() -> None:
    found: list[str] = []
    checked = 0
    for route in iter_route_contexts(create_app().routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue
        for field in _parameters(dependant):
            info = field.field_info
            schema = TypeAdapter(Annotated[info.annotation, info]).json_schema()  # type: ignore[arg-type]
            checked += 1
            where = f"{route.path} {field.name}"
            found += unbounded(schema, where, schema.get("$defs", {}), frozenset())
    assert checked > 100
    assert found == []


def test_no_json_body_takes_an_unbounded_whole_number() -> None:
    document = create_app().openapi()
    definitions = document["components"]["schemas"]
    found: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                where = f"{method.upper()} {path}"
                found += unbounded(media["schema"], where, definitions, frozenset())
    assert found == []


def test_an_id_beyond_the_column_is_refused_as_invalid_not_as_a_server_error(rt: Runtime) -> None:
    headers = bearer(seed(rt), Role.COORDINATOR)
    with TestClient(create_app()) as client:
        response = client.put(
            f"/api/v1/goals/{MAX_ID + 1}/district-goal",
            json={"district_goal": None},
            headers=headers,
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"
        response = client.put(
            f"/api/v1/goals/{MAX_ID}/district-goal", json={"district_goal": None}, headers=headers
        )
        assert response.status_code == 404
