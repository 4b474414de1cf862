"""``POST /organisation/wechseln``: the switcher of a user who works for several organisations.

The choice is kept in the server-side session (``user_session.organisation_id``), so every
later page acts for the organisation chosen here and for no other; the API names its
organisation in a header instead (api/deps.py ``acting_user``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from api.dashboard.common import flash, redirect
from api.deps import BrowserOnly, NotAuthenticated, Reader, SessionDep
from api.errors import WordedHTTPException
from api.session_cookie import signed_in_key
from workflow.accounts import User
from workflow.memberships import place_of
from workflow.sessions import choose_organisation

router = APIRouter(include_in_schema=False)


@router.post("/organisation/wechseln", dependencies=[BrowserOnly])
def switch_organisation(
    request: Request,
    user: Reader,
    session: SessionDep,
    organisation: Annotated[str, Form(max_length=64)] = "",
) -> RedirectResponse:
    key = signed_in_key(request)
    if key is None:
        raise NotAuthenticated()
    if not organisation.strip():
        raise WordedHTTPException(422, "api.organisation_missing")
    # The stored account, not the copy acting in the current organisation.
    stored = session.get(User, user.id)
    place = place_of(session, stored, organisation.strip()) if stored else None
    if place is None or place.archived:
        # A choice the form could not have offered: refused as input, like an empty one.
        raise WordedHTTPException(422, "api.organisation_not_yours")
    choose_organisation(
        session, raw=key, organisation_id=None if place.home else place.organisation_id
    )
    flash(request, "switcher.switched")
    return redirect("/")
