"""Which organisation a command acts on, when the operator did not say."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation
from workflow.catalogue.service import ensure_organisation

DEFAULT_SLUG = "musterstadt"
DEFAULT_NAME = "Stadt Musterstadt"


class OrganisationAmbiguous(Exception):
    """No single organisation fits; ``code`` says why, ``params`` hold what a sentence names.

    Codes: ``organisation_none`` (none exists yet), ``organisation_unknown`` (``slug``,
    ``known``), ``organisation_ambiguous`` (``known``). The message is a default German
    sentence for callers without their own wording; the CLI words it in workflow/cli_errors.py.
    """

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


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
                known = list(session.scalars(select(Organisation.slug).order_by(Organisation.slug)))
                raise OrganisationAmbiguous(
                    "organisation_unknown",
                    f"Organisation '{slug}' gibt es nicht.",
                    slug=slug,
                    known=known,
                )
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
            "organisation_none",
            "Es gibt noch keine Organisation: zuerst einen Katalog importieren.",
        )
    known = [o.slug for o in orgs]
    raise OrganisationAmbiguous(
        "organisation_ambiguous",
        "Mehrere Organisationen: bitte --org angeben (" + ", ".join(known) + ").",
        known=known,
    )
