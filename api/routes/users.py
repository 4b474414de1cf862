"""JSON routes of accounts: who am I and my tokens (everyone signed in), list, create and
deactivate the organisation's accounts (admins).

Creating an account never tells whether an address belongs to another organisation: such an
address gets the same answer as a new one (202, the request echoed) and nothing changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from api.deps import Admin, Reader, SessionDep, organisation_of
from api.errors import ApiError
from api.routes.schemas import ERRORS, UserIn, UserOut
from workflow import runtime
from workflow.accounts import AccountRefused, ApiToken, Role, User, add_or_update_user
from workflow.memberships import members_of, places_of
from workflow.sessions import deactivate_user

router = APIRouter(prefix="/api/v1", tags=["accounts"], responses=ERRORS)
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class UserAccepted(BaseModel):
    """The request as accepted; the account's id is in ``GET /api/v1/users``."""

    email: str
    name: str
    role: str


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class PlaceOut(BaseModel):
    """An organisation the account works for, to be named in ``X-Zielflow-Organisation``."""

    slug: str
    name: str
    role: str
    home: bool


class MeOut(UserOut):
    organisation: str  # the organisation this request acted for
    organisations: list[PlaceOut]


@router.get("/me", response_model=MeOut, summary="Das eigene Konto und seine Organisationen")
def me(user: Reader, session: SessionDep) -> MeOut:
    stored = session.get(User, user.id)
    assert stored is not None  # the request's own account
    acting = organisation_of(session, user)
    return MeOut(
        **UserOut.model_validate(user).model_dump(),
        organisation=acting.slug,
        organisations=[
            PlaceOut(slug=p.slug, name=p.name, role=p.role, home=p.home)
            for p in places_of(session, stored)
            if p.home or not p.archived
        ],
    )


@router.get(
    "/tokens",
    response_model=list[TokenOut],
    summary="Die eigenen Zugangsschlüssel mit Recht und Ablaufdatum (anlegen nur auf /konto)",
)
def my_tokens(user: Reader, session: SessionDep) -> list[TokenOut]:
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
    )
    return [TokenOut.model_validate(t) for t in rows]


@router.get("/users", response_model=list[UserOut], summary="Alle Konten der Organisation")
def list_users(user: Admin, session: SessionDep) -> list[UserOut]:
    rows = session.scalars(
        select(User).where(User.organisation_id == user.organisation_id).order_by(User.email)
    )
    own = [UserOut.model_validate(u) for u in rows]
    # Accounts of other organisations who also work here, with their role here.
    guests = [
        UserOut.model_validate(u).model_copy(update={"role": role})
        for u, role in members_of(session, user.organisation_id)
    ]
    return sorted(own + guests, key=lambda u: u.email)


@router.post(
    "/users",
    response_model=UserAccepted,
    status_code=202,
    summary="Konto anlegen",
    description="Legt das Konto an, wenn die Adresse frei ist. Eine Adresse, die ein Konto "
    "einer anderen Organisation hat, bekommt dieselbe Antwort; dort ändert sich nichts.",
)
def create_user(body: UserIn, user: Admin, session: SessionDep) -> UserAccepted:
    email = body.email.lower()
    existing = session.scalars(select(User).where(User.email == email)).first()
    if existing is not None and existing.organisation_id == user.organisation_id:
        raise ApiError(409, "duplicate", reason="api.duplicate.account")
    try:
        add_or_update_user(
            session=session,
            organisation_id=user.organisation_id,
            email=email,
            role=Role(body.role),
            password=body.password,
            now=runtime.current().clock.now(),
            name=body.name,
        )
    except AccountRefused as exc:
        if exc.code != "other_organisation":
            raise ApiError(422, "validation_error", reason="api.email_invalid") from None
    return UserAccepted(email=email, name=body.name, role=body.role)


@router.post(
    "/users/{user_id}/deactivate",
    response_model=UserOut,
    summary="Konto deaktivieren: Sitzungen, Zugangsschlüssel und Links zum Zurücksetzen enden",
)
def deactivate(user_id: UserId, user: Admin, session: SessionDep) -> UserOut:
    try:
        target = deactivate_user(
            session,
            organisation_id=user.organisation_id,
            user_id=user_id,
            by_user_id=user.id,
            now=runtime.current().clock.now(),
        )
    except AccountRefused as exc:
        if exc.code == "own_account":
            raise ApiError(409, "own_account", reason="api.own_account") from None
        raise ApiError(404, "not_found", reason="http.not_found") from None
    return UserOut.model_validate(target)
