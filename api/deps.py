"""Request dependencies as ``Annotated`` aliases: the session, the signed-in user, role checks.

Every route declares who may call it with one of ``Reader``, ``Coordinator``, ``Admin``
or ``PublicRoute``; a test walks ``app.routes`` and fails on a route that declares none.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from workflow import runtime
from workflow.accounts import Role, User, session_fingerprint, user_for_api_token
from workflow.catalogue.models import Organisation
from workflow.cycles.calendar import calendar_of
from workflow.db import unit_of_work

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SESSION_USER = "uid"
SESSION_FINGERPRINT = "fp"


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: reads take no write lock, writes commit when the route returns."""
    factory = runtime.current().sessions
    if request.method in SAFE_METHODS:
        with factory() as session, session.begin():
            yield session
    else:
        with unit_of_work(factory) as session:
            yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


class NotAuthenticated(HTTPException):
    def __init__(self, message: str = "Bitte anmelden.") -> None:
        super().__init__(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def optional_user(request: Request, session: SessionDep) -> User | None:
    """The user of a valid bearer token, else of the session cookie, else None.

    A request that sends an ``Authorization`` header is judged by it alone: a wrong token
    never falls back to the cookie.
    """
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, raw = header.partition(" ")
        user = None
        if scheme.lower() == "bearer" and raw.strip():
            rt = runtime.current()
            # A read request must not write in its own transaction; a write request may.
            own = rt.sessions if request.method in SAFE_METHODS else None
            user = user_for_api_token(session, raw.strip(), rt.clock.now(), sessions=own)
        if user is None:
            raise NotAuthenticated("API-Token ungültig oder widerrufen.")
        return user
    uid = request.session.get(SESSION_USER)
    if not isinstance(uid, int):
        return None
    user = session.get(User, uid)
    if user is None or not user.active:
        return None
    if request.session.get(SESSION_FINGERPRINT) != session_fingerprint(user):
        return None
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]


def current_user(user: OptionalUser) -> User:
    if user is None:
        raise NotAuthenticated()
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_role(*roles: Role) -> Any:
    """A dependency that lets only ``roles`` through (401 without login, 403 with another role)."""
    allowed = frozenset(r.value for r in roles)

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise HTTPException(status_code=403, detail="Dafür fehlt Ihnen die Berechtigung.")
        return user

    check.zf_roles = allowed  # type: ignore[attr-defined]  # read by the route-policy test
    return Depends(check)


def public_route() -> None:
    """Marks a route that anyone may call (login, health check, language switch)."""


public_route.zf_roles = frozenset({"public"})  # type: ignore[attr-defined]
PublicRoute = Depends(public_route)

Reader = Annotated[User, require_role(Role.COORDINATOR, Role.STEERING, Role.ADMIN)]
Coordinator = Annotated[User, require_role(Role.COORDINATOR, Role.ADMIN)]
Admin = Annotated[User, require_role(Role.ADMIN)]


def can_act(user: User) -> bool:
    return user.role in (Role.COORDINATOR.value, Role.ADMIN.value)


def actor_of(user: User) -> str:
    return f"user:{user.id}"


def organisation_of(session: Session, user: User) -> Organisation:
    org = session.get(Organisation, user.organisation_id)
    assert org is not None  # a user row cannot exist without its organisation (FK)
    return org


def today_of(org: Organisation) -> date:
    return calendar_of(org).local_date(runtime.current().clock.now())


def days_until(day: date, org: Organisation) -> int:
    return (day - today_of(org)) // timedelta(days=1)
