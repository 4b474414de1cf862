"""The account page ``/konto``: one's own API tokens, and for admins the organisation's accounts.

Only a browser signed in with its password manages credentials: every route here refuses a
bearer token (``BrowserOnly``), so a token can neither mint nor revoke tokens nor switch an
account off. A new token's raw value is shown once and never stored.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from api.csrf import require_csrf
from api.dashboard.common import RowId, flash, page, redirect
from api.deps import Admin, BrowserOnly, Reader, SessionDep
from workflow import runtime
from workflow.accounts import (
    AccountRefused,
    ApiToken,
    Role,
    TokenScope,
    User,
    create_api_token,
    revoke_api_token,
)
from workflow.sessions import deactivate_user

router = APIRouter(include_in_schema=False)
Csrf = Depends(require_csrf)


@router.get("/konto", response_class=HTMLResponse, dependencies=[BrowserOnly])
def account(request: Request, user: Reader, session: SessionDep) -> HTMLResponse:
    return _account_page(request, user, session, new_token=None)


def _account_page(
    request: Request, user: User, session: SessionDep, new_token: str | None
) -> HTMLResponse:
    rt = runtime.current()
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
    ).all()
    accounts = (
        session.scalars(
            select(User).where(User.organisation_id == user.organisation_id).order_by(User.email)
        ).all()
        if user.role == Role.ADMIN.value
        else []
    )
    return page(
        request,
        "dashboard/account.html",
        user,
        tokens=tokens,
        new_token=new_token,
        now=rt.clock.now(),
        token_days=rt.settings.api_token_days,
        accounts=accounts,
    )


@router.post("/konto/tokens", response_class=HTMLResponse, dependencies=[BrowserOnly, Csrf])
def new_api_token(
    request: Request,
    user: Reader,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
    # Without the field: the account's full rights, as every token had before scopes.
    scope: Annotated[Literal["read", "write"], Form()] = "write",
) -> HTMLResponse:
    rt = runtime.current()
    _token, raw = create_api_token(
        session,
        user,
        name.replace("\x00", ""),
        rt.clock.now(),
        scope=TokenScope(scope),
        lifetime=timedelta(days=rt.settings.api_token_days),
    )
    # Shown this once, never again: the database keeps only its hash.
    return _account_page(request, user, session, new_token=raw)


@router.post("/konto/tokens/{token_id}/widerrufen", dependencies=[BrowserOnly, Csrf])
def revoke_token(
    request: Request, token_id: RowId, user: Reader, session: SessionDep
) -> RedirectResponse:
    if revoke_api_token(session, user, token_id, runtime.current().clock.now()):
        flash(request, "account.token_revoked")
    return redirect("/konto")


@router.post("/konto/konten/{user_id}/deaktivieren", dependencies=[BrowserOnly, Csrf])
def deactivate(
    request: Request, user_id: RowId, user: Admin, session: SessionDep
) -> RedirectResponse:
    try:
        deactivate_user(
            session,
            organisation_id=user.organisation_id,
            user_id=user_id,
            by_user_id=user.id,
            now=runtime.current().clock.now(),
        )
    except AccountRefused as exc:
        if exc.code != "own_account":
            raise HTTPException(status_code=404) from None
        flash(request, "account.own_account")
    else:
        flash(request, "account.deactivated")
    return redirect("/konto")
