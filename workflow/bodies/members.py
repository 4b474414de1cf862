"""Memberships of bodies: add, correct, end; checks every rule, never commits.

A membership is never deleted: ``end_membership`` sets ``left_on`` and the row stays, so the
body's history can be shown. A person who returns gets a new row. Refusals are ``BodyError``
with a code and parameters.

A member of a district's body may speak for one town of that district (issue 15): named by
its short name, only a town whose parent is the body's organisation. "The smaller
municipalities" stay a member with ``represents`` "town" and a name but no organisation.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.accounts import User
from workflow.bodies.checks import EMAIL, LANGUAGES, UNSET, Unset, choice, salutation_of, text
from workflow.bodies.errors import BodyError
from workflow.bodies.models import Body, BodyMember, MemberRole, Represents
from workflow.bodies.queries import open_membership
from workflow.bodies.races import taken_means
from workflow.catalogue.models import Organisation, OrganisationKind


def _user_for(session: Session, body: Body, email: str, user_id: int | None) -> int | None:
    """The account to link: the one named, else the organisation's account of this address."""
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None or user.organisation_id != body.organisation_id:
            raise BodyError("user_not_found", ref=str(user_id))
        return user.id
    return session.scalars(
        select(User.id).where(
            User.organisation_id == body.organisation_id, func.lower(User.email) == email
        )
    ).first()


def _deputy_target(
    session: Session, body: Body, role: str, deputy_of: str | int | None, own_id: int | None
) -> int | None:
    """Whom a member with ``role`` stands in for: only a deputy, only for a current member of
    the same body who is not a deputy themselves (named by email or member id)."""
    if role != MemberRole.DEPUTY.value:
        if deputy_of not in (None, ""):
            raise BodyError("deputy_of_without_deputy_role")
        return None
    if deputy_of in (None, ""):
        raise BodyError("deputy_needs_member")
    if isinstance(deputy_of, int):
        principal = session.get(BodyMember, deputy_of)
        if principal is not None and (principal.body_id != body.id or principal.left_on):
            principal = None
    else:
        principal = open_membership(session, body=body, email=deputy_of)
    if principal is None:
        raise BodyError("deputy_of_not_found", ref=str(deputy_of), body=body.name)
    if principal.id == own_id:
        raise BodyError("deputy_of_self")
    if principal.role == MemberRole.DEPUTY.value:
        raise BodyError("deputy_of_deputy", name=principal.name)
    return principal.id


def _town(session: Session, body: Body, slug: str) -> Organisation:
    """The town ``slug`` of the district that owns ``body``; refused for anything else."""
    district = session.get(Organisation, body.organisation_id)
    if district is None or district.kind != OrganisationKind.DISTRICT.value:
        raise BodyError("town_needs_district_body", body=body.name)
    town = session.scalars(select(Organisation).where(Organisation.slug == slug)).first()
    # Another district's town and an unknown slug answer alike: nothing about others leaks.
    if town is None or town.parent_id != district.id or town.kind != OrganisationKind.TOWN.value:
        raise BodyError("town_not_in_district", town=slug[:60], district=district.name)
    if town.archived_at is not None:
        raise BodyError("town_archived", town=town.name)
    return town


def set_represented_town(
    *, session: Session, body: Body, member: BodyMember, town: str | None
) -> BodyMember:
    """The town ``member`` speaks for (its short name), or none; never commits.

    Setting one fills ``represents`` ("town") and ``represents_name`` (the town's name) where
    they are empty or still name the previous town; a member who represents another group
    cannot speak for a town. Clearing keeps ``represents`` and the name, so the member stays
    e.g. the voice of the smaller municipalities.
    """
    slug = (town or "").strip()
    if not slug:
        member.represents_organisation_id = None
        session.flush()
        return member
    found = _town(session, body, slug)
    if member.represents not in (None, Represents.TOWN.value):
        raise BodyError("town_needs_represents_town", town=found.name)
    previous = (
        session.get(Organisation, member.represents_organisation_id)
        if member.represents_organisation_id
        else None
    )
    if not member.represents_name or (previous and member.represents_name == previous.name):
        member.represents_name = found.name
    member.represents = Represents.TOWN.value
    member.represents_organisation_id = found.id
    session.flush()
    return member


def represented_town_slug(session: Session, member: BodyMember) -> str | None:
    """The short name of the town ``member`` speaks for, if any (for forms and answers)."""
    if member.represents_organisation_id is None:
        return None
    town = session.get(Organisation, member.represents_organisation_id)
    return town.slug if town else None


def add_member(
    *,
    session: Session,
    body: Body,
    name: str,
    email: str,
    today: date,
    language: str = "de",
    salutation: str = "",
    represents: str | None = None,
    represents_name: str = "",
    role: str = MemberRole.MEMBER.value,
    deputy_of: str | int | None = None,
    user_id: int | None = None,
    joined_on: date | Unset | None = UNSET,
    represents_town: str | None = None,
) -> BodyMember:
    """A new membership from ``joined_on`` (not given: today; None: not known); ``deputy_of``
    is the principal's email or member id; ``salutation`` as entered ("Frau", "herr", "");
    ``represents_town`` the short name of the district's town the member speaks for.

    An account of the organisation with the same address is linked unless ``user_id`` names one.
    """
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > 320:
        raise BodyError("member_email_invalid", value=email[:320])
    name = text(name, "member_name_invalid")
    if language not in LANGUAGES:
        raise BodyError("unknown_language", value=language, allowed=", ".join(LANGUAGES))
    if represents is not None:
        choice(represents, Represents, "unknown_represents")
    role = choice(role, MemberRole, "unknown_role")
    if open_membership(session, body=body, email=email) is not None:
        raise BodyError("member_already_current", email=email, body=body.name)
    member = BodyMember(
        body_id=body.id,
        name=name,
        email=email,
        language=language,
        salutation=salutation_of(salutation),
        represents=represents,
        represents_name=text(represents_name, "represents_name_invalid", required=False),
        role=role,
        deputy_of_id=_deputy_target(session, body, role, deputy_of, None),
        user_id=_user_for(session, body, email, user_id),
        joined_on=today if joined_on is UNSET else joined_on,
    )
    with taken_means(session, "member_already_current", email=email, body=body.name):
        session.add(member)
        session.flush()
    if represents_town:
        set_represented_town(session=session, body=body, member=member, town=represents_town)
    return member


def update_member(
    *,
    session: Session,
    body: Body,
    member: BodyMember,
    name: str | None = None,
    language: str | None = None,
    salutation: str | None = None,
    represents: str | Unset | None = UNSET,
    represents_name: str | None = None,
    role: str | None = None,
    deputy_of: str | int | Unset | None = UNSET,
    user_id: int | Unset | None = UNSET,
    represents_town: str | Unset | None = UNSET,
) -> BodyMember:
    """Corrects a membership; the address and the dates are its identity and history.

    ``represents_town``: a town's short name, None to clear; a member who now represents
    another group than a town no longer speaks for one.
    """
    if member.left_on is not None:
        raise BodyError("member_already_ended", email=member.email, on=member.left_on.isoformat())
    if name is not None:
        member.name = text(name, "member_name_invalid")
    if language is not None:
        if language not in LANGUAGES:
            raise BodyError("unknown_language", value=language, allowed=", ".join(LANGUAGES))
        member.language = language
    if salutation is not None:
        member.salutation = salutation_of(salutation)
    if represents is not UNSET:
        if represents is not None:
            choice(represents, Represents, "unknown_represents")
        member.represents = represents
        if represents != Represents.TOWN.value:
            member.represents_organisation_id = None
    if represents_name is not None:
        member.represents_name = text(represents_name, "represents_name_invalid", required=False)
    if role is not None or deputy_of is not UNSET:
        new_role = choice(role, MemberRole, "unknown_role") if role is not None else member.role
        target: str | int | None
        if deputy_of is UNSET:  # kept for a deputy, dropped with the role
            target = member.deputy_of_id if new_role == MemberRole.DEPUTY.value else None
        else:
            target = deputy_of
        member.deputy_of_id = _deputy_target(session, body, new_role, target, member.id)
        member.role = new_role
    if user_id is not UNSET:
        linked = None if user_id is None else _user_for(session, body, member.email, user_id)
        member.user_id = linked
    if represents_town is not UNSET:
        set_represented_town(session=session, body=body, member=member, town=represents_town)
    session.flush()
    return member


def end_membership(*, session: Session, member: BodyMember, on: date) -> BodyMember:
    """Ends a membership on ``on`` (from that day on, no longer a member); the row stays."""
    if member.left_on is not None:
        raise BodyError("member_already_ended", email=member.email, on=member.left_on.isoformat())
    if member.joined_on is not None and on < member.joined_on:
        raise BodyError("end_before_join", on=on.isoformat(), joined=member.joined_on.isoformat())
    member.left_on = on
    session.flush()
    return member
