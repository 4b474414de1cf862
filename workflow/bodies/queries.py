"""Reads about bodies: find one by name or id, its members on a day, its scope and rules.

Never writes; every lookup is confined to one organisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from workflow.bodies.composition import Shortfall, shortfalls
from workflow.bodies.errors import BodyError
from workflow.bodies.models import Body, BodyField, BodyMember, CompositionRule


def bodies_of(session: Session, *, organisation_id: int) -> Sequence[Body]:
    return session.scalars(
        select(Body).where(Body.organisation_id == organisation_id).order_by(Body.name)
    ).all()


def get_body(session: Session, *, organisation_id: int, body_id: int) -> Body:
    """The body with this id, if it belongs to the organisation; else ``body_not_found``."""
    body = session.get(Body, body_id)
    if body is None or body.organisation_id != organisation_id:
        raise BodyError("body_not_found", ref=str(body_id))
    return body


def find_body(session: Session, *, organisation_id: int, ref: str) -> Body:
    """A body by its name (case-insensitive) or, failing that, by its id."""
    ref = ref.strip()
    body = session.scalars(
        select(Body).where(
            Body.organisation_id == organisation_id, func.lower(Body.name) == ref.lower()
        )
    ).first()
    if body is not None:
        return body
    if ref.isdigit() and len(ref) < 10:
        return get_body(session, organisation_id=organisation_id, body_id=int(ref))
    raise BodyError("body_not_found", ref=ref)


def is_current_clause(day: date) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The SQL form of ``BodyMember.is_current``: joined by ``day`` and not yet left."""
    return (
        or_(BodyMember.joined_on.is_(None), BodyMember.joined_on <= day),
        or_(BodyMember.left_on.is_(None), BodyMember.left_on > day),
    )


def current_members(session: Session, *, body_id: int, day: date) -> Sequence[BodyMember]:
    """Who is a member on ``day``, in the order they were entered."""
    return session.scalars(
        select(BodyMember)
        .where(BodyMember.body_id == body_id, *is_current_clause(day))
        .order_by(BodyMember.id)
    ).all()


def all_members(session: Session, *, body_id: int) -> Sequence[BodyMember]:
    """Every membership the body ever had, current and ended, in the order entered."""
    return session.scalars(
        select(BodyMember).where(BodyMember.body_id == body_id).order_by(BodyMember.id)
    ).all()


def member_of(session: Session, *, body: Body, member_id: int) -> BodyMember:
    member = session.get(BodyMember, member_id)
    if member is None or member.body_id != body.id:
        raise BodyError("member_not_found", ref=str(member_id), body=body.name)
    return member


def open_membership(session: Session, *, body: Body, email: str) -> BodyMember | None:
    """The not yet ended membership of this address, if any (at most one exists)."""
    return session.scalars(
        select(BodyMember).where(
            BodyMember.body_id == body.id,
            func.lower(BodyMember.email) == email.strip().lower(),
            BodyMember.left_on.is_(None),
        )
    ).first()


def field_ids_of(session: Session, *, body_id: int) -> list[int]:
    return list(
        session.scalars(
            select(BodyField.field_id)
            .where(BodyField.body_id == body_id)
            .order_by(BodyField.field_id)
        )
    )


def rules_of(session: Session, *, body_id: int) -> dict[str, int]:
    """Composition rules as {represents: minimum}."""
    rows = session.execute(
        select(CompositionRule.represents, CompositionRule.minimum)
        .where(CompositionRule.body_id == body_id)
        .order_by(CompositionRule.id)
    ).all()
    return {r.represents: r.minimum for r in rows}


@dataclass(frozen=True)
class BodySummary:
    """A body as its page and the API show it on ``day``."""

    body: Body
    current: list[BodyMember]
    upcoming: list[BodyMember]  # entered with a start after ``day``
    former: list[BodyMember]  # ended on or before ``day``
    field_ids: list[int]
    rules: dict[str, int]
    shortfalls: list[Shortfall]
    unstated: int  # current members whose representation is not stated


def summary(session: Session, *, body: Body, day: date) -> BodySummary:
    members = all_members(session, body_id=body.id)
    current = [m for m in members if m.is_current(day)]
    former = [m for m in members if m.left_on is not None and m.left_on <= day]
    rules = rules_of(session, body_id=body.id)
    return BodySummary(
        body=body,
        current=current,
        upcoming=[m for m in members if m.joined_on and m.joined_on > day and m not in former],
        former=former,
        field_ids=field_ids_of(session, body_id=body.id),
        rules=rules,
        shortfalls=shortfalls(rules, current),
        unstated=sum(1 for m in current if m.represents is None),
    )
