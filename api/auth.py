"""Sign-in, sign-out, password reset and API tokens in the browser; never stores a raw secret.

Sessions are Starlette's signed cookies holding the user id and a fingerprint of the
password hash, so changing a password ends every other session.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from api.csrf import require_csrf
from api.dashboard.common import RowId, flash, page, redirect, safe_next
from api.deps import (
    SESSION_FINGERPRINT,
    SESSION_USER,
    OptionalUser,
    PublicRoute,
    Reader,
    SessionDep,
)
from api.i18n import LANGUAGES
from workflow import runtime
from workflow.accounts import (
    ApiToken,
    PasswordTooShort,
    User,
    authenticate,
    create_api_token,
    request_password_reset,
    reset_password,
    revoke_api_token,
    session_fingerprint,
    valid_reset_token,
)
from workflow.forms.ratelimit import client_key, is_blocked, record_failure

router = APIRouter(include_in_schema=False)
Csrf = Depends(require_csrf)
ShortText = Annotated[str, Form(max_length=320)]
Password = Annotated[str, Form(max_length=200)]


def _sign_in(request: Request, user: User) -> None:
    request.session.clear()  # a fresh session on every sign-in
    request.session[SESSION_USER] = user.id
    request.session[SESSION_FINGERPRINT] = session_fingerprint(user)


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
    keys = _login_keys(request, email)
    if any(is_blocked(session, key, now) for key in keys):
        # The same answer whether or not the password would have been right.
        return page(
            request,
            "dashboard/login.html",
            None,
            status_code=429,
            next=safe_next(next),
            email=email,
            error="login.throttled",
        )
    user = authenticate(session, email, password)
    if user is None:
        for key in keys:
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
    _sign_in(request, user)
    return redirect(safe_next(next))


def _login_keys(request: Request, email: str) -> list[str]:
    """Failed logins count per client address and per account, each under its own key."""
    secret = runtime.current().settings.secret_key
    address = request.client.host if request.client else "-"
    return [
        client_key(secret, f"login:{address}"),
        client_key(secret, f"login-account:{email.strip().lower()}"),
    ]


@router.post("/logout", dependencies=[PublicRoute, Csrf])
def logout(request: Request) -> RedirectResponse:
    request.session.clear()
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
            _sign_in(request, user)
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


@router.get("/konto", response_class=HTMLResponse)
def account(request: Request, user: Reader, session: SessionDep) -> HTMLResponse:
    return _account_page(request, user, session, new_token=None)


def _account_page(
    request: Request, user: User, session: SessionDep, new_token: str | None
) -> HTMLResponse:
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
    ).all()
    return page(request, "dashboard/account.html", user, tokens=tokens, new_token=new_token)


@router.post("/konto/tokens", response_class=HTMLResponse, dependencies=[Csrf])
def new_api_token(
    request: Request,
    user: Reader,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    _token, raw = create_api_token(
        session, user, name.replace("\x00", ""), runtime.current().clock.now()
    )
    # Shown this once, never again: the database keeps only its hash.
    return _account_page(request, user, session, new_token=raw)


@router.post("/konto/tokens/{token_id}/widerrufen", dependencies=[Csrf])
def revoke_token(
    request: Request, token_id: RowId, user: Reader, session: SessionDep
) -> RedirectResponse:
    if revoke_api_token(session, user, token_id, runtime.current().clock.now()):
        flash(request, "account.token_revoked")
    return redirect("/konto")
