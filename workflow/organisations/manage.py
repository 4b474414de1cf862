"""The operator's changes to the installation's organisations: create, rename, move, archive.

Rules: only a town has a parent, and it must have one: an active district. A district and a
city stand alone. An archived organisation keeps its data but sends nothing and admits
nobody; a district with active towns is not archived (archive or move its towns first, so no
town is left steered by an archived district), and a town is not reactivated under an
archived district. Creating goes through workflow/org_registry.py (``zielflow org add``).

Refusals raise ``OrganisationRefused`` (code and parameters); the sentences are the keys
``organisation.<code>`` of workflow/locales/errors.*.json; a refusal comes before any change,
so a caller may go on using the session (the page shows the form again). Every change writes one
organisation-level ``audit_event`` row (no measure cycle). Never commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session, aliased

from workflow.accounts import Membership, User, user_by_email
from workflow.catalogue.models import Organisation, OrganisationKind
from workflow.cycles.models import AuditEvent
from workflow.org_registry import KINDS, OrganisationRefused, add_organisation
from workflow.organisation_settings import LIMITS
from workflow.organisations.active import ACTIVE, active_organisation_ids, of_active_organisation

__all__ = [
    "ACTIVE",
    "KINDS",
    "OrganisationRefused",
    "Overview",
    "active_organisation_ids",
    "archive_organisation",
    "create_organisation",
    "find_organisation",
    "move_organisation",
    "of_active_organisation",
    "overview",
    "rename_organisation",
    "set_operator",
    "unarchive_organisation",
]

TOWN = OrganisationKind.TOWN.value
DISTRICT = OrganisationKind.DISTRICT.value
NAME_LIMIT = LIMITS["name"]
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ufffe\uffff]")


@dataclass(frozen=True)
class Overview:
    slug: str
    name: str
    kind: str
    parent_slug: str  # "" without a district
    state: str  # the Land, e.g. "NW"
    archived_at: datetime | None
    users: int  # active accounts at home here plus memberships


def overview(session: Session, *, only: str = "") -> list[Overview]:
    """Every organisation (or the one named ``only``), each district followed by its towns,
    with its number of users."""
    parent = aliased(Organisation)
    query = select(Organisation, parent.slug).outerjoin(parent, parent.id == Organisation.parent_id)
    if only:
        query = query.where(Organisation.slug == only)
    rows = session.execute(query).all()
    users = _user_counts(session, [o.id for o, _ in rows])
    listed = [
        Overview(o.slug, o.name, o.kind, p or "", o.state, o.archived_at, users.get(o.id, 0))
        for o, p in rows
    ]
    # Same order as ``zielflow org list``: a district, then its towns, by short name.
    return sorted(listed, key=lambda o: (o.parent_slug or o.slug, o.parent_slug != "", o.slug))


def _user_counts(session: Session, org_ids: list[int]) -> dict[int, int]:
    home = select(User.organisation_id.label("org_id"), User.id.label("user_id")).where(
        User.active.is_(True), User.organisation_id.in_(org_ids)
    )
    further = (
        select(Membership.organisation_id.label("org_id"), Membership.user_id.label("user_id"))
        .join(User, User.id == Membership.user_id)
        .where(User.active.is_(True), Membership.organisation_id.in_(org_ids))
    )
    both = union(home, further).subquery()  # UNION drops a membership of one's home
    counted = session.execute(
        select(both.c.org_id, func.count(both.c.user_id)).group_by(both.c.org_id)
    ).all()
    return {org_id: n for org_id, n in counted}


def create_organisation(
    session: Session,
    *,
    slug: str,
    name: str,
    kind: str,
    parent_slug: str = "",
    state: str,
    timezone: str,
    actor: str,
    now: datetime,
) -> Organisation:
    name = _checked_name(name)
    parent_slug = parent_slug.strip()
    if kind == TOWN and not parent_slug:
        raise OrganisationRefused("town_needs_parent")
    if parent_slug and kind == TOWN:
        _active_parent(_by_slug(session, parent_slug, code="parent_unknown"))
    org = add_organisation(
        session, slug=slug, name=name, kind=kind, parent_slug=parent_slug,
        state=state, timezone=timezone,
    )  # fmt: skip
    _audit(session, org, "organisation_created", actor, now, kind=kind, parent=parent_slug)
    return org


def rename_organisation(
    session: Session, *, slug: str, name: str, actor: str, now: datetime
) -> Organisation:
    org = _by_slug(session, slug)
    before, org.name = org.name, _checked_name(name)
    if org.name != before:
        _audit(session, org, "organisation_renamed", actor, now, before=before, after=org.name)
    return org


def move_organisation(
    session: Session, *, slug: str, parent_slug: str, actor: str, now: datetime
) -> Organisation:
    """Give a town another district; ``parent_slug`` "" takes a city's or district's away."""
    org = _by_slug(session, slug)
    parent = _new_parent(session, org, parent_slug.strip())
    before = _slug_of(session, org.parent_id)
    org.parent_id = parent.id if parent else None
    after = parent.slug if parent else ""
    if after != before:
        _audit(session, org, "organisation_moved", actor, now, before=before, after=after)
    return org


def archive_organisation(session: Session, *, slug: str, actor: str, now: datetime) -> Organisation:
    org = _by_slug(session, slug)
    if org.archived_at is not None:
        raise OrganisationRefused("already_archived", slug=org.slug)
    active_towns = session.scalars(
        select(Organisation.slug)
        .where(Organisation.parent_id == org.id, ACTIVE)
        .order_by(Organisation.slug)
    ).all()
    if active_towns:
        raise OrganisationRefused(
            "district_has_towns", slug=org.slug, count=len(active_towns),
            towns=", ".join(active_towns),
        )  # fmt: skip
    org.archived_at = now
    _audit(session, org, "organisation_archived", actor, now)
    return org


def unarchive_organisation(
    session: Session, *, slug: str, actor: str, now: datetime
) -> Organisation:
    org = _by_slug(session, slug)
    if org.archived_at is None:
        raise OrganisationRefused("not_archived", slug=org.slug)
    if org.parent_id is not None:
        parent = session.get(Organisation, org.parent_id)
        assert parent is not None  # foreign key
        _active_parent(parent)
    org.archived_at = None
    _audit(session, org, "organisation_unarchived", actor, now)
    return org


def set_operator(
    session: Session, *, email: str, operator: bool, actor: str, now: datetime
) -> User | None:
    """Give or take operator rights; None if no account has the address. Audited in the
    account's home organisation when something changes."""
    user = user_by_email(session, email)
    if user is None:
        return None
    if user.operator != operator:
        user.operator = operator
        home = session.get(Organisation, user.organisation_id)
        assert home is not None  # foreign key
        event = "operator_granted" if operator else "operator_revoked"
        _audit(session, home, event, actor, now, user_id=user.id)
    return user


def _checked_name(raw: str) -> str:
    if _CONTROL.search(raw.replace("\n", " ").replace("\t", " ").replace("\r", " ")):
        raise OrganisationRefused("name_control_character")
    name = " ".join(raw.split())
    if not name:
        raise OrganisationRefused("name_missing")
    if len(name) > NAME_LIMIT:
        raise OrganisationRefused("name_too_long", limit=NAME_LIMIT, length=len(name))
    return name


def find_organisation(session: Session, slug: str) -> Organisation:
    """The organisation of the short name ``slug``; refused with ``unknown`` if none."""
    return _by_slug(session, slug)


def _by_slug(session: Session, slug: str, *, code: str = "unknown") -> Organisation:
    slug = slug.strip()
    org = session.scalars(select(Organisation).where(Organisation.slug == slug)).first()
    if org is None:
        raise OrganisationRefused(code, slug=slug)
    return org


def _slug_of(session: Session, org_id: int | None) -> str:
    if org_id is None:
        return ""
    return session.scalars(select(Organisation.slug).where(Organisation.id == org_id)).one()


def _new_parent(session: Session, org: Organisation, parent_slug: str) -> Organisation | None:
    if org.kind != TOWN:
        if parent_slug:
            raise OrganisationRefused("parent_only_for_towns", kind=org.kind)
        return None
    if not parent_slug:
        raise OrganisationRefused("town_needs_parent")
    parent = _by_slug(session, parent_slug, code="parent_unknown")
    if parent.kind != DISTRICT:
        raise OrganisationRefused("parent_not_district", slug=parent.slug)
    _no_cycle(session, org, parent)
    if org.archived_at is None:
        _active_parent(parent)
    return parent


def _no_cycle(session: Session, org: Organisation, parent: Organisation) -> None:
    # Only districts are parents and they have none, so this holds today; the walk keeps
    # it true should a district ever be given a parent by another path (e.g. ``org set``).
    seen: set[int] = set()
    step: Organisation | None = parent
    while step is not None and step.id not in seen:
        if step.id == org.id:
            raise OrganisationRefused("parent_cycle", slug=parent.slug)
        seen.add(step.id)
        step = session.get(Organisation, step.parent_id) if step.parent_id else None


def _active_parent(parent: Organisation) -> None:
    if parent.kind == DISTRICT and parent.archived_at is not None:
        raise OrganisationRefused("parent_archived", slug=parent.slug)


def _audit(
    session: Session, org: Organisation, event: str, actor: str, now: datetime, **payload: Any
) -> None:
    session.add(
        AuditEvent(
            organisation_id=org.id,
            measure_cycle_id=None,
            at=now,
            actor=actor,
            event=event,
            from_state=None,
            to_state=None,
            payload={"slug": org.slug, **payload},
        )
    )
    session.flush()
