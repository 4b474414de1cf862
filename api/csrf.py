"""CSRF protection for every form: a random cookie that each unsafe request must echo back.

Requests authenticated by an ``Authorization`` header (API tokens) carry no ambient
credentials and are exempt; everything else that changes state must send the cookie's value
as the form field ``csrf_token`` or the header ``X-CSRF-Token``.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, Response
from starlette.middleware.base import BaseHTTPMiddleware

COOKIE = "zf_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class CSRFCookieMiddleware(BaseHTTPMiddleware):
    """Gives every visitor a CSRF cookie and templates its value as ``request.state.csrf_token``."""

    def __init__(self, app: object, *, secure: bool) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.secure = secure

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        token = request.cookies.get(COOKIE)
        fresh = not token or len(token) != 43
        if fresh:
            token = secrets.token_urlsafe(32)
        request.state.csrf_token = token
        response = await call_next(request)
        if fresh:
            response.set_cookie(
                COOKIE, token or "", httponly=True, samesite="strict", secure=self.secure, path="/"
            )
        return response


async def require_csrf(request: Request) -> None:
    """FastAPI dependency for every state-changing route that a browser can reach."""
    if request.method in SAFE_METHODS or request.headers.get("authorization"):
        return
    cookie = request.cookies.get(COOKIE, "")
    sent = request.headers.get(HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # Starlette caches it; the route reads it again for free
        value = form.get(FIELD, "")
        sent = value if isinstance(value, str) else ""
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise HTTPException(
            status_code=403,
            detail="Sicherheitsprüfung fehlgeschlagen (CSRF). Bitte die Seite neu laden und "
            "noch einmal absenden.",
        )
