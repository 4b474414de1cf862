"""CSRF protection: a token bound to the visitor's session, checked on every unsafe request
that rides on the session cookie.

The token is an HMAC (keyed with ZIELFLOW_SECRET_KEY) of the seed in the signed session
cookie (``api.session_cookie``): the server-side session key once signed in, a random
pre-session value before. So a cookie that a sibling subdomain plants proves nothing, and
signing in makes every earlier token worthless. A request proves itself with the token as
the form field ``csrf_token`` or the header ``X-CSRF-Token``, or with an ``Origin`` header
equal to ZIELFLOW_BASE_URL's origin. Requests with an ``Authorization`` header carry no
ambient credentials and are exempt (``api.deps`` judges them by the header alone).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import Request

from api.errors import WordedHTTPException
from api.session_cookie import csrf_seed, signed_in_key
from workflow import runtime

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _sign(seed: str) -> str:
    secret = runtime.current().settings.secret_key.encode()
    digest = hmac.new(secret, b"csrf\x00" + seed.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_for(request: Request) -> str:
    """The token a page puts into its forms (starts the pre-session seed if needed)."""
    seed = csrf_seed(request, create=True)
    return _sign(seed) if seed else ""


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    port = port or _DEFAULT_PORTS[scheme]
    return f"{scheme}://{host}:{port}"


def _from_our_origin(request: Request) -> bool:
    sent = request.headers.get("origin")
    if not sent:
        return False
    ours = _origin(runtime.current().settings.base_url)
    return ours is not None and _origin(sent) == ours


async def _sent_token(request: Request) -> str:
    sent = request.headers.get(HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # Starlette caches it; the route reads it again for free
        value = form.get(FIELD, "")
        sent = value if isinstance(value, str) else ""
    return sent


async def require_csrf(request: Request) -> None:
    """FastAPI dependency for every state-changing route that a browser can reach."""
    if request.method in SAFE_METHODS or request.headers.get("authorization") is not None:
        return
    if _from_our_origin(request):
        return
    seed = csrf_seed(request, create=False)
    sent = await _sent_token(request)
    if not seed or not sent or not hmac.compare_digest(_sign(seed), sent):
        raise WordedHTTPException(403, "api.csrf_failed")


async def require_csrf_for_cookie(request: Request) -> None:
    """The same check for every request the session cookie would sign in (``api.deps``)."""
    if signed_in_key(request) is not None:
        await require_csrf(request)
