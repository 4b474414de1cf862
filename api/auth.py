"""Sign-in, sign-out and password reset in the browser; never stores a raw secret.

Each sign-in starts a server-side session (``api.session_cookie``); signing out, a new
password or deactivation ends it for every copy of the cookie. Failed sign-ins slow the
account down and, beyond a limit, block the client address (``workflow.forms.ratelimit``);
neither answer says whether the password would have been right.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.csrf import require_csrf
from api.dashboard.common import flash, page, redirect, safe_next
from api.deps import OptionalUser, PublicRoute, SessionDep
from api.i18n import LANGUAGES, language_of, translate
from api.session_cookie import sign_in, sign_out
from workflow import runtime
from workflow.accounts import (
    PasswordTooShort,
    authenticate,
    request_password_reset,
    reset_password,
    valid_reset_token,
)
from workflow.forms.ratelimit import (
    account_wait,
    address_wait,
    clear_failures,
    client_key,
    record_failure,
)

router = APIRouter(include_in_schema=False)
Csrf = Depends(require_csrf)
ShortText = Annotated[str, Form(max_length=320)]
Password = Annotated[str, Form(max_length=200)]


@router.get("/", dependencies=[PublicRoute])
def start(user: OptionalUser) -> RedirectResponse:
    return redirect("/pipeline" if user else "/login")


@router.get("/login", response_class=HTMLResponse, dependencies=[PublicRoute])
def login_form(request: Request, user: OptionalUser, next: str = "") -> Response:
    if user is not None:
        return redirect(safe_next(next))
    return page(request, "dashboard/login.html", None, next=safe_next(next), email="")


@router.post("/login", response_class=HTMLResponse, dependencies=[PublicRoute, Csrf])
def login(
    request: Request,
    session: SessionDep,
    email: ShortText = "",
    password: Password = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    now = runtime.current().clock.now()
    address, account = _login_keys(request, email)
    wait = _wait(session, address, account, now)
    if wait is not None:
        # The same answer whether or not the password would have been right.
        seconds = max(1, math.ceil(wait.total_seconds()))
        response = page(
            request,
            "dashboard/login.html",
            None,
            status_code=429,
            next=safe_next(next),
            email=email,
            error="login.throttled",
            error_values={"wait": _duration(seconds, language_of(request))},
        )
        response.headers["Retry-After"] = str(seconds)
        return response
    user = authenticate(session, email, password)
    if user is None:
        for key in (address, account):
            record_failure(session, key, now)
        return page(
            request,
            "dashboard/login.html",
            None,
            status_code=400,
            next=safe_next(next),
            email=email,
            error="login.failed",
        )
    clear_failures(session, account)  # the owner's own typos do not add up over the day
    sign_in(request, session, user, now)
    return redirect(safe_next(next))


def _login_keys(request: Request, email: str) -> tuple[str, str]:
    """Failed logins count per client address and per account, each under its own key.

    The address is the connecting one, or the one a trusted proxy names
    (ZIELFLOW_FORWARDED_ALLOW_IPS): anybody else's ``X-Forwarded-For`` is ignored upstream.
    """
    secret = runtime.current().settings.secret_key
    address = request.client.host if request.client else "-"
    return (
        client_key(secret, f"login:{address}"),
        client_key(secret, f"login-account:{email.strip().lower()}"),
    )


def _wait(session: Session, address: str, account: str, now: datetime) -> timedelta | None:
    """How long this attempt must wait: the longer of the address's and the account's wait."""
    waits = [address_wait(session, address, now), account_wait(session, account, now)]
    return max((w for w in waits if w is not None), default=None)


def _duration(seconds: int, lang: str) -> str:
    if seconds == 1:
        return translate("login.wait_second", lang)
    if seconds < 120:
        return translate("login.wait_seconds", lang, n=seconds)
    return translate("login.wait_minutes", lang, n=math.ceil(seconds / 60))


@router.post("/logout", dependencies=[PublicRoute, Csrf])
def logout(request: Request, session: SessionDep) -> RedirectResponse:
    sign_out(request, session, runtime.current().clock.now())
    flash(request, "login.logged_out")
    return redirect("/login")


@router.get("/passwort/vergessen", response_class=HTMLResponse, dependencies=[PublicRoute])
def forgot_form(request: Request) -> HTMLResponse:
    return page(request, "dashboard/forgot.html", None, sent=False, email="")


@router.post("/passwort/vergessen", response_class=HTMLResponse, dependencies=[PublicRoute, Csrf])
def forgot(request: Request, session: SessionDep, email: ShortText = "") -> HTMLResponse:
    # The same answer whether or not the account exists: nobody learns who has one.
    request_password_reset(session, email, runtime.current().clock.now())
    return page(request, "dashboard/forgot.html", None, sent=True, email=email)


@router.get("/passwort/neu/{token}", response_class=HTMLResponse, dependencies=[PublicRoute])
def reset_form(request: Request, token: str, session: SessionDep) -> HTMLResponse:
    valid = len(token) < 100 and valid_reset_token(session, token, runtime.current().clock.now())
    return page(
        request,
        "dashboard/reset.html",
        None,
        token=token,
        valid=bool(valid),
        status_code=200 if valid else 400,
    )


@router.post("/passwort/neu/{token}", response_class=HTMLResponse, dependencies=[PublicRoute, Csrf])
def reset(
    request: Request,
    token: str,
    session: SessionDep,
    password: Password = "",
    password_repeat: Password = "",
) -> Response:
    error = None
    if password != password_repeat:
        error = "reset.mismatch"
    else:
        try:
            user = reset_password(session, token, password, runtime.current().clock.now())
        except PasswordTooShort:
            error = "reset.too_short"
        else:
            if user is None:
                return page(
                    request, "dashboard/reset.html", None, token=token, valid=False, status_code=400
                )
            sign_in(request, session, user, runtime.current().clock.now())
            flash(request, "reset.done")
            return redirect("/pipeline")
    return page(
        request, "dashboard/reset.html", None, token=token, valid=True, error=error, status_code=400
    )


@router.get("/sprache/{lang}", dependencies=[PublicRoute])
def switch_language(lang: str, next: str = "/") -> RedirectResponse:
    response = redirect(safe_next(next, "/"))
    if lang in LANGUAGES:
        response.set_cookie("zf_lang", lang, max_age=365 * 86400, samesite="lax", path="/")
    return response
