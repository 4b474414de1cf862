"""Refuses a request body over the limit before anything parses it or looks at who sent it.

Pure ASGI, so it sees the body as it streams (a BaseHTTPMiddleware would read it through a
stream of its own). A declared ``Content-Length`` over the limit is answered with 413 at once,
without calling the app; a body without one (chunked) is counted as it arrives, and reading
stops with 413 as soon as the count passes the limit, so no more than the limit and one chunk
is ever held. Multipart bodies (uploads, which Starlette spools to a temporary file while
parsing) have a larger limit of their own. It never reads a body itself.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import CODES, error_json
from api.i18n import language_of, translate

CODE = CODES[413][0]
MESSAGE = "Die Anfrage ist zu groß: höchstens {size} sind erlaubt."


def readable_size(limit: int) -> str:
    mib = limit / (1024 * 1024)
    if mib >= 1:
        return f"{mib:g} MiB".replace(".", ",")
    return f"{limit // 1024} KiB"


class BodyTooLarge(HTTPException):
    """Raised while the app reads a streamed body past the limit; the app's handlers answer it.

    FastAPI's ``HTTPException``, so that FastAPI lets it through its body parsing unchanged and
    the error handlers give the API its JSON shape and the pages their error page, with this
    German text.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=MESSAGE.format(size=readable_size(limit)))
        self.limit = limit


def limit_for(scope: Scope, *, body: int, upload: int) -> int:
    content_type = Headers(scope=scope).get("content-type", "")
    return upload if content_type.lower().startswith("multipart/form-data") else body


def refusal(scope: Scope, limit: int) -> Response:
    """The 413 answer given without the app: the error shape, or the area's page to a browser."""
    request = Request(scope)
    path = request.url.path
    size = readable_size(limit)
    if path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
        return error_json(413, CODE, MESSAGE.format(size=size), {"max_bytes": limit})
    from api.templating import render  # the templates load the translations: only when needed

    if path.startswith("/f/"):
        # A contact's form: the forms' own page, with no-referrer as every form response.
        return render(
            request,
            "forms/problem.html",
            {"problem": "forms.rejected"},
            status_code=413,
            headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"},
        )
    message = translate("error.too_large", language_of(request), size=size)
    return render(
        request, "dashboard/error.html", {"status": 413, "message": message}, status_code=413
    )


def is_refusal(exc: BaseException) -> bool:
    """Ours, or a group of nothing but ours (a BaseHTTPMiddleware reads in a task group)."""
    if isinstance(exc, BaseExceptionGroup):
        _, rest = exc.split(BodyTooLarge)
        return rest is None
    return isinstance(exc, BodyTooLarge)


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope, body=self.max_body_bytes, upload=self.max_upload_bytes)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await refusal(scope, limit)(scope, receive, send)
            return

        received = 0
        exceeded = False
        started = False
        replaced = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                started = True
                if exceeded and message["status"] != 413:
                    # Someone caught the refusal and answered otherwise: give the refusal.
                    replaced = True
                    await refusal(scope, limit)(scope, receive, send)
                    return
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception as exc:
            if started or not is_refusal(exc):
                raise
            await refusal(scope, limit)(scope, receive, send)
