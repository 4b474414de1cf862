"""Request dependencies as ``Annotated`` aliases: the session, the signed-in user, role checks.

Every route declares who may call it with one of ``Reader``, ``Coordinator``, ``Admin``
or ``PublicRoute``; a test walks ``app.routes`` and fails on a route that declares none.
The user comes from a bearer token (its scope decides whether it may write) or from the
server-side session of the cookie; an unsafe request on the cookie must pass the CSRF check
first (``api.csrf``), whatever route it calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Annotated, Any

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.csrf import require_csrf_for_cookie
from api.errors import WORDS_STATE, ApiError, WordedHTTPException, Words, reader_language
from api.i18n import LANGUAGES, reader_in_effect, words_in_effect
from api.session_cookie import forget, signed_in_key
from workflow import runtime
from workflow.accounts import Role, TokenScope, User, user_for_api_token
from workflow.catalogue.models import Organisation
from workflow.cycles.calendar import calendar_of
from workflow.db import already_pinned, pinned_get, unit_of_work
from workflow.memberships import Place, acting_as, place_by_id, place_of, places_of
from workflow.sessions import signed_in
from workflow.terms import words_by_language

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Names the organisation a request acts for (its short name); see ``acting_user``.
ORGANISATION_HEADER = "X-Zielflow-Organisation"


@contextmanager
def _reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session, session.begin():
        yield session


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: reads take no write lock, writes commit when the route returns.

    Async, so that a read costs no hand-over to a worker thread on the way in: its session
    takes a connection only at its first query, in the route's thread. A write's session
    opens its transaction at once, and every way out talks to the database, so both go to a
    worker thread, as FastAPI would send a plain generator.
    """
    factory = runtime.current().sessions
    if request.method in SAFE_METHODS:
        scope = _reading(factory)
        session = scope.__enter__()
    else:
        scope = unit_of_work(factory)
        session = await run_in_threadpool(scope.__enter__)
    # Leaving must never wait for the worker threads that requests waiting for a database
    # connection hold: a limiter of its own, as FastAPI gives its plain generators.
    leaving = CapacityLimiter(1)
    try:
        yield session
    except Exception as error:
        left = await to_thread.run_sync(
            scope.__exit__, type(error), error, error.__traceback__, limiter=leaving
        )
        if not left:
            raise
    else:
        await to_thread.run_sync(scope.__exit__, None, None, None, limiter=leaving)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


class NotAuthenticated(WordedHTTPException):
    def __init__(self, reason: str = "http.unauthenticated") -> None:
        super().__init__(401, reason, headers={"WWW-Authenticate": "Bearer"})


CookieCsrf = Annotated[None, Depends(require_csrf_for_cookie)]


def optional_user(request: Request, _csrf: CookieCsrf, session: SessionDep) -> User | None:
    """The user of a valid bearer token, else of the cookie's live session, else None.

    A request that sends an ``Authorization`` header is judged by it alone: a wrong token
    never falls back to the cookie. ``_csrf`` comes first, so a forged request is refused
    before anything is looked up.
    """
    rt = runtime.current()
    # A read request must not write in its own transaction; a write request may.
    own = rt.sessions if request.method in SAFE_METHODS else None
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, raw = header.partition(" ")
        found = None
        if scheme.lower() == "bearer" and raw.strip():
            found = user_for_api_token(session, raw.strip(), rt.clock.now(), sessions=own)
        if found is None:
            raise NotAuthenticated("api.token_invalid")
        user, token = found
        if token.scope != TokenScope.WRITE.value and request.method not in SAFE_METHODS:
            raise ApiError(403, "token_read_only", reason="api.token_read_only")
        return acting_user(request, session, user, chosen=None, by_token=True)
    key = signed_in_key(request)
    if key is None:
        return None
    idle = timedelta(minutes=rt.settings.session_idle_minutes)
    live = signed_in(session, key, rt.clock.now(), idle=idle, sessions=own)
    if live is None:
        forget(request)
        return None
    return acting_user(request, session, live[0], chosen=live[1], by_token=False)


def acting_user(
    request: Request, session: Session, user: User, *, chosen: int | None, by_token: bool
) -> User:
    """The user as they act in the one organisation this request is for, never a guess.

    The ``X-Zielflow-Organisation`` header names it (any caller); else the organisation chosen
    with the switcher (browser session); else the home organisation — which a token of a user
    with several organisations may not assume: such a call must name one. A name the user
    holds no place in is refused like one that does not exist, so nobody learns which
    organisations there are. An archived organisation admits nobody.
    """
    named = request.headers.get(ORGANISATION_HEADER)
    if not by_token:
        # The pages' organisation switcher lists these (api/templating.py).
        request.state.zf_places = [p for p in places_of(session, user) if p.home or not p.archived]
    place: Place | None
    if named is not None:
        place = place_of(session, user, named.strip())
        if place is None:
            raise ApiError(403, "organisation_not_yours", reason="api.organisation_not_yours")
    elif chosen is not None and chosen != user.organisation_id:
        # A membership ended or archived since the choice: back home, never a stale place.
        place = place_by_id(session, user, chosen)
        if place is None or place.archived:
            place = places_of(session, user)[0]
    elif by_token:
        places = places_of(session, user)
        if len(places) > 1:
            raise ApiError(
                400,
                "organisation_required",
                reason="api.organisation_required",
                params={
                    "header": ORGANISATION_HEADER,
                    "choices": ", ".join(p.slug for p in places),
                },
            )
        place = places[0]
    else:
        return _admitted(session, user)
    if place.archived and not user.operator:
        raise WordedHTTPException(403, "api.organisation_archived")
    org = pinned_get(session, Organisation, place.organisation_id)
    if org is not None:
        # A copy: an error page renders after the rollback has expired the session's rows.
        columns = Organisation.__table__.columns
        request.state.zf_organisation = Organisation(
            **{c.key: getattr(org, c.key) for c in columns}
        )
    return acting_as(user, place)


def _admitted(session: Session, user: User) -> User:
    org = pinned_get(session, Organisation, user.organisation_id)
    if org is not None and org.archived_at is not None and not user.operator:
        raise WordedHTTPException(403, "api.organisation_archived")
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]


async def current_user(user: OptionalUser) -> User:
    if user is None:
        raise NotAuthenticated()
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def _words_of(session: Session, user: User | None) -> Words:
    org = organisation_of(session, user) if user is not None else None
    return words_by_language(org, LANGUAGES)


async def organisation_words(
    request: Request, user: OptionalUser, session: SessionDep
) -> AsyncIterator[None]:
    """The JSON routes word ``{unit}``, ``{council}`` … with the reader's organisation's words.

    Async on purpose: a sync dependency runs in a copied context, so a ContextVar it sets
    never reaches the route. Set here, in the request's own task, the words reach every later
    dependency and the route (whose worker thread copies this context); the error handlers
    run after the dependencies have ended and read them from ``request.state``.
    """
    org = None if user is None else already_pinned(session, Organisation, user.organisation_id)
    words: Words
    if user is None or org is not None:
        # The sign-in has loaded the organisation already: no query, so no worker thread.
        words = words_by_language(org, LANGUAGES)
    else:
        words = await run_in_threadpool(_words_of, session, user)
    setattr(request.state, WORDS_STATE, words)
    # Labels in the answers (not only errors) follow the reader's language too.
    with words_in_effect(words), reader_in_effect(reader_language(request)):
        yield


async def browser_only(request: Request) -> None:
    """For routes that manage credentials: an API token may not mint or manage tokens."""
    if request.headers.get("authorization") is not None:
        raise WordedHTTPException(403, "api.browser_only")


BrowserOnly = Depends(browser_only)


def require_role(*roles: Role) -> Any:
    """A dependency that lets only ``roles`` through (401 without login, 403 with another role)."""
    allowed = frozenset(r.value for r in roles)

    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise WordedHTTPException(403, "http.forbidden")
        return user

    check.zf_roles = allowed  # type: ignore[attr-defined]  # read by the route-policy test
    return Depends(check)


async def public_route() -> None:
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
    """The organisation the request acts for (``acting_user`` set the user's to it)."""
    org = pinned_get(session, Organisation, user.organisation_id)
    assert org is not None  # a user row cannot exist without its organisation (FK)
    return org


def today_of(org: Organisation) -> date:
    return calendar_of(org).local_date(runtime.current().clock.now())


def days_until(day: date, org: Organisation) -> int:
    return (day - today_of(org)) // timedelta(days=1)


async def require_operator(user: CurrentUser) -> User:
    """The platform operator: manages the installation's organisations (issue 15)."""
    if not user.operator:
        raise WordedHTTPException(403, "http.forbidden")
    return user


require_operator.zf_roles = frozenset({"operator"})  # type: ignore[attr-defined]
Operator = Annotated[User, Depends(require_operator)]
