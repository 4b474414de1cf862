"""Creating and changing bodies: name, kind, scope, digest setting, rules; never commits.

Everything is checked before anything is written, so a refusal (``BodyError`` with a code
and parameters) leaves no trace. Memberships are workflow/bodies/members.py's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from workflow.accounts import User
from workflow.bodies.checks import EMAIL, Unset, choice, text
from workflow.bodies.errors import BodyError
from workflow.bodies.members import UNSET, _user_for, add_member, end_membership, update_member
from workflow.bodies.models import (
    Body,
    BodyField,
    BodyKind,
    BodyMember,
    BodyScope,
    CompositionRule,
    DigestCadence,
    Represents,
)
from workflow.bodies.queries import field_ids_of, open_membership
from workflow.bodies.races import taken_means
from workflow.catalogue.models import Field

# Memberships are members.py's; re-exported so that one import sets up a body with people.
__all__ = [
    "UNSET",
    "add_member",
    "correct_member",
    "create_body",
    "end_membership",
    "update_body",
    "update_member",
]
MAX_MEETINGS_PER_YEAR = 52
MAX_RULE_MINIMUM = 99
# How often a body of each kind meets unless told otherwise (seeds 000-003).
MEETINGS_BY_KIND = {
    BodyKind.STEERING_GROUP: 2,
    BodyKind.ADVISORY_BOARD: 4,
    BodyKind.WORKING_GROUP: 4,
    BodyKind.INTEGRATION_COUNCIL: 4,
}


def _name_free(session: Session, organisation_id: int, name: str, body_id: int | None) -> None:
    clash = session.scalars(
        select(Body.id).where(
            Body.organisation_id == organisation_id, func.lower(Body.name) == name.lower()
        )
    ).first()
    if clash is not None and clash != body_id:
        raise BodyError("body_name_taken", name=name)


def _checked_fields(
    session: Session, organisation_id: int, scope: str, field_ids: Iterable[int]
) -> list[int]:
    """The fields a body of ``scope`` keeps: its own organisation's, and only for ``fields``."""
    wanted = sorted(set(field_ids))
    known = set(
        session.scalars(
            select(Field.id).where(Field.organisation_id == organisation_id, Field.id.in_(wanted))
        )
    )
    for field_id in wanted:
        if field_id not in known:
            raise BodyError("field_not_found", ref=str(field_id))
    if scope != BodyScope.SOME_FIELDS.value:
        return []
    if not wanted:
        raise BodyError("fields_required")
    return wanted


def _checked_rules(rules: Mapping[str, int]) -> dict[str, int]:
    for represents, minimum in rules.items():
        choice(represents, Represents, "unknown_represents")
        if not 1 <= minimum <= MAX_RULE_MINIMUM:
            raise BodyError("rule_minimum_out_of_range", value=str(minimum))
    return dict(rules)


def _meetings(value: int) -> int:
    if not 0 <= value <= MAX_MEETINGS_PER_YEAR:
        raise BodyError("meetings_out_of_range", value=str(value))
    return value


def _write_fields(session: Session, body: Body, field_ids: list[int]) -> None:
    session.execute(delete(BodyField).where(BodyField.body_id == body.id))
    session.add_all(BodyField(body_id=body.id, field_id=f) for f in field_ids)


def _write_rules(session: Session, body: Body, rules: dict[str, int]) -> None:
    session.execute(delete(CompositionRule).where(CompositionRule.body_id == body.id))
    session.add_all(
        CompositionRule(body_id=body.id, represents=r, minimum=n) for r, n in rules.items()
    )


def create_body(
    *,
    session: Session,
    organisation_id: int,
    name: str,
    kind: str,
    scope: str = BodyScope.ALL_FIELDS.value,
    field_ids: Iterable[int] = (),
    digest_cadence: str | None = None,
    meetings_per_year: int | None = None,
    rules: Mapping[str, int] | None = None,
) -> Body:
    """A new body; without a cadence a Steuerungsgruppe gets weekly digests, others monthly.

    Everything is checked before anything is written, so a refusal leaves no trace.
    """
    name = text(name, "body_name_invalid")
    kind = choice(kind, BodyKind, "unknown_kind")
    _name_free(session, organisation_id, name, None)
    if digest_cadence is None:
        steering = kind == BodyKind.STEERING_GROUP.value
        digest_cadence = (DigestCadence.WEEKLY if steering else DigestCadence.MONTHLY).value
    if meetings_per_year is None:
        meetings_per_year = MEETINGS_BY_KIND.get(BodyKind(kind), 2)
    scope = choice(scope, BodyScope, "unknown_scope")
    body = Body(
        organisation_id=organisation_id,
        name=name,
        kind=kind,
        scope=scope,
        digest_cadence=choice(digest_cadence, DigestCadence, "unknown_cadence"),
        meetings_per_year=_meetings(meetings_per_year),
    )
    fields = _checked_fields(session, organisation_id, scope, field_ids)
    checked_rules = _checked_rules(rules or {})
    with taken_means(session, "body_name_taken", name=name):
        session.add(body)
        session.flush()
    _write_fields(session, body, fields)
    _write_rules(session, body, checked_rules)
    session.flush()
    return body


def update_body(
    *,
    session: Session,
    body: Body,
    name: str | None = None,
    kind: str | None = None,
    scope: str | None = None,
    field_ids: Iterable[int] | None = None,
    digest_cadence: str | None = None,
    meetings_per_year: int | None = None,
    rules: Mapping[str, int] | None = None,
) -> Body:
    """Changes what is given; a scope other than ``fields`` forgets the listed fields.

    Everything is checked before anything is changed, so a refusal leaves the body as it was.
    """
    if name is not None:
        name = text(name, "body_name_invalid")
        _name_free(session, body.organisation_id, name, body.id)
    new_kind = choice(kind, BodyKind, "unknown_kind") if kind is not None else body.kind
    cadence = digest_cadence if digest_cadence is not None else body.digest_cadence
    cadence = choice(cadence, DigestCadence, "unknown_cadence")
    meetings = _meetings(
        meetings_per_year if meetings_per_year is not None else body.meetings_per_year
    )
    new_scope = choice(scope, BodyScope, "unknown_scope") if scope is not None else body.scope
    fields: list[int] | None = None
    if scope is not None or field_ids is not None:
        ids = field_ids if field_ids is not None else field_ids_of(session, body_id=body.id)
        fields = _checked_fields(session, body.organisation_id, new_scope, ids)
    checked_rules = _checked_rules(rules) if rules is not None else None
    if name is not None:
        body.name = name
    body.kind, body.digest_cadence, body.meetings_per_year = new_kind, cadence, meetings
    body.scope = new_scope
    if fields is not None:
        _write_fields(session, body, fields)
    if checked_rules is not None:
        _write_rules(session, body, checked_rules)
    session.flush()
    return body


def _new_address(session: Session, body: Body, member: BodyMember, email: str) -> str:
    """``email`` as stored, checked like a new member's and free among the open memberships."""
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > 320:
        raise BodyError("member_email_invalid", value=email[:320])
    holder = open_membership(session, body=body, email=email)
    if holder is not None and holder.id != member.id:
        raise BodyError("member_already_current", email=email, body=body.name)
    return email


def _account_after_move(session: Session, body: Body, member: BodyMember, email: str) -> int | None:
    """The account the membership keeps when its address changes.

    An account linked because it had the old address follows the address (it was linked for
    the typo); one linked on purpose to another address stays.
    """
    linked = session.get(User, member.user_id) if member.user_id is not None else None
    if linked is not None and linked.email.lower() != member.email:
        return linked.id
    return _user_for(session, body, email, None)


def correct_member(
    *,
    session: Session,
    body: Body,
    member: BodyMember,
    email: str | None = None,
    name: str | None = None,
    language: str | None = None,
    salutation: str | None = None,
    represents: str | Unset | None = UNSET,
    represents_name: str | None = None,
    role: str | None = None,
    deputy_of: str | int | Unset | None = UNSET,
) -> BodyMember:
    """``update_member`` plus a corrected address (a typo, a person's new address).

    The address names the person, not the membership's history, so the row and its dates
    stay; digests go to the new address from now on. A refusal may leave half a change in
    the session: callers roll back (a nested transaction or the unit of work).
    """
    update_member(
        session=session,
        body=body,
        member=member,
        name=name,
        language=language,
        salutation=salutation,
        represents=represents,
        represents_name=represents_name,
        role=role,
        deputy_of=deputy_of,
    )
    if email is None:
        return member
    address = _new_address(session, body, member, email)
    if address != member.email:
        member.user_id = _account_after_move(session, body, member, address)
        member.email = address
        with taken_means(session, "member_already_current", email=address, body=body.name):
            session.flush()
    return member
