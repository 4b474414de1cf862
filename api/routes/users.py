"""JSON routes of accounts: who am I (everyone signed in), list and create accounts (admins)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import Admin, Reader, SessionDep
from api.errors import ApiError
from api.routes.schemas import ERRORS, UserIn, UserOut
from workflow import runtime
from workflow.accounts import Role, User, add_or_update_user

router = APIRouter(prefix="/api/v1", tags=["accounts"], responses=ERRORS)


@router.get("/me", response_model=UserOut, summary="Das eigene Konto")
def me(user: Reader) -> UserOut:
    return UserOut.model_validate(user)


@router.get("/users", response_model=list[UserOut], summary="Alle Konten der Organisation")
def list_users(user: Admin, session: SessionDep) -> list[UserOut]:
    rows = session.scalars(
        select(User).where(User.organisation_id == user.organisation_id).order_by(User.email)
    )
    return [UserOut.model_validate(u) for u in rows]


@router.post("/users", response_model=UserOut, status_code=201, summary="Konto anlegen")
def create_user(body: UserIn, user: Admin, session: SessionDep) -> UserOut:
    email = body.email.lower()
    existing = session.scalars(select(User).where(User.email == email)).first()
    if existing is not None:
        raise ApiError(409, "duplicate", "Ein Konto mit dieser E-Mail-Adresse gibt es schon.")
    created = add_or_update_user(
        session=session,
        organisation_id=user.organisation_id,
        email=email,
        role=Role(body.role),
        password=body.password,
        now=runtime.current().clock.now(),
        name=body.name,
    )
    return UserOut.model_validate(created)
