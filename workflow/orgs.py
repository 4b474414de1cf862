"""Which organisation a command acts on, when the operator did not say."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation
from workflow.catalogue.service import ensure_organisation

DEFAULT_SLUG = "musterstadt"
DEFAULT_NAME = "Stadt Musterstadt"


class OrganisationAmbiguous(Exception):
    pass


def resolve_organisation(
    session: Session,
    slug: str = "",
    *,
    create: bool = False,
    state: str = "NW",
    timezone: str = "Europe/Berlin",
) -> Organisation:
    """The named organisation; else the only one; else (with ``create``) a new default one."""
    if slug:
        org = session.scalars(select(Organisation).where(Organisation.slug == slug)).first()
        if org is None:
            if not create:
                raise OrganisationAmbiguous(f"Organisation '{slug}' gibt es nicht.")
            org = ensure_organisation(session, slug=slug, name=slug, state=state, timezone=timezone)
        return org
    orgs = session.scalars(select(Organisation).order_by(Organisation.slug)).all()
    if len(orgs) == 1:
        return orgs[0]
    if not orgs and create:
        return ensure_organisation(
            session, slug=DEFAULT_SLUG, name=DEFAULT_NAME, state=state, timezone=timezone
        )
    if not orgs:
        raise OrganisationAmbiguous(
            "Es gibt noch keine Organisation: zuerst einen Katalog importieren."
        )
    raise OrganisationAmbiguous(
        "Mehrere Organisationen: bitte --org angeben (" + ", ".join(o.slug for o in orgs) + ")."
    )
