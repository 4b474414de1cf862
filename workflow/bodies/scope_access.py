"""Whose bodies a user sits in, which fields a body's scope covers, and who may ask about a measure.

A steering account sees and asks through its current memberships: a body of scope ``all``
covers every field, one of scope ``fields`` its listed fields, one of scope ``indicators``
no measure at all. Coordinators and admins may ask about any measure of their organisation.
Reads only, and only within the user's own organisation; never decides what a page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.accounts import Role, User
from workflow.bodies.models import Body, BodyMember, BodyScope
from workflow.bodies.queries import field_ids_of, is_current_clause

ACTING_ROLES = frozenset({Role.COORDINATOR.value, Role.ADMIN.value})


@dataclass(frozen=True)
class Seat:
    """One current membership of the user: the body and the member row it holds there."""

    body: Body
    member: BodyMember
    # None: every field (scope ``all``); an empty set: no measure (scope ``indicators``).
    field_ids: frozenset[int] | None

    def covers(self, field_id: int) -> bool:
        return self.field_ids is None or field_id in self.field_ids


def covered_fields(session: Session, body: Body) -> frozenset[int] | None:
    """The fields whose measures the body watches; None means all of them."""
    if body.scope == BodyScope.ALL_FIELDS.value:
        return None
    if body.scope == BodyScope.SOME_FIELDS.value:
        return frozenset(field_ids_of(session, body_id=body.id))
    return frozenset()


def seats_of(session: Session, *, user: User, day: date) -> list[Seat]:
    """The user's current memberships on ``day``, one per body, bodies by name."""
    rows = session.execute(
        select(Body, BodyMember)
        .join(BodyMember, BodyMember.body_id == Body.id)
        .where(
            BodyMember.user_id == user.id,
            Body.organisation_id == user.organisation_id,
            *is_current_clause(day),
        )
        .order_by(Body.name, Body.id, BodyMember.id)
    ).all()
    seats: dict[int, Seat] = {}
    for body, member in rows:
        if body.id not in seats:
            seats[body.id] = Seat(body, member, covered_fields(session, body))
    return list(seats.values())


def asking_seat(session: Session, *, user: User, field_id: int, day: date) -> Seat | None:
    """The first of the user's bodies (by name) whose scope covers the field, if any."""
    return next((s for s in seats_of(session, user=user, day=day) if s.covers(field_id)), None)


def may_ask(session: Session, *, user: User, field_id: int, day: date) -> bool:
    """Whether the user may ask for the status of a measure of this field."""
    if user.role in ACTING_ROLES:
        return True
    return asking_seat(session, user=user, field_id=field_id, day=day) is not None
