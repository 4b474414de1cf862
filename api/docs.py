"""The API documentation page ``/docs``: Swagger UI from a Python package, never from a CDN.

Installed only when ``ZIELFLOW_API_DOCS`` is on (by default everywhere but in production);
the schema at ``/openapi.json`` is served either way. The page holds no inline script, so it
passes the site's Content-Security-Policy: ``/static/api-docs.js`` starts Swagger UI. ReDoc
is not offered (its stylesheet is injected inline, which the policy refuses).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.deps import PublicRoute

ASSETS = "/docs/assets"
PAGE = f"""<!doctype html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>zielflow – API-Dokumentation</title>
<link rel="icon" href="{ASSETS}/favicon.png">
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi="/openapi.json"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def assets_dir() -> Path:
    """Swagger UI's files as the ``fastapi-offline`` package ships them (we use only the files)."""
    return Path(str(files("fastapi_offline") / "static"))


def docs_page() -> HTMLResponse:
    return HTMLResponse(PAGE)


def install(app: FastAPI) -> None:
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")
    app.add_api_route(
        "/docs",
        docs_page,
        methods=["GET"],
        include_in_schema=False,
        response_class=HTMLResponse,
        dependencies=[PublicRoute],
    )
