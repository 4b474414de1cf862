"""Organisations of one installation: adding them with name, kind and district, and listing them.

A district (Landkreis) steers its towns; a town names its district as ``parent``. Cities
and districts stand alone. Never commits; refusals carry a code and what the sentence names,
worded by the caller (workflow/locales/cli.*.json, keys ``org.add.<code>``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from workflow.catalogue.models import Organisation, OrganisationKind

# Short names go into URLs, file names and --org: lower-case letters, digits and hyphens.
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
KINDS = (OrganisationKind.CITY.value, OrganisationKind.DISTRICT.value, OrganisationKind.TOWN.value)


class OrganisationRefused(Exception):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Listed:
    slug: str
    name: str
    kind: str
    parent_slug: str  # "" without a district


def add_organisation(
    session: Session,
    *,
    slug: str,
    name: str,
    kind: str,
    parent_slug: str = "",
    state: str,
    timezone: str,
) -> Organisation:
    """A new organisation; its settings (office, terms, …) are ``zielflow org set``'s."""
    slug, name, parent_slug = slug.strip(), " ".join(name.split()), parent_slug.strip()
    if not SLUG.fullmatch(slug):
        raise OrganisationRefused("slug_invalid", slug=slug)
    if not name:
        raise OrganisationRefused("name_missing")
    if kind not in KINDS:
        raise OrganisationRefused("kind_unknown", kind=kind, allowed=", ".join(KINDS))
    if session.scalars(select(Organisation.id).where(Organisation.slug == slug)).first():
        raise OrganisationRefused("slug_taken", slug=slug)
    parent = _parent(session, kind, parent_slug)
    org = Organisation(
        slug=slug,
        name=name,
        kind=kind,
        parent_id=parent.id if parent else None,
        state=state,
        timezone=timezone,
    )
    session.add(org)
    session.flush()
    return org


def _parent(session: Session, kind: str, parent_slug: str) -> Organisation | None:
    if not parent_slug:
        return None
    if kind != OrganisationKind.TOWN.value:
        raise OrganisationRefused("parent_only_for_towns", kind=kind)
    parent = session.scalars(select(Organisation).where(Organisation.slug == parent_slug)).first()
    if parent is None:
        raise OrganisationRefused("parent_unknown", slug=parent_slug)
    if parent.kind != OrganisationKind.DISTRICT.value:
        raise OrganisationRefused("parent_not_district", slug=parent_slug)
    return parent


def list_organisations(session: Session) -> list[Listed]:
    """Every organisation, each district followed by its towns, then the rest, by short name."""
    parent = aliased(Organisation)
    rows = session.execute(
        select(Organisation.slug, Organisation.name, Organisation.kind, parent.slug)
        .outerjoin(parent, parent.id == Organisation.parent_id)
        .order_by(Organisation.slug)
    ).all()
    listed = [Listed(slug, name, kind, parent_slug or "") for slug, name, kind, parent_slug in rows]
    # Sort by (the district's short name or one's own, towns after their district).
    return sorted(listed, key=lambda o: (o.parent_slug or o.slug, o.parent_slug != "", o.slug))
