"""The organisations a user works for, with a role in each; never commits.

A user's own row holds the home organisation and role; each ``Membership`` row adds one more
(a district officer who also coordinates a small town). A request acts for exactly one of
them, the one it names (api/deps.py); nothing here guesses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from workflow.accounts import HOME_ONLY, Membership, Role, User, note_memberships
from workflow.catalogue.models import Organisation
from workflow.db import pinned_get


@dataclass(frozen=True)
class Place:
    """One organisation of a user and the user's role there."""

    organisation_id: int
    slug: str
    name: str
    role: str
    home: bool
    archived: bool


class MembershipRefused(ValueError):
    """``code`` is a key of the errors catalogue (``membership.…``); ``str()`` is the code."""

    def __init__(self, rule: str, **params: str) -> None:
        self.code = f"membership.{rule}"
        super().__init__(self.code)
        self.params = params


def places_of(session: Session, user: User) -> list[Place]:
    """The home organisation first, then the others by name."""
    home = pinned_get(session, Organisation, user.organisation_id)
    assert home is not None  # the foreign key guarantees it
    if user.id in session.info.get(HOME_ONLY, ()):
        return [_place(home, user.role, home=True)]  # read with the user, this request
    rows = session.execute(
        select(Organisation, Membership.role)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .where(Membership.user_id == user.id, Organisation.id != home.id)
        .order_by(Organisation.name, Organisation.slug)
    ).all()
    return [_place(home, user.role, home=True)] + [
        _place(org, role, home=False) for org, role in rows
    ]


def place_of(session: Session, user: User, slug: str) -> Place | None:
    """The user's place in the organisation ``slug``; None if the user does not work there."""
    return next((p for p in places_of(session, user) if p.slug == slug), None)


def place_by_id(session: Session, user: User, organisation_id: int) -> Place | None:
    return next((p for p in places_of(session, user) if p.organisation_id == organisation_id), None)


def join(
    session: Session, *, user: User, organisation: Organisation, role: str, now: datetime
) -> None:
    """Adds ``organisation`` to the user's places, or changes the role held there."""
    if role not in {r.value for r in Role}:
        raise MembershipRefused("unknown_role", role=role)
    if organisation.id == user.organisation_id:
        raise MembershipRefused("home_organisation", organisation=organisation.slug)
    note_memberships(session, user.id, True)
    found = session.get(Membership, (user.id, organisation.id))
    if found is None:
        session.add(
            Membership(user_id=user.id, organisation_id=organisation.id, role=role, created_at=now)
        )
    else:
        found.role = role
    session.flush()


def leave(session: Session, *, user: User, organisation: Organisation) -> bool:
    """Removes a further organisation; the home organisation cannot be left this way."""
    result = session.execute(
        delete(Membership).where(
            Membership.user_id == user.id, Membership.organisation_id == organisation.id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def members_of(session: Session, organisation_id: int) -> list[tuple[User, str]]:
    """Users of other organisations who also work here, with their role here."""
    return [
        (u, role)
        for u, role in session.execute(
            select(User, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.organisation_id == organisation_id)
            .order_by(User.email)
        ).all()
    ]


def acting_as(user: User, place: Place) -> User:
    """A copy of ``user`` that acts in ``place``: its organisation and its role there.

    Never added to a session: the stored row keeps the home organisation and role, and a
    route that writes to an account loads it by id (``session.get``) as before.
    """
    if place.home:
        return user
    values = {c.key: getattr(user, c.key) for c in User.__table__.columns}
    values.update(organisation_id=place.organisation_id, role=place.role)
    return User(**values)


def _place(org: Organisation, role: str, *, home: bool) -> Place:
    return Place(
        organisation_id=org.id,
        slug=org.slug,
        name=org.name,
        role=role,
        home=home,
        archived=org.archived_at is not None,
    )
