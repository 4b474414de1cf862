"""/openapi.json names how each operation is signed in to, in agreement with the routes' roles."""

from __future__ import annotations

from api.app import create_app
from api.openapi_security import BEARER, SCHEMES, SESSION
from tests.test_api_access import app_routes


def test_every_operation_but_the_public_ones_declares_token_or_session() -> None:
    document = create_app().openapi()
    assert document["components"]["securitySchemes"] == SCHEMES
    roles = {(method, path): declared for method, path, declared in app_routes()}
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            declared = roles[(method.upper(), path)]
            if declared == frozenset({"public"}):
                assert "security" not in operation, path
            else:
                assert operation["security"] == [{BEARER: []}, {SESSION: []}], (method, path)
            checked += 1
    assert checked > 90
    assert "security" not in document["paths"]["/healthz"]["get"]


def test_the_document_is_built_once_and_keeps_its_schemes() -> None:
    app = create_app()
    first = app.openapi()
    assert app.openapi() is first
    assert first["components"]["securitySchemes"][BEARER]["scheme"] == "bearer"
