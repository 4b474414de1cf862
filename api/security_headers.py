"""The security headers of every response: pages, API, static files, errors and 404s alike.

Wrapped around the whole ASGI stack (see ``api.app``), so even Starlette's last-resort 500
passes through it. It only adds response headers; it never reads or changes a body. A route
may send a stricter ``Referrer-Policy`` (the forms send ``no-referrer``) or a document's own
``Content-Security-Policy`` (an HTML report with its stylesheet inline, see
``policy_for_document``); every other header here is set whatever the route sent.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script, style or handler anywhere: every script and stylesheet is a file under
# /static (or the packaged API docs assets). data: images are for the docs' CSS icons.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Origin only, and only to https sites; same-origin requests keep the Origin header that
# the CSRF check may compare. Pages with a secret in their URL send no-referrer themselves.
REFERRER = "strict-origin-when-cross-origin"
HSTS = "max-age=31536000"
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def fixed_headers(*, https: bool) -> dict[str, str]:
    """The headers no route can change."""
    fixed = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}
    if https:
        # Only when the site is served over https: over http the browser ignores it anyway,
        # and a development site on a LAN name must not be pinned to https.
        fixed["Strict-Transport-Security"] = HSTS
    return fixed


DEFAULTS = {"Content-Security-Policy": POLICY, "Referrer-Policy": REFERRER}


def policy_for_document(html: str) -> str:
    """A policy for a self-contained HTML document: no script at all, its own <style> blocks only.

    The reports keep their stylesheet inline so that a saved file looks the same offline;
    the hash allows exactly that stylesheet and nothing injected beside it.
    """
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"
        for css in _STYLE.findall(html)
    )
    styles = hashes or "'none'"
    return (
        f"default-src 'none'; style-src {styles}; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    """Pure ASGI: adds the headers to every ``http.response.start`` that passes through."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.fixed = fixed_headers(https=https)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in DEFAULTS.items():
                    headers.setdefault(name, value)
                for name, value in self.fixed.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SecuredFastAPI(FastAPI):
    """FastAPI with ``SecurityHeaders`` around its whole stack, Starlette's own 500 included.

    Middleware added with ``add_middleware`` sits inside Starlette's ServerErrorMiddleware, so
    the last-resort 500 would pass it by; wrapping the built stack catches that response too.
    """

    def __init__(self, *, https: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.https = https

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack(), https=self.https)
