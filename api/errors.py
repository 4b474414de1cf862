"""One error shape for the JSON API, HTML error pages for the dashboard; never leaks internals.

API errors look like ``{"error": {"code": ..., "message": ..., "details": ...}}``. A refusal
of the domain arrives as a code and parameters (``ApiError.refusal``) and is worded here, in
the reader's language: ``?lang=`` first, then the ``Accept-Language`` header, then the
``zf_lang`` cookie, else German (``reader_language``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from workflow import messages
from workflow.terms import placeholders, terms_for

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
    500: ("internal_error", "Es ist ein Fehler aufgetreten. Bitte später erneut versuchen."),
}


# The organisation's words per language (workflow/terms.py), left on ``request.state`` by
# api.deps.organisation_words: the handlers below run after the dependencies have ended.
WORDS_STATE = "zf_words"
Words = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class Phrase:
    """A parameter that is itself a code of workflow/messages.py, worded in the reader's
    language with the sentence around it; a list of them is joined with "; "."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


def worded(reason: str, lang: str, params: Mapping[str, Any], words: Words | None = None) -> str:
    """``reason`` in ``lang``; ``{unit}`` and the other terms take the organisation's words."""
    terms = (words or {}).get(lang) or placeholders(terms_for(None, lang))
    values = {name: _phrased(value, lang, terms) for name, value in params.items()}
    return messages.message(reason, lang, **{**terms, **values})


def _phrased(value: Any, lang: str, terms: Mapping[str, str]) -> Any:
    if isinstance(value, Phrase):
        return messages.message(value.code, lang, **{**terms, **value.params})
    if isinstance(value, list) and value and all(isinstance(v, Phrase) for v in value):
        return "; ".join(_phrased(v, lang, terms) for v in value)
    return value


class ApiError(Exception):
    """Raised by API routes for an error with a code of its own and structured details.

    ``reason`` (a code of workflow/messages.py) and ``params``, when given, are worded at
    response time in the reader's language instead of ``message``; so is ``wording``, for
    sentences an edge module words itself (``wording(lang)``). ``message`` is then only the
    German fallback for logs and callers that read the exception.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str = "",
        details: Any = None,
        *,
        reason: str | None = None,
        params: dict[str, Any] | None = None,
        wording: Callable[[str], str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.reason = reason
        self.params = params or {}
        self.wording = wording
        self.message = message
        if not message:
            self.message = self.text(messages.DEFAULT)
        self.details = details if details is not None else {}
        super().__init__(self.message)

    @classmethod
    def refusal(cls, status: int, code: str, refused: Any, **details: Any) -> ApiError:
        """From a domain exception with ``.code`` and ``.params``: the details carry both."""
        params: dict[str, Any] = dict(getattr(refused, "params", {}))
        reason: str = refused.code
        return cls(
            status,
            code,
            messages.message(reason, messages.DEFAULT, **params),
            {**params, "reason": reason, **details},
            reason=reason,
            params=params,
        )

    def text(self, lang: str, words: Words | None = None) -> str:
        if self.wording is not None:
            return self.wording(lang)
        if self.reason is None:
            return self.message
        return worded(self.reason, lang, self.params, words)


class WordedHTTPException(HTTPException):
    """An HTTPException (401 still leads a page to the login) whose sentence is a code of
    workflow/messages.py, worded in the reader's language; ``detail`` keeps the German."""

    def __init__(
        self,
        status_code: int,
        reason: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.reason = reason
        self.params = params or {}
        super().__init__(status_code, worded(reason, messages.DEFAULT, self.params), headers)

    def text(self, lang: str) -> str:
        return worded(self.reason, lang, self.params)


def reader_language(request: Request) -> str:
    """``?lang=`` wins, then the first German or English of ``Accept-Language``, then the
    ``zf_lang`` cookie the pages set, else German."""
    asked = request.query_params.get("lang")
    if asked in messages.LANGUAGES:
        return asked
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in messages.LANGUAGES:
            return tag
    cookie = request.cookies.get("zf_lang")
    return cookie if cookie in messages.LANGUAGES else messages.DEFAULT


def words_of(request: Request) -> Words | None:
    words: Words | None = getattr(request.state, WORDS_STATE, None)
    return words


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


def _default(status: int, lang: str) -> str:
    """The status's own sentence (``http.<code>`` of workflow/messages.py) in ``lang``."""
    code, german = CODES.get(status, ("error", "Fehler."))
    key = f"http.{code}"
    return messages.message(key, lang) if messages.has(key, lang) else german


def _sentence(detail: Any, status: int, lang: str) -> str:
    """Our HTTPExceptions carry German text; Starlette's default phrases ("Not Found") do not,
    and either is replaced by the status's own sentence in the reader's language."""
    default = _default(status, lang)
    if not isinstance(detail, str) or not detail:
        return default
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return default if detail == phrase else detail


def install(app: FastAPI) -> None:
    from api.i18n import language_of, words_in_effect
    from api.templating import render

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        lang = reader_language(request) if is_api(request) else language_of(request)
        words = words_of(request)
        # ``wording`` may call api.i18n.translate, which reads the words in effect; a page
        # route leaves none on the request and keeps whatever is in effect.
        with words_in_effect(words) if words is not None else nullcontext():
            message = exc.text(lang, words)
        if is_api(request):
            return error_json(exc.status, exc.code, message, exc.details)
        return render(
            request,
            "dashboard/error.html",
            {"status": exc.status, "message": message},
            status_code=exc.status,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        # Starlette's own exceptions (its form parser's limits, routing) carry English text.
        ours = isinstance(exc, HTTPException)
        lang = reader_language(request) if is_api(request) else language_of(request)
        if isinstance(exc, WordedHTTPException):
            message = exc.text(lang)
        else:
            message = _sentence(exc.detail if ours else None, status, lang)
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
            message = _default(422, reader_language(request))
            return error_json(422, "validation_error", message, {"errors": details})
        return render(
            request,
            "dashboard/error.html",
            {"status": 422, "message": _default(422, language_of(request))},
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_json(500, CODES[500][0], _default(500, reader_language(request)))
