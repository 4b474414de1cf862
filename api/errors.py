"""One error shape for the JSON API, HTML error pages for the dashboard; never leaks internals.

API errors look like ``{"error": {"code": ..., "message": <German>, "details": ...}}``.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

CODES = {
    400: ("bad_request", "Die Anfrage ist fehlerhaft."),
    401: ("unauthenticated", "Bitte anmelden."),
    403: ("forbidden", "Dafür fehlt Ihnen die Berechtigung."),
    404: ("not_found", "Nicht gefunden."),
    405: ("method_not_allowed", "Diese Methode ist hier nicht erlaubt."),
    409: ("conflict", "Konflikt mit dem aktuellen Stand."),
    413: ("payload_too_large", "Die Anfrage ist zu groß."),
    422: ("validation_error", "Die Eingaben sind ungültig."),
    500: ("internal_error", "Interner Fehler. Bitte später erneut versuchen."),
}


class ApiError(Exception):
    """Raised by API routes for an error with a code of its own and structured details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details if details is not None else {}
        super().__init__(message)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_json(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers)


def _german(detail: Any, status: int) -> str:
    """Our HTTPExceptions carry German text; Starlette's default phrases ("Not Found") do not."""
    default = CODES.get(status, ("error", "Fehler."))[1]
    if not isinstance(detail, str) or not detail:
        return default
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return default if detail == phrase else detail


def install(app: FastAPI) -> None:
    from api.templating import render

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        if is_api(request):
            return error_json(exc.status, exc.code, exc.message, exc.details)
        return render(
            request,
            "dashboard/error.html",
            {"status": exc.status, "message": exc.message},
            status_code=exc.status,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        # Starlette's own exceptions (its form parser's limits, routing) carry English text.
        ours = isinstance(exc, HTTPException)
        message = _german(exc.detail if ours else None, status)
        if is_api(request):
            code = CODES.get(status, ("error", ""))[0]
            return error_json(status, code, message, headers=getattr(exc, "headers", None))
        if status == 401:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return render(
            request,
            "dashboard/error.html",
            {"status": status, "message": message},
            status_code=status,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"loc": list(e.get("loc", ())), "message": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        if is_api(request):
            return error_json(422, "validation_error", CODES[422][1], {"errors": details})
        return render(
            request,
            "dashboard/error.html",
            {"status": 422, "message": CODES[422][1]},
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_json(500, *CODES[500])
