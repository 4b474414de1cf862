"""What the signed session cookie holds, and signing in and out at the edge.

The cookie (Starlette's ``SessionMiddleware``, signed with ZIELFLOW_SECRET_KEY) holds the
raw key of a server-side session once signed in (``workflow.sessions`` keeps only its
hash), before that a random pre-session value that anonymous forms' CSRF tokens are bound
to, and a flash message. Never a user id, a role, or anything derived from a password.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from fastapi import Request
from sqlalchemy.orm import Session

from workflow.accounts import User
from workflow.sessions import end_session, start_session

SIGNED_IN = "sid"
ANONYMOUS = "anon"


def _cookie(request: Request) -> dict[str, object] | None:
    return request.session if "session" in request.scope else None


def signed_in_key(request: Request) -> str | None:
    """The raw session key the cookie claims (alive or not: ``workflow.sessions`` decides)."""
    cookie = _cookie(request)
    raw = cookie.get(SIGNED_IN) if cookie is not None else None
    return raw if isinstance(raw, str) and raw else None


def csrf_seed(request: Request, *, create: bool) -> str | None:
    """What this visitor's CSRF token is derived from: the session key, else a pre-session
    value (made on first use if ``create``). A new sign-in brings a new seed."""
    cookie = _cookie(request)
    if cookie is None:
        return None
    key = signed_in_key(request)
    if key is not None:
        return key
    seed = cookie.get(ANONYMOUS)
    if isinstance(seed, str) and seed:
        return seed
    if not create:
        return None
    fresh = secrets.token_urlsafe(32)
    cookie[ANONYMOUS] = fresh
    return fresh


def sign_in(request: Request, session: Session, user: User, now: datetime) -> None:
    """A fresh session (and CSRF seed) on every sign-in; the one it replaces ends."""
    sign_out(request, session, now)
    request.session[SIGNED_IN] = start_session(session, user=user, now=now)


def sign_out(request: Request, session: Session, now: datetime) -> None:
    key = signed_in_key(request)
    if key is not None:
        end_session(session, raw=key, now=now)
    request.session.clear()


def forget(request: Request) -> None:
    """The cookie's session is over (ended, idle, deactivated): stop sending it."""
    cookie = _cookie(request)
    if cookie is not None:
        cookie.clear()
