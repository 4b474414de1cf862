"""Says in /openapi.json how each operation is signed in to: an API token or the browser session.

The routes read credentials through their own dependency (``api.deps.current_user``), which
FastAPI cannot see as a security scheme; so the document named none, client generators offered
no place for the token, and a property run could not check that an operation refuses a call
without it. Here every operation whose dependencies reach ``current_user`` declares both ways
in; those that refuse API tokens (``browser_only``: creating and revoking tokens) declare the
session alone; public operations declare nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from api.deps import browser_only, current_user

BEARER = "apiToken"
SESSION = "browserSession"
SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "API-Token (zielflow token create, oder auf der Seite Konto)",
    },
    SESSION: {
        "type": "apiKey",
        "in": "cookie",
        "name": "zf_session",
        "description": "Anmeldung im Browser",
    },
}


def _calls(dependant: Any) -> set[Any]:
    found: set[Any] = set()
    stack = [dependant]
    while stack:
        node = stack.pop()
        if node.call is not None:
            found.add(node.call)
        stack.extend(node.dependencies)
    return found


def security_of(dependant: Any) -> list[dict[str, list[str]]] | None:
    """The ways in an operation (by its dependency tree) accepts, or None for a public one."""
    calls = _calls(dependant)
    if current_user not in calls:
        return None
    if browser_only in calls:
        return [{SESSION: []}]
    return [{BEARER: []}, {SESSION: []}]


def declare_security(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (FastAPI's) with the schemes and each operation's security added."""
    document.setdefault("components", {})["securitySchemes"] = SCHEMES
    paths = document.get("paths", {})
    for context in iter_route_contexts(app.routes):
        route = getattr(context, "route", None)
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        security = security_of(context.dependant)
        operations = paths.get(context.path_format, {})
        for method in context.methods or ():
            operation = operations.get(method.lower())
            if operation is not None and security is not None:
                operation["security"] = security
    return document
